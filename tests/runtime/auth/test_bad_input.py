"""Every auth route against bad input: the contract's status, an `{"error"}` body, and no change.

Each case runs with two accounts in place (tenant-a and tenant-b) and asserts the users table
and the mailbox are exactly as before.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest

from runtime.common import tokens
from runtime.common.http import MAX_BODY_BYTES
from runtime.common.identity import Identity
from tests.runtime.auth.conftest import PASSWORD, Account, Mailbox, Reply, UsersTable, call


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    valid: dict[str, Any]
    authenticated: bool = False
    query: bool = False

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


REGISTER = {"email": "new@example.com", "password": "long enough password", "full_name": "New Person"}
BODY_ROUTES = [
    Route("POST", "/auth/register", REGISTER),
    Route("POST", "/auth/signup", REGISTER),
    Route("POST", "/auth/login", {"email": "alice@example.com", "password": PASSWORD}),
    Route("POST", "/auth/signin", {"email": "alice@example.com", "password": PASSWORD}),
    Route("POST", "/auth/verify-email", {"email": "alice@example.com", "code": "12345678"}),
    Route("POST", "/auth/resend-verification", {"email": "alice@example.com"}),
    Route("POST", "/auth/forgot-password", {"email": "alice@example.com"}),
    Route("POST", "/auth/reset-password", {"email": "alice@example.com", "code": "12345678", "new_password": "x" * 12}),
    Route("PATCH", "/auth/me", {"full_name": "Renamed"}, authenticated=True),
]
AUTHENTICATED_ROUTES = [
    Route("GET", "/auth/me", {}, authenticated=True),
    Route("PATCH", "/auth/me", {"full_name": "Renamed"}, authenticated=True),
    Route("GET", "/users", {"email": "bob@example.com"}, authenticated=True, query=True),
]
ALL_ROUTES = [*BODY_ROUTES, AUTHENTICATED_ROUTES[0], AUTHENTICATED_ROUTES[2]]


@dataclass
class World:
    alice: Account
    mallory: Account
    table: UsersTable
    mailbox: Mailbox

    def send(self, route: Route, *, body: Any = None, raw_body: str | None = None, token: str | None = None) -> Reply:
        if route.authenticated and token is None:
            token = self.alice.token
        if route.query:
            return call(route.method, route.path, token=token, query=body if body is not None else route.valid)
        if body is None and raw_body is None:
            body = route.valid
        return call(route.method, route.path, body=body, raw_body=raw_body, token=token)


@pytest.fixture
def world(alice: Account, mallory: Account, auth_env: UsersTable, mailbox: Mailbox) -> Iterator[World]:
    w = World(alice, mallory, auth_env, mailbox)
    before, mails = auth_env.items(), len(mailbox.messages())
    yield w
    # Whatever the case sent, it changed nothing.
    assert auth_env.items() == before
    assert len(mailbox.messages()) == mails


def assert_error(reply: Reply, status: int) -> None:
    assert reply.status == status, reply.body
    assert set(reply.body) == {"error"}
    assert isinstance(reply.body["error"], str)
    assert reply.body["error"]
    for secret in (PASSWORD, "long enough password", "Traceback", "pydantic", "Request"):
        assert secret not in reply.body["error"]


# --- bodies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: r.id)
def test_malformed_json_is_400(world: World, route: Route) -> None:
    for raw in ['{"email": ', "not json", "{'email': 'a'}", "[1, 2", "\x00"]:
        assert_error(world.send(route, raw_body=raw), 400)


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: r.id)
def test_json_that_is_not_an_object_is_400(world: World, route: Route) -> None:
    for raw in ["[]", '"a string"', "42", "null", ""]:
        assert_error(world.send(route, raw_body=raw), 400)


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: r.id)
def test_each_missing_field_is_422(world: World, route: Route) -> None:
    assert_error(world.send(route, body={}), 422)
    for field in route.valid:
        body = {k: v for k, v in route.valid.items() if k != field}
        reply = world.send(route, body=body)
        assert_error(reply, 422)
        assert field in reply.body["error"]


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: r.id)
def test_each_field_of_a_wrong_type_is_400(world: World, route: Route) -> None:
    for field in route.valid:
        for wrong in (42, True, 1.5, None, ["x"], {"x": 1}):
            assert_error(world.send(route, body={**route.valid, field: wrong}), 400)


@pytest.mark.parametrize("route", ALL_ROUTES, ids=lambda r: r.id)
def test_oversize_body_is_413(world: World, route: Route) -> None:
    padding = "x" * (MAX_BODY_BYTES + 1)
    raw = json.dumps({**route.valid, "padding": padding})
    token = world.alice.token if route.authenticated else None
    reply = call(route.method, route.path, raw_body=raw, token=token, query=route.valid if route.query else None)
    assert_error(reply, 413)


RULE_BREAKERS = [
    (BODY_ROUTES[0], {**REGISTER, "email": "not-an-email"}),
    (BODY_ROUTES[0], {**REGISTER, "email": "a@b"}),
    (BODY_ROUTES[0], {**REGISTER, "email": "x" * 250 + "@example.com"}),
    (BODY_ROUTES[0], {**REGISTER, "password": "short"}),
    (BODY_ROUTES[0], {**REGISTER, "password": "p" * 129}),
    (BODY_ROUTES[0], {**REGISTER, "full_name": "   "}),
    (BODY_ROUTES[0], {**REGISTER, "full_name": "Line\nbreak"}),
    (BODY_ROUTES[0], {**REGISTER, "full_name": "n" * 101}),
    (BODY_ROUTES[0], {**REGISTER, "tenant_id": "Tenant A"}),
    (BODY_ROUTES[0], {**REGISTER, "tenant_id": ""}),
    (BODY_ROUTES[2], {"email": "alice@example.com", "password": ""}),
    (BODY_ROUTES[2], {"email": "alice@example.com", "password": "p" * 129}),
    (BODY_ROUTES[4], {"email": "alice@example.com", "code": "1234"}),
    (BODY_ROUTES[4], {"email": "alice@example.com", "code": "abcdefgh"}),
    (BODY_ROUTES[7], {"email": "alice@example.com", "code": "12345678", "new_password": "short"}),
    (BODY_ROUTES[8], {"full_name": ""}),
]


def test_values_that_break_a_rule_are_422(world: World) -> None:
    for route, body in RULE_BREAKERS:
        reply = world.send(route, body=body)
        assert reply.status == 422, (route.id, body, reply.body)
        assert_error(reply, 422)


def test_users_query_without_email_is_422(world: World) -> None:
    assert_error(call("GET", "/users", token=world.alice.token), 422)
    assert_error(call("GET", "/users", token=world.alice.token, query={"email": ""}), 422)


# --- tokens ---------------------------------------------------------------------------------------


def _alg_none_token(user_id: str) -> str:
    kid = tokens.token_service()._keys.current.kid
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": kid}).encode()).decode().rstrip("=")
    now = int(time.time())
    claims = {"sub": user_id, "tenant_id": "tenant-a", "iat": now, "exp": now + 600}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{payload}."


def bad_tokens(alice: Account, signing_key: str) -> dict[str, str | None]:
    service = tokens.token_service()
    identity = Identity(user_id=alice.user_id, tenant_id="tenant-a")
    past = tokens.TokenService(
        service._keys,
        issuer="messaging-platform",
        audience="messaging-clients",
        ttl_seconds=60,
        clock=lambda: time.time() - 3600,
    )
    other_key = tokens.TokenService(
        tokens.KeyRing.from_secret(secrets.token_urlsafe(48)),
        issuer="messaging-platform",
        audience="messaging-clients",
        ttl_seconds=600,
    )
    valid = service.issue(identity).access_token
    header, payload, _ = valid.split(".")
    return {
        "missing": None,
        "garbage": "not.a.token",
        "expired": past.issue(identity).access_token,
        "wrong-signature": other_key.issue(identity).access_token,
        "forged-kid": jwt.encode(
            jwt.decode(valid, options={"verify_signature": False}),
            secrets.token_bytes(48),
            algorithm="HS256",
            headers={"kid": service._keys.current.kid},
        ),
        "truncated-signature": f"{header}.{payload}.",
        "alg-none": _alg_none_token(alice.user_id),
    }


@pytest.mark.parametrize("route", AUTHENTICATED_ROUTES, ids=lambda r: r.id)
def test_bad_tokens_are_401(world: World, signing_key: str, route: Route) -> None:
    for case, token in bad_tokens(world.alice, signing_key).items():
        if route.query:
            reply = call(route.method, route.path, token=token, query=route.valid)
        else:
            reply = call(route.method, route.path, token=token, body=route.valid or None)
        assert reply.status == 401, case
        assert_error(reply, 401)


@pytest.mark.parametrize("route", AUTHENTICATED_ROUTES, ids=lambda r: r.id)
def test_non_bearer_authorization_is_401(world: World, route: Route) -> None:
    kwargs: dict[str, Any] = {"query": route.valid} if route.query else {"body": route.valid or None}
    for authorization in ["Basic YWxpY2U6cGFzc3dvcmQ=", "Bearer", "Bearer ", "", "Token abc", world.alice.token]:
        reply = call(route.method, route.path, headers={"authorization": authorization}, **kwargs)
        assert_error(reply, 401)


# --- other tenants ------------------------------------------------------------------------------


def test_another_tenants_user_is_404(world: World) -> None:
    assert_error(call("GET", "/users", token=world.alice.token, query={"email": world.mallory.email}), 404)
    assert_error(call("GET", "/users", token=world.mallory.token, query={"email": world.alice.email}), 404)


def test_unknown_route_and_method_are_404(world: World) -> None:
    assert_error(call("GET", "/auth/unknown"), 404)
    assert_error(call("DELETE", "/auth/me", token=world.alice.token), 404)
