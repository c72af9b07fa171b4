"""Access tokens: issued by the auth functions, verified by every HTTP route and `$connect`.

One code path validates tokens for HTTP and WebSocket alike. Tokens are HS256 JWTs (PyJWT)
with ``sub``/``user_id``, ``tenant_id``, ``permissions``, ``iat``, ``exp``, ``iss``, ``aud``
and a ``kid`` header naming the key, so the signing key can rotate without logging everyone
out: the secret may hold ``{"current": ..., "previous": [...]}`` and tokens signed with any
listed key verify until they expire. Keys shorter than 32 bytes are refused at start.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeGuard

from pydantic import Field

from runtime.common.errors import ConfigurationError, UnauthorizedError
from runtime.common.identity import Identity
from runtime.common.settings import FunctionSettings, load

ALGORITHM = "HS256"
MIN_KEY_BYTES = 32
REQUIRED_CLAIMS = ("exp", "iat", "sub", "iss", "aud")
# Secrets are re-read at most this often per container, so a rotation reaches warm functions.
SECRET_MAX_AGE_SECONDS = 300


class TokenSettings(FunctionSettings):
    jwt_secret_arn: str
    token_issuer: str = "messaging-platform"
    token_audience: str = "messaging-clients"
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    secret: bytes

    @classmethod
    def from_text(cls, text: str) -> SigningKey:
        secret = text.encode()
        if len(secret) < MIN_KEY_BYTES:
            raise ConfigurationError(f"JWT signing key must be at least {MIN_KEY_BYTES} bytes")
        return cls(kid=hashlib.sha256(secret).hexdigest()[:16], secret=secret)


@dataclass(frozen=True)
class KeyRing:
    """The key new tokens are signed with, plus older keys still accepted while tokens age out."""

    current: SigningKey
    previous: tuple[SigningKey, ...] = ()

    @classmethod
    def from_secret(cls, value: str) -> KeyRing:
        """A plain secret string is one key; JSON ``{"current", "previous"}`` is a rotation."""
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and "current" in parsed:
            previous = parsed.get("previous") or []
            if isinstance(previous, str):
                previous = [previous]
            return cls(
                current=SigningKey.from_text(str(parsed["current"])),
                previous=tuple(SigningKey.from_text(str(p)) for p in previous),
            )
        return cls(current=SigningKey.from_text(value))

    def find(self, kid: str | None) -> SigningKey | None:
        for key in (self.current, *self.previous):
            if key.kid == kid:
                return key
        return None


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    token_type: str = "Bearer"


class TokenService:
    """Signs and verifies access tokens; knows nothing of Lambda or HTTP."""

    def __init__(
        self,
        keys: KeyRing,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        leeway_seconds: int = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds
        self._leeway = leeway_seconds
        self._clock = clock
        # PyJWT (and, through its algorithm table, ``cryptography`` where installed) is imported
        # when a container first needs tokens, not by every module that imports this one.
        import jwt

        self._jwt = jwt.PyJWT(options={"enforce_minimum_key_length": True})

    def issue(self, identity: Identity) -> IssuedToken:
        now = int(self._clock())
        claims = {
            "sub": identity.user_id,
            "user_id": identity.user_id,
            "tenant_id": identity.tenant_id,
            "permissions": list(identity.permissions),
            "email": identity.email,
            "iat": now,
            "exp": now + self._ttl,
            "iss": self._issuer,
            "aud": self._audience,
        }
        key = self._keys.current
        token = self._jwt.encode(claims, key.secret, algorithm=ALGORITHM, headers={"kid": key.kid})
        return IssuedToken(access_token=token, expires_in=self._ttl)

    def verify(self, token: str) -> Identity:
        """The identity a token proves; any flaw is the same 401, whatever it was."""
        import jwt

        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.find(header.get("kid"))
            if key is None or header.get("alg") != ALGORITHM:
                raise UnauthorizedError("invalid or expired token")
            claims = self._jwt.decode(
                token,
                key.secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                # PyJWT compares times with the wall clock; ours are checked below against the
                # service's clock, so tests and the service agree on what "now" is.
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError:
            raise UnauthorizedError("invalid or expired token") from None
        self._check_times(claims)
        permissions = claims.get("permissions", [])
        tenant_id = claims.get("tenant_id")
        if not isinstance(permissions, list) or not isinstance(tenant_id, str) or not tenant_id:
            raise UnauthorizedError("invalid or expired token")
        email = claims.get("email")
        return Identity(
            user_id=str(claims["sub"]),
            tenant_id=tenant_id,
            permissions=tuple(str(p) for p in permissions),
            email=email if isinstance(email, str) and email else None,
        )

    def _check_times(self, claims: dict[str, Any]) -> None:
        """Expired, issued (or valid from) in the future, or not integer epoch seconds: refused."""
        now = self._clock()
        exp, iat = claims.get("exp"), claims.get("iat")
        nbf = claims.get("nbf", iat)
        if not (_is_epoch(exp) and _is_epoch(iat) and _is_epoch(nbf)):
            raise UnauthorizedError("invalid or expired token")
        if exp <= now - self._leeway or max(iat, nbf) > now + self._leeway:
            raise UnauthorizedError("invalid or expired token")


def _is_epoch(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; anything else is a 401."""
    if not authorization:
        raise UnauthorizedError("missing bearer token")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise UnauthorizedError("missing bearer token")
    return token


def load_key_ring(secret_arn: str) -> KeyRing:
    """Read the signing key(s) from Secrets Manager, cached per container for a few minutes."""
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(secret_arn, max_age=SECRET_MAX_AGE_SECONDS)
    return KeyRing.from_secret(str(value))


@cache
def _service_factory() -> Callable[[], TokenService]:
    settings = load(TokenSettings)

    def build() -> TokenService:
        return TokenService(
            load_key_ring(settings.jwt_secret_arn),
            issuer=settings.token_issuer,
            audience=settings.token_audience,
            ttl_seconds=settings.access_token_ttl_seconds,
        )

    return build


def token_service() -> TokenService:
    """The container's token service (keys re-read through the secret cache)."""
    return _service_factory()()


def verify_any(tokens: Sequence[str | None]) -> Identity:
    """Verify the first token present (WebSocket clients may send it in either of two places)."""
    for candidate in tokens:
        if candidate:
            return token_service().verify(candidate)
    raise UnauthorizedError("missing bearer token")
