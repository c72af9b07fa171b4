"""The token service accepts exactly the tokens it issued, and every flaw is the same 401."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest

from runtime.common.errors import ConfigurationError, UnauthorizedError
from runtime.common.identity import Identity
from runtime.common.tokens import ALGORITHM, KeyRing, SigningKey, TokenService, bearer_token

ISSUER = "messaging-platform"
AUDIENCE = "messaging-clients"
KEY = "k" * 48
OTHER_KEY = "o" * 48
NOW = 1_800_000_000.0
ALICE = Identity(user_id="user-1", tenant_id="tenant-a", permissions=("chat:write",), email="a@example.com")


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def service(keys: KeyRing | None = None, clock: Clock | None = None, **kwargs: Any) -> TokenService:
    return TokenService(
        keys or KeyRing(current=SigningKey.from_text(KEY)),
        issuer=kwargs.pop("issuer", ISSUER),
        audience=kwargs.pop("audience", AUDIENCE),
        ttl_seconds=kwargs.pop("ttl_seconds", 900),
        clock=clock or Clock(),
        **kwargs,
    )


def forge(claims: dict[str, Any], *, key: str = KEY, kid: str | None = None, drop: tuple[str, ...] = ()) -> str:
    """A token signed with ``key`` (our kid by default) whose claims we choose."""
    base = {
        "sub": "user-1",
        "user_id": "user-1",
        "tenant_id": "tenant-a",
        "permissions": [],
        "iat": int(NOW),
        "exp": int(NOW) + 900,
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    payload = {k: v for k, v in {**base, **claims}.items() if k not in drop}
    headers = {"kid": kid or SigningKey.from_text(KEY).kid}
    return jwt.encode(payload, key.encode(), algorithm=ALGORITHM, headers=headers)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def assert_refused(svc: TokenService, token: str) -> None:
    with pytest.raises(UnauthorizedError) as raised:
        svc.verify(token)
    # Whatever the flaw, the client learns only that the token is not good.
    assert raised.value.message == "invalid or expired token"


def test_round_trip_keeps_every_claim_the_routes_use() -> None:
    svc = service()
    issued = svc.issue(ALICE)
    assert issued.token_type == "Bearer"
    assert issued.expires_in == 900
    assert svc.verify(issued.access_token) == ALICE
    claims = jwt.decode(issued.access_token, options={"verify_signature": False})
    assert claims["sub"] == claims["user_id"] == "user-1"
    assert (claims["iss"], claims["aud"]) == (ISSUER, AUDIENCE)
    assert claims["exp"] - claims["iat"] == 900


def test_expired_token_is_refused_after_the_leeway() -> None:
    clock = Clock()
    svc = service(clock=clock, leeway_seconds=10)
    token = svc.issue(ALICE).access_token
    clock.now = NOW + 900 + 5
    assert svc.verify(token).user_id == "user-1"  # within the leeway for clock skew
    clock.now = NOW + 900 + 11
    assert_refused(svc, token)


def test_wrong_signature_is_refused() -> None:
    svc = service()
    assert_refused(svc, forge({}, key=OTHER_KEY))
    token = svc.issue(ALICE).access_token
    header, _payload, signature = token.split(".")
    tampered_payload = _b64({**jwt.decode(token, options={"verify_signature": False}), "tenant_id": "tenant-b"})
    assert_refused(svc, f"{header}.{tampered_payload}.{signature}")


def test_alg_none_is_refused_even_with_our_kid() -> None:
    kid = SigningKey.from_text(KEY).kid
    header = _b64({"alg": "none", "typ": "JWT", "kid": kid})
    payload = _b64({"sub": "user-1", "tenant_id": "tenant-a", "iat": int(NOW), "exp": int(NOW) + 900})
    assert_refused(service(), f"{header}.{payload}.")
    assert_refused(service(), f"{header}.{payload}")


def test_other_hmac_algorithms_are_refused() -> None:
    kid = SigningKey.from_text(KEY).kid
    token = jwt.encode({"sub": "user-1"}, KEY.encode() * 2, algorithm="HS512", headers={"kid": kid})
    assert_refused(service(), token)


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "iss", "aud", "tenant_id"])
def test_token_missing_a_required_claim_is_refused(claim: str) -> None:
    assert_refused(service(), forge({}, drop=(claim,)))


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "someone-else"},
        {"iss": "someone-else"},
        {"sub": 42},
        {"permissions": "admin"},
        {"tenant_id": ""},
    ],
)
def test_token_with_a_wrong_claim_is_refused(claims: dict[str, Any]) -> None:
    assert_refused(service(), forge(claims))


def test_token_issued_in_the_future_is_refused() -> None:
    assert_refused(service(), forge({"iat": int(NOW) + 3600, "exp": int(NOW) + 7200}))


@pytest.mark.parametrize("claims", [{"nbf": int(NOW) + 3600}, {"exp": "never"}, {"iat": 1.5}, {"exp": True}])
def test_token_with_bad_times_is_refused(claims: dict[str, Any]) -> None:
    assert_refused(service(), forge(claims))


def test_key_under_32_bytes_is_refused_at_start() -> None:
    with pytest.raises(ConfigurationError):
        SigningKey.from_text("x" * 31)
    with pytest.raises(ConfigurationError):
        KeyRing.from_secret("short")
    with pytest.raises(ConfigurationError):
        KeyRing.from_secret(json.dumps({"current": KEY, "previous": ["short"]}))
    assert KeyRing.from_secret("x" * 32).current.secret == b"x" * 32


def test_rotation_keeps_tokens_of_the_previous_key_valid() -> None:
    # Given a token signed before the rotation, when the secret moves the old key to
    # "previous", then the token still verifies and new tokens use the new key.
    before = service(KeyRing.from_secret(KEY))
    old_token = before.issue(ALICE).access_token
    after = service(KeyRing.from_secret(json.dumps({"current": OTHER_KEY, "previous": [KEY]})))
    assert after.verify(old_token) == ALICE
    new_token = after.issue(ALICE).access_token
    assert jwt.get_unverified_header(new_token)["kid"] == SigningKey.from_text(OTHER_KEY).kid
    assert after.verify(new_token) == ALICE
    # Once the old key is dropped, its tokens are refused.
    assert_refused(service(KeyRing.from_secret(OTHER_KEY)), old_token)


def test_previous_key_may_be_a_single_string() -> None:
    ring = KeyRing.from_secret(json.dumps({"current": OTHER_KEY, "previous": KEY}))
    assert ring.find(SigningKey.from_text(KEY).kid) is not None


def test_unknown_or_missing_kid_is_refused() -> None:
    assert_refused(service(), forge({}, kid="0123456789abcdef"))
    token = jwt.encode({"sub": "user-1"}, KEY.encode(), algorithm=ALGORITHM)
    assert_refused(service(), token)


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b.c", "...", "eyJ.eyJ.sig"])
def test_garbage_is_refused(garbage: str) -> None:
    assert_refused(service(), garbage)


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer", "Token abc", "Bearer a b"],
)
def test_anything_but_a_bearer_token_is_refused(header: str | None) -> None:
    with pytest.raises(UnauthorizedError):
        bearer_token(header)


def test_bearer_scheme_is_case_insensitive() -> None:
    assert bearer_token("bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"


def test_email_claim_of_the_wrong_type_is_dropped() -> None:
    identity = service().verify(forge({"email": 123}))
    assert identity.email is None


def test_issue_uses_the_clock_not_wall_time() -> None:
    token = service(clock=Clock(NOW)).issue(ALICE).access_token
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iat"] == int(NOW)
