"""Code routes answer an unknown email exactly like a known one: same result, same time shape.

An unknown email costs one read; a known one also counts a guess, hashes, writes, or waits for
the mail service. ``AuthService`` pads every code route to the policy's floor, so the time an
answer takes does not say which. Tested with a fake clock: the padding is computed, not timed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from runtime.auth.logic import AuthService, CodeHasher, CodePolicy, StoredCode, User
from runtime.common.errors import BadRequestError
from runtime.common.identity import Identity
from runtime.common.tokens import IssuedToken

FLOOR = 0.5
KNOWN = User(
    user_id="u-1",
    email="known@example.com",
    full_name="Known",
    tenant_id="t",
    permissions=(),
    email_verified=False,
    created_at=0,
    password_hash="$argon2id$x",
)


class Clock:
    """A monotonic clock that store calls and mail sends advance, as real I/O would."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def costs(self, seconds: float) -> Callable[..., Any]:
        def advance(*_: Any, **__: Any) -> None:
            self.now += seconds

        return advance


class Store:
    def __init__(self, clock: Clock) -> None:
        self._io = clock.costs(0.02)
        self.code = StoredCode(code_hash="nope", attempts=0, issued_at=0, expires_at=10**10)

    def get_by_email(self, email: str) -> User | None:
        self._io()
        return KNOWN if email == KNOWN.email else None

    def put_code(self, *_: Any, **__: Any) -> bool:
        self._io()
        return True

    def count_attempt(self, *_: Any, **__: Any) -> StoredCode:
        self._io()
        return self.code


class Mailer:
    def __init__(self, clock: Clock) -> None:
        self.send = clock.costs(0.15)  # SES SendEmail


class Passwords:
    def hash(self, password: str) -> str:
        return "h"


class Tokens:
    def issue(self, identity: Identity) -> IssuedToken:
        return IssuedToken(access_token="t", expires_in=1)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def service(clock: Clock) -> AuthService:
    return AuthService(
        store=Store(clock),  # type: ignore[arg-type]
        passwords=Passwords(),  # type: ignore[arg-type]
        tokens=Tokens(),
        mailer=Mailer(clock),
        codes=CodeHasher([b"k" * 32]),
        policy=CodePolicy(response_floor_seconds=FLOOR),
        clock=lambda: 1_000.0,
        monotonic=clock,
        sleep=clock.sleep,
    )


def elapsed(clock: Clock, action: Callable[[], Any]) -> tuple[float, str | None]:
    start = clock.now
    try:
        action()
        outcome = None
    except BadRequestError as error:
        outcome = error.message
    return round(clock.now - start, 9), outcome


@pytest.mark.parametrize("route", ["forgot_password", "resend_verification"])
def test_asking_for_a_code_takes_the_floor_for_known_and_unknown_emails(clock: Clock, route: str) -> None:
    auth = service(clock)
    known = elapsed(clock, lambda: getattr(auth, route)(email=KNOWN.email))  # reads, writes, mails
    unknown = elapsed(clock, lambda: getattr(auth, route)(email="nobody@example.com"))  # one read
    assert known == unknown == (FLOOR, None)


@pytest.mark.parametrize("route", ["verify_email", "reset_password"])
def test_a_wrong_code_and_an_unknown_email_are_the_same_answer_in_the_same_time(clock: Clock, route: str) -> None:
    auth = service(clock)
    extra = {"new_password": "a long new passphrase"} if route == "reset_password" else {}
    known = elapsed(clock, lambda: getattr(auth, route)(email=KNOWN.email, code="12345678", **extra))
    unknown = elapsed(clock, lambda: getattr(auth, route)(email="nobody@example.com", code="12345678", **extra))
    assert known == unknown == (FLOOR, "invalid or expired code")


def test_a_route_slower_than_the_floor_is_not_slowed_further(clock: Clock) -> None:
    auth = AuthService(
        store=Store(clock),  # type: ignore[arg-type]
        passwords=Passwords(),  # type: ignore[arg-type]
        tokens=Tokens(),
        mailer=Mailer(clock),
        codes=CodeHasher([b"k" * 32]),
        policy=CodePolicy(response_floor_seconds=0.1),
        monotonic=clock,
        sleep=clock.sleep,
    )
    assert elapsed(clock, lambda: auth.forgot_password(email=KNOWN.email))[0] == pytest.approx(0.19)
    assert clock.slept == []
