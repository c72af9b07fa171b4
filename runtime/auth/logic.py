"""Accounts, sign-in and one-time codes, in plain Python: no Lambda, no boto3.

The handler wires the real store, hasher, token service and mailer in; unit tests can wire
fakes. Every rule of the auth contract lives here:

- emails are unique across the product (compared lower-cased); a taken email is 409;
- an unknown email and a wrong password are the same 401, at the same cost (a dummy hash);
- one-time codes (email verification, password reset) are random, single use, expire, are
  stored only as keyed hashes, and allow a bounded number of guesses;
- "forgot password" and "resend verification" answer the same whether or not the email has an
  account, so they cannot be used to find out which emails are registered.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from runtime.common.errors import BadRequestError, ConflictError, NotFoundError, UnauthorizedError
from runtime.common.identity import Identity
from runtime.common.names import Permission
from runtime.common.observability import logger
from runtime.common.tokens import IssuedToken

# A user who registers without naming a tenant joins this one.
DEFAULT_TENANT = "default"
# A new account may use every product feature; narrower roles are granted by changing this list.
DEFAULT_PERMISSIONS: tuple[str, ...] = (Permission.CHAT, Permission.CALLS, Permission.RIDES, Permission.IMAGES)

CODE_DIGITS = 8
INVALID_CREDENTIALS = "invalid email or password"
INVALID_CODE = "invalid or expired code"


class Purpose(StrEnum):
    """What a one-time code proves; a code for one purpose never works for another."""

    VERIFY_EMAIL = "verify-email"
    RESET_PASSWORD = "reset-password"


@dataclass(frozen=True)
class CodePolicy:
    """How long a code lives, how many guesses it allows, how often a new one may be sent.

    With 8 digits, 5 guesses per code and a new code at most once a minute, an attacker who
    can trigger codes but not read the mailbox needs ~10^8 / 5 minutes (about 38 years) on
    average to guess one.
    """

    ttl_seconds: int = 15 * 60
    max_attempts: int = 5
    resend_after_seconds: int = 60
    # Every code route takes at least this long, whatever happened: an unknown email does
    # nothing, a known one reads, counts, hashes or hands a mail to SES, and without the floor
    # the difference in time would tell which emails have accounts.
    response_floor_seconds: float = 0.5


@dataclass(frozen=True)
class User:
    user_id: str
    email: str
    full_name: str
    tenant_id: str
    permissions: tuple[str, ...]
    email_verified: bool
    created_at: int
    password_hash: str

    def identity(self) -> Identity:
        return Identity(user_id=self.user_id, tenant_id=self.tenant_id, permissions=self.permissions, email=self.email)


@dataclass(frozen=True)
class StoredCode:
    """A one-time code as stored: only its keyed hash, never the code."""

    code_hash: str
    attempts: int
    issued_at: int
    expires_at: int


@dataclass(frozen=True)
class Session:
    user: User
    token: IssuedToken


class UserStore(Protocol):
    """Where accounts and codes live. Reads that a caller makes on behalf of a signed-in user
    take that user's tenant and find nothing in another tenant."""

    def create(self, user: User, verification: StoredCode) -> None:
        """Store a new account and its first verification code; ConflictError if the email is taken."""

    def get_by_email(self, email: str) -> User | None:
        """For the unauthenticated flows (login, codes), where the caller has no tenant yet."""

    def get(self, user_id: str, *, tenant_id: str) -> User | None: ...

    def find_in_tenant(self, email: str, *, tenant_id: str) -> User | None: ...

    def update_full_name(self, user_id: str, *, tenant_id: str, full_name: str, now: int) -> User:
        """NotFoundError when there is no such user in that tenant."""

    def replace_password_hash(self, user_id: str, *, old_hash: str, new_hash: str, now: int) -> bool:
        """Swap the hash only if it is still ``old_hash``; False when it changed meanwhile."""

    def put_code(self, user_id: str, purpose: Purpose, code: StoredCode, *, issued_before: int) -> bool:
        """Store a fresh code unless one was issued at or after ``issued_before``; False then."""

    def count_attempt(self, user_id: str, purpose: Purpose, *, now: int, max_attempts: int) -> StoredCode | None:
        """Use up one guess; None when there is no live code or its guesses are spent."""

    def mark_email_verified(self, user_id: str, *, code_hash: str, now: int) -> bool:
        """Consume the verification code (if it is still ``code_hash``) and mark the email verified."""

    def reset_password(self, user_id: str, *, code_hash: str, password_hash: str, now: int) -> bool:
        """Consume the reset code (if it is still ``code_hash``) and set the new password hash."""


