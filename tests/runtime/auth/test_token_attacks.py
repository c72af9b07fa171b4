"""Forged and malformed credentials against a real route (`GET /auth/me`), signed with the deployment's key.

tests/unit/test_tokens.py checks the token service alone; these go through the handler the
way a client's request does, so a route that skipped the check, or an error path that leaked
what was wrong, would show. Every refusal is the same 401 with the contract's body, and the
key that is too short is refused before any token is signed or any write is made.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import boto3
import jwt
import pytest
from aws_lambda_powertools.utilities import parameters
from jwt.warnings import InsecureKeyLengthWarning

from runtime.common import settings, tokens
from runtime.common.names import Env
from tests.runtime.auth.conftest import PASSWORD, Account, UsersTable, call
from tests.support.tokens import forge_token

INVALID = {"error": "invalid or expired token"}
MISSING = {"error": "missing bearer token"}


def forge(key: str, account: Account, *, drop: tuple[str, ...] = (), **claims: Any) -> str:
    return forge_token(key, user_id=account.user_id, tenant_id=account.tenant_id, drop=drop, **claims)


def test_a_well_formed_token_is_accepted(auth_env: UsersTable, signing_key: str, alice: Account) -> None:
    """The forging itself is right: without a flaw, the route answers."""
    reply = call("GET", "/auth/me", token=forge(signing_key, alice))
    assert reply.status == 200
    assert reply.body["user_id"] == alice.user_id


@pytest.mark.parametrize(
    ("flaw", "drop", "claims"),
    [
        ("no exp", ("exp",), {}),
        ("no iat", ("iat",), {}),
        ("wrong aud", (), {"aud": "someone-else"}),
        ("wrong iss", (), {"iss": "https://evil.example.com"}),
        ("aud as a list without ours", (), {"aud": ["other-clients"]}),
        ("issued in the future", (), {"iat": int(time.time()) + 3600}),
        ("not valid before a future time", (), {"nbf": int(time.time()) + 3600}),
        ("expired", (), {"exp": int(time.time()) - 60}),
        ("exp as a string", (), {"exp": "9999999999"}),
        ("no tenant", ("tenant_id",), {}),
    ],
)
def test_a_flawed_token_is_the_same_401(
    auth_env: UsersTable, signing_key: str, alice: Account, flaw: str, drop: tuple[str, ...], claims: dict[str, Any]
) -> None:
    reply = call("GET", "/auth/me", token=forge(signing_key, alice, drop=drop, **claims))
    assert (reply.status, reply.body) == (401, INVALID), flaw


@pytest.mark.parametrize(
    "authorization",
    ["Basic YWxpY2U6cGFzc3dvcmQ=", "Bearer", "Bearer ", "Bearer    ", "bearer", "Token abc", "", "Bearer a b"],
)
def test_anything_but_a_bearer_token_is_401(auth_env: UsersTable, alice: Account, authorization: str) -> None:
    reply = call("GET", "/auth/me", headers={"authorization": authorization})
    assert (reply.status, reply.body) == (401, MISSING)


def test_basic_credentials_that_are_right_still_do_not_authenticate(auth_env: UsersTable, alice: Account) -> None:
    basic = base64.b64encode(f"{alice.email}:{PASSWORD}".encode()).decode()
    reply = call("GET", "/auth/me", headers={"authorization": f"Basic {basic}"})
    assert (reply.status, reply.body) == (401, MISSING)


def test_a_signing_key_under_32_bytes_is_refused_at_start(
    auth_env: UsersTable,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a deployment whose secret holds a 31-byte key
    short = "k" * 31
    arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name="short", SecretString=short)["ARN"]
    monkeypatch.setenv(Env.JWT_SECRET_ARN, arn)
    settings.reset()
    tokens._service_factory.cache_clear()
    parameters.clear_caches()
    # When someone registers, or presents a token made with that key
    reply = call("POST", "/auth/register", body={"email": "new@example.com", "password": PASSWORD, "full_name": "N"})
    with pytest.warns(InsecureKeyLengthWarning):
        forged = jwt.encode({"sub": "u", "exp": int(time.time()) + 60}, short.encode(), algorithm="HS256")
    me = call("GET", "/auth/me", token=forged)
    # Then nothing is signed, nothing is written, and the log (not the client) says why
    assert (reply.status, reply.body) == (500, {"error": "internal server error"})
    assert me.status == 500
    assert "access_token" not in str(reply.body)
    assert auth_env.items() == []
    assert "JWT signing key must be at least 32 bytes" in capsys.readouterr().out + caplog.text
