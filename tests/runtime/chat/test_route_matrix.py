"""Every chat, calls and rides route against the same bad inputs: a clear 4xx that changes nothing.

One table of routes (with a valid request for each) drives every check, so a route added
later gets the whole matrix by adding one line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from runtime.common.identity import Identity
from runtime.common.tokens import KeyRing, TokenService
from tests.runtime.chat.conftest import Reply, User, World


@dataclass(frozen=True)
class Route:
    name: str
    target: str  # "chat" | "calls" | "rides": which function serves it
    method: str
    path: Callable[[World], str]
    actor: Callable[[World], User]
    body: Callable[[World], dict[str, Any]] | None = None
    query: Callable[[World], dict[str, str]] = field(default=lambda w: {})
    # A body (or query) of the right shape but a wrong field type: 400.
    wrong_type: Callable[[World], dict[str, Any]] | None = None
    # A body (or query) that is well-formed but misses or breaks a rule: 422.
    invalid: Callable[[World], dict[str, Any]] | None = None
    # Whether a tenant-B caller or a tenant-A outsider can be pointed at tenant A's things.
    scoped: bool = True

    def send(
        self,
        world: World,
        *,
        as_user: User | None,
        body: Any = None,
        raw_body: str | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        requester = getattr(world.api, self.target)
        if body is None and raw_body is None and self.body is not None:
            body = self.body(world)
        return requester(
            self.method,
            self.path(world),
            as_user=as_user,
            body=body,
            raw_body=raw_body,
            query=self.query(world) if query is None else query,
            headers=headers,
        )


def _conv(suffix: str = "") -> Callable[[World], str]:
    return lambda w: f"/conversations/{w.conversation_id}{suffix}"


def _call(action: str) -> Callable[[World], str]:
    return lambda w: f"/calls/{w.call_id}/{action}"


def _booking_body(w: World) -> dict[str, Any]:
    return {"booking_code": "RIDE-2", "driver_id": w.driver.user_id, "passenger_id": w.passenger.user_id}


ROUTES = [
    Route(
        "create conversation",
        "chat",
        "POST",
        lambda w: "/conversations",
        lambda w: w.alice,
        body=lambda w: {"participant_ids": [w.bob.user_id]},
        wrong_type=lambda w: {"participant_ids": w.bob.user_id},
        invalid=lambda w: {"title": "no participants"},
        scoped=False,
    ),
    Route(
        "list conversations",
        "chat",
        "GET",
        lambda w: "/conversations",
        lambda w: w.alice,
        wrong_type=lambda w: {"limit": "ten"},
        invalid=lambda w: {"limit": "0"},
        scoped=False,
    ),
    Route(
        "send message",
        "chat",
        "POST",
        _conv("/messages"),
        lambda w: w.alice,
        body=lambda w: {"content": "hello"},
        wrong_type=lambda w: {"content": 42},
        invalid=lambda w: {"type": "text"},
    ),
    Route(
        "list messages",
        "chat",
        "GET",
        _conv("/messages"),
        lambda w: w.alice,
        wrong_type=lambda w: {"limit": "many"},
        invalid=lambda w: {"limit": "101"},
    ),
    Route(
        "start call",
        "calls",
        "POST",
        _conv("/calls"),
        lambda w: w.alice,
        body=lambda w: {"call_type": "video"},
        wrong_type=lambda w: {"call_type": 1},
        invalid=lambda w: {},
    ),
    Route(
        "call log",
        "calls",
        "GET",
        _conv("/calls"),
        lambda w: w.alice,
        wrong_type=lambda w: {"limit": "1.5"},
        invalid=lambda w: {"limit": "-1"},
    ),
    Route("accept call", "calls", "POST", _call("accept"), lambda w: w.bob),
    Route("reject call", "calls", "POST", _call("reject"), lambda w: w.bob),
    Route("end call", "calls", "POST", _call("end"), lambda w: w.bob),
    Route(
        "create booking",
        "rides",
        "POST",
        lambda w: "/api/v1/bookings",
        lambda w: w.dispatch,
        body=_booking_body,
        wrong_type=lambda w: {**_booking_body(w), "booking_code": 7},
        invalid=lambda w: {"booking_code": "RIDE-2", "driver_id": w.driver.user_id},
        scoped=False,
    ),
    Route(
        "ride send_message",
        "rides",
        "POST",
        lambda w: "/api/v1/send_message",
        lambda w: w.driver,
        body=lambda w: {"booking_code": w.booking_code, "message": "arriving", "sender": "driver"},
        wrong_type=lambda w: {"booking_code": [w.booking_code], "message": "arriving", "sender": "driver"},
        invalid=lambda w: {"booking_code": w.booking_code, "sender": "driver"},
    ),
    Route(
        "ride make_call",
        "rides",
        "POST",
        lambda w: "/api/v1/make_call",
        lambda w: w.driver,
        body=lambda w: {"booking_code": w.booking_code, "action": "initiate", "caller": "driver"},
        wrong_type=lambda w: {"booking_code": w.booking_code, "action": True, "caller": "driver"},
        invalid=lambda w: {"booking_code": w.booking_code, "action": "initiate"},
    ),
    Route(
        "ride get_message",
        "rides",
        "GET",
        lambda w: "/api/v1/get_message",
        lambda w: w.driver,
        query=lambda w: {"booking_code": w.booking_code},
        wrong_type=lambda w: {"booking_code": w.booking_code, "limit": "x"},
        invalid=lambda w: {"limit": "5"},
    ),
]
BY_NAME = {route.name: route for route in ROUTES}
WITH_BODY = [r.name for r in ROUTES if r.body is not None]
WITH_WRONG_TYPES = [r.name for r in ROUTES if r.wrong_type is not None]
WITH_RULES = [r.name for r in ROUTES if r.invalid is not None]
SCOPED = [r.name for r in ROUTES if r.scoped]


def _assert_refused(world: World, reply: Reply, status: int, before: list[dict[str, Any]]) -> None:
    assert reply.status == status, reply.body
    assert set(reply.body) == {"error"}
    assert reply.body["error"]
    assert world.api.table_items() == before, "a refused request must change nothing"


def _foreign_token(user: User, *, issued_long_ago: bool = False) -> str:
    """A well-formed token that must not verify: another key, or the right key but expired."""
    identity = Identity(user_id=user.user_id, tenant_id=user.tenant)
    if issued_long_ago:
        service = TokenService(
            KeyRing.from_secret("x" * 48),
            issuer="messaging-platform",
            audience="messaging-clients",
            ttl_seconds=60,
            clock=lambda: 1_000_000_000,
        )
    else:
        service = TokenService(
            KeyRing.from_secret("not-the-deployment-signing-key-at-all"),
            issuer="messaging-platform",
            audience="messaging-clients",
            ttl_seconds=900,
        )
    return service.issue(identity).access_token


@pytest.mark.parametrize("name", [r.name for r in ROUTES])
def test_valid_request_succeeds(world: World, name: str) -> None:
    # The baseline every refusal below is compared against: the same request, done right.
    route = BY_NAME[name]
    if name == "start call":
        world.api.calls("POST", f"/calls/{world.call_id}/end", as_user=world.alice)  # free the line
    reply = route.send(world, as_user=route.actor(world))
    assert reply.status in (200, 201), reply.body


@pytest.mark.parametrize("name", [r.name for r in ROUTES])
def test_missing_or_bad_token_is_401(world: World, name: str) -> None:
    route = BY_NAME[name]
    actor = route.actor(world)
    credentials = {
        "none": {},
        "garbage": {"authorization": "Bearer not.a.jwt"},
        "basic": {"authorization": f"Basic {actor.token}"},
        "foreign key": {"authorization": f"Bearer {_foreign_token(actor)}"},
        "expired": {"authorization": f"Bearer {_foreign_token(actor, issued_long_ago=True)}"},
    }
    before = world.api.table_items()
    for credential, headers in credentials.items():
        reply = route.send(world, as_user=None, headers=headers)
        assert reply.status == 401, (credential, reply.body)
        _assert_refused(world, reply, 401, before)


@pytest.mark.parametrize("name", WITH_BODY)
def test_malformed_json_is_400(world: World, name: str) -> None:
    route = BY_NAME[name]
    before = world.api.table_items()
    for raw in ('{"content": ', "not json", "", "[1, 2]", "null", '"text"'):
        reply = route.send(world, as_user=route.actor(world), raw_body=raw)
        assert reply.status == 400, (raw, reply.body)
        _assert_refused(world, reply, 400, before)


@pytest.mark.parametrize("name", WITH_WRONG_TYPES)
def test_wrong_field_type_is_400(world: World, name: str) -> None:
    route = BY_NAME[name]
    assert route.wrong_type is not None
    before = world.api.table_items()
    value = route.wrong_type(world)
    if route.method == "GET":
        reply = route.send(world, as_user=route.actor(world), query=value)
    else:
        reply = route.send(world, as_user=route.actor(world), body=value)
    _assert_refused(world, reply, 400, before)


@pytest.mark.parametrize("name", WITH_RULES)
def test_missing_field_or_broken_rule_is_422(world: World, name: str) -> None:
    route = BY_NAME[name]
    assert route.invalid is not None
    before = world.api.table_items()
    value = route.invalid(world)
    if route.method == "GET":
        reply = route.send(world, as_user=route.actor(world), query=value)
    else:
        reply = route.send(world, as_user=route.actor(world), body=value)
    _assert_refused(world, reply, 422, before)


@pytest.mark.parametrize("name", WITH_BODY)
def test_unknown_field_is_422(world: World, name: str) -> None:
    # A misspelt optional field (client_mesage_id) must not be dropped silently.
    route = BY_NAME[name]
    assert route.body is not None
    before = world.api.table_items()
    body = {**route.body(world), "client_mesage_id": "abc"}
    _assert_refused(world, route.send(world, as_user=route.actor(world), body=body), 422, before)


@pytest.mark.parametrize("name", [r.name for r in ROUTES])
def test_oversize_body_is_413_before_anything_else(world: World, name: str) -> None:
    # 64 KiB is the limit; the size is refused before the token or the JSON is even looked at.
    route = BY_NAME[name]
    before = world.api.table_items()
    raw = json.dumps({"content": "x" * (70 * 1024)})
    for as_user in (route.actor(world), None):
        reply = route.send(world, as_user=as_user, raw_body=raw)
        assert reply.status == 413, (as_user, reply.body)
        _assert_refused(world, reply, 413, before)


@pytest.mark.parametrize("name", SCOPED)
def test_another_tenants_ids_are_404(world: World, name: str) -> None:
    # Mallory (tenant B, with every permission there) names tenant A's conversation, call or booking.
    route = BY_NAME[name]
    before = world.api.table_items()
    _assert_refused(world, route.send(world, as_user=world.mallory), 404, before)


@pytest.mark.parametrize("name", SCOPED)
def test_non_participant_is_404(world: World, name: str) -> None:
    # Carol is in tenant A but in neither the conversation nor the booking: it does not exist for her.
    route = BY_NAME[name]
    before = world.api.table_items()
    _assert_refused(world, route.send(world, as_user=world.carol), 404, before)


@pytest.mark.parametrize(
    "path",
    [
        "/conversations/not-a-uuid/messages",
        "/conversations/00000000-0000-4000-8000-000000000000/messages",
    ],
)
def test_unknown_or_malformed_conversation_id_is_404(world: World, path: str) -> None:
    before = world.api.table_items()
    reply = world.api.chat("POST", path, as_user=world.alice, body={"content": "hi"})
    _assert_refused(world, reply, 404, before)


def test_unknown_or_malformed_call_id_is_404(world: World) -> None:
    before = world.api.table_items()
    for action in ("accept", "reject", "end"):
        for call_id in ("nope", "00000000-0000-4000-8000-000000000000"):
            reply = world.api.calls("POST", f"/calls/{call_id}/{action}", as_user=world.bob)
            _assert_refused(world, reply, 404, before)


def test_unknown_route_is_404(world: World) -> None:
    for requester in (world.api.chat, world.api.calls, world.api.rides):
        reply = requester("GET", "/conversations/x/y/z", as_user=world.alice)
        assert reply.status == 404
        assert reply.body == {"error": "not found"}