class Passwords(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...

    def verify_dummy(self, password: str) -> None: ...


class TokenIssuer(Protocol):
    def issue(self, identity: Identity) -> IssuedToken: ...


class MailError(Exception):
    """The mail could not be handed to the mail service."""


class Mailer(Protocol):
    def send(self, *, to: str, subject: str, text: str) -> None:
        """Hand one plain-text mail to the mail service; MailError when it refuses."""


class CodeHasher:
    """Keyed hashes of one-time codes (HMAC-SHA256).

    A short-lived numeric code has too little entropy for a plain hash: anyone holding the
    table could try all 10^8 codes in seconds. Keyed with a server secret that is not in the
    table, the stored hash is useless on its own. The first key hashes; all keys verify, so a
    key rotation does not void codes already sent.
    """

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is required")
        self._keys = tuple(keys)

    @classmethod
    def from_secrets(cls, secrets_: Sequence[bytes]) -> CodeHasher:
        """Derive code keys from other secrets (domain-separated, never the secrets themselves)."""
        return cls([hmac.new(s, b"one-time-codes/v1", hashlib.sha256).digest() for s in secrets_])

    def digest(self, user_id: str, purpose: Purpose, code: str) -> str:
        return self._digest(self._keys[0], user_id, purpose, code)

    def matches(self, stored: str, user_id: str, purpose: Purpose, code: str) -> bool:
        found = False
        for key in self._keys:  # no early exit: every key costs the same
            found |= hmac.compare_digest(stored, self._digest(key, user_id, purpose, code))
        return found

    @staticmethod
    def _digest(key: bytes, user_id: str, purpose: Purpose, code: str) -> str:
        message = f"{purpose.value}\x00{user_id}\x00{code}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()


def new_code() -> str:
    """A uniformly random code of ``CODE_DIGITS`` digits (leading zeros kept)."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def normalize_email(email: str) -> str:
    """The form emails are stored and compared in; ``Alice@Example.com`` is ``alice@example.com``."""
    return email.strip().lower()


class AuthService:
    """The auth use cases; one instance per request is cheap (its parts are cached by the caller)."""

    def __init__(
        self,
        *,
        store: UserStore,
        passwords: Passwords,
        tokens: TokenIssuer,
        mailer: Mailer,
        codes: CodeHasher,
        policy: CodePolicy | None = None,
        clock: Callable[[], float] = time.time,
        make_code: Callable[[], str] = new_code,
        make_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._passwords = passwords
        self._tokens = tokens
        self._mailer = mailer
        self._codes = codes
        self._policy = policy or CodePolicy()
        self._clock = clock
        self._make_code = make_code
        self._make_id = make_id
        self._monotonic = monotonic
        self._sleep = sleep

    # --- accounts -------------------------------------------------------------------------

    def register(self, *, email: str, password: str, full_name: str, tenant_id: str | None) -> Session:
        now = self._now()
        user = User(
            user_id=self._make_id(),
            email=normalize_email(email),
            full_name=full_name,
            tenant_id=tenant_id or DEFAULT_TENANT,
            permissions=DEFAULT_PERMISSIONS,
            email_verified=False,
            created_at=now,
            password_hash=self._passwords.hash(password),
        )
        code = self._make_code()
        try:
            self._store.create(user, self._stored(user.user_id, Purpose.VERIFY_EMAIL, code, now))
        except ConflictError:
            raise ConflictError("an account with this email already exists") from None
        logger.info("account created", extra={"user_id": user.user_id, "tenant_id": user.tenant_id})
        self._send_code(user, Purpose.VERIFY_EMAIL, code)
        return self._session(user)

    def login(self, *, email: str, password: str) -> Session:
        user = self._store.get_by_email(normalize_email(email))
        if user is None:
            self._passwords.verify_dummy(password)
            raise UnauthorizedError(INVALID_CREDENTIALS)
        if not self._passwords.verify(user.password_hash, password):
            raise UnauthorizedError(INVALID_CREDENTIALS)
        if self._passwords.needs_rehash(user.password_hash):
            user = self._rehash(user, password)
        return self._session(user)

    def profile(self, identity: Identity) -> User:
        user = self._store.get(identity.user_id, tenant_id=identity.tenant_id)
        if user is None:
            # A valid token for an account that no longer exists: nothing to show.
            raise NotFoundError("account not found")
        return user

    def update_profile(self, identity: Identity, *, full_name: str) -> User:
        return self._store.update_full_name(
            identity.user_id, tenant_id=identity.tenant_id, full_name=full_name, now=self._now()
        )

    def find_colleague(self, identity: Identity, *, email: str) -> User:
        """A user of the caller's tenant by email; other tenants' users do not exist for the caller."""
        user = self._store.find_in_tenant(normalize_email(email), tenant_id=identity.tenant_id)
        if user is None:
            raise NotFoundError("user not found")
        return user

    # --- codes ----------------------------------------------------------------------------
    # Each public method takes the same time for a known and an unknown email (``_paced``).

    def verify_email(self, *, email: str, code: str) -> User:
        with self._paced():
            user = self._store.get_by_email(normalize_email(email))
            code_hash = self._check_code(user, Purpose.VERIFY_EMAIL, code)
            assert user is not None  # _check_code refuses a missing user
            if not self._store.mark_email_verified(user.user_id, code_hash=code_hash, now=self._now()):
                raise BadRequestError(INVALID_CODE)  # consumed by a concurrent request
            return replace(user, email_verified=True)

    def resend_verification(self, *, email: str) -> None:
        with self._paced():
            user = self._store.get_by_email(normalize_email(email))
            if user is not None and not user.email_verified:
                self._issue_code(user, Purpose.VERIFY_EMAIL)

    def forgot_password(self, *, email: str) -> None:
        with self._paced():
            user = self._store.get_by_email(normalize_email(email))
            if user is not None:
                self._issue_code(user, Purpose.RESET_PASSWORD)

    def reset_password(self, *, email: str, code: str, new_password: str) -> None:
        with self._paced():
            user = self._store.get_by_email(normalize_email(email))
            code_hash = self._check_code(user, Purpose.RESET_PASSWORD, code)
            assert user is not None
            password_hash = self._passwords.hash(new_password)
            if not self._store.reset_password(
                user.user_id, code_hash=code_hash, password_hash=password_hash, now=self._now()
            ):
                raise BadRequestError(INVALID_CODE)
            logger.info("password reset", extra={"user_id": user.user_id})

    # --- helpers --------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self._clock())

    @contextmanager
    def _paced(self) -> Iterator[None]:
        """Finish no sooner than the policy's floor after starting, whether the body returns or raises."""
        started = self._monotonic()
        try:
            yield
        finally:
            remaining = self._policy.response_floor_seconds - (self._monotonic() - started)
            if remaining > 0:
                self._sleep(remaining)

    def _session(self, user: User) -> Session:
        return Session(user=user, token=self._tokens.issue(user.identity()))

    def _rehash(self, user: User, password: str) -> User:
        """The hash predates today's parameters: store a fresh one while we hold the password."""
        new_hash = self._passwords.hash(password)
        if self._store.replace_password_hash(
            user.user_id, old_hash=user.password_hash, new_hash=new_hash, now=self._now()
        ):
            logger.info("password rehashed with current parameters", extra={"user_id": user.user_id})
            return replace(user, password_hash=new_hash)
        return user  # changed concurrently (a reset): keep what is stored

    def _stored(self, user_id: str, purpose: Purpose, code: str, now: int) -> StoredCode:
        return StoredCode(
            code_hash=self._codes.digest(user_id, purpose, code),
            attempts=0,
            issued_at=now,
            expires_at=now + self._policy.ttl_seconds,
        )

    def _issue_code(self, user: User, purpose: Purpose) -> None:
        now = self._now()
        code = self._make_code()
        stored = self._stored(user.user_id, purpose, code, now)
        if not self._store.put_code(
            user.user_id, purpose, stored, issued_before=now - self._policy.resend_after_seconds
        ):
            logger.info("code not re-sent: one was sent moments ago", extra={"user_id": user.user_id})
            return
        self._send_code(user, purpose, code)

    def _check_code(self, user: User | None, purpose: Purpose, code: str) -> str:
        """The stored hash the code matched (to consume it by), or the one 400 for every failure."""
        if user is None:
            raise BadRequestError(INVALID_CODE)
        stored = self._store.count_attempt(
            user.user_id, purpose, now=self._now(), max_attempts=self._policy.max_attempts
        )
        if stored is None or not self._codes.matches(stored.code_hash, user.user_id, purpose, code):
            raise BadRequestError(INVALID_CODE)
        return stored.code_hash

    def _send_code(self, user: User, purpose: Purpose, code: str) -> None:
        minutes = self._policy.ttl_seconds // 60
        if purpose is Purpose.VERIFY_EMAIL:
            subject = "Confirm your email address"
            lead = "Use this code to confirm your email address:"
        else:
            subject = "Reset your password"
            lead = "Use this code to choose a new password:"
        text = (
            f"Hello {user.full_name},\n\n{lead}\n\n    {code}\n\n"
            f"It expires in {minutes} minutes and works once. "
            "If you did not ask for it, you can ignore this email.\n"
        )
        try:
            self._mailer.send(to=user.email, subject=subject, text=text)
        except MailError:
            # The account and the code are stored; the user can ask for the code again. Failing
            # the request would not undo anything and would tell a stranger the email exists.
            logger.exception("code email not sent", extra={"user_id": user.user_id, "purpose": purpose.value})
