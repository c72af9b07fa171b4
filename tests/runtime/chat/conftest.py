"""Fixtures for the chat, calls and rides handlers: users in the users table, a request helper.

Profiles are written straight into the users table in the shape the auth functions write
them (`USER#{id}` / `PROFILE` with `tenant_id`), so these tests do not depend on auth's code.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local.assembly import TableSpec
from runtime.calls import handler as calls_handler
from runtime.chat import handler as chat_handler
from runtime.chat.repository import default_client
from runtime.common.names import Env
from runtime.rides import handler as rides_handler
from tests.runtime.conftest import TokenFactory
from tests.support.events import http_event, lambda_context

TENANT = "tenant-a"
OTHER_TENANT = "tenant-b"


@pytest.fixture(autouse=True)
def _fresh_services() -> Iterator[None]:
    """Each test builds its services (and boto3 client) inside its own moto backend."""
    caches = (
        default_client,
        chat_handler.chat_service,
        calls_handler.call_service,
        rides_handler.ride_service,
    )
    for cached in caches:
        cached.cache_clear()
    yield
    for cached in caches:
        cached.cache_clear()


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Api:
    """Drives a handler with API Gateway v2 events, as the HTTP API would."""

    tokens: TokenFactory
    dynamodb: Any
    tables: dict[str, TableSpec]

    @property
    def chat_table(self) -> str:
        return self.tables[Env.CHAT_TABLE].physical_name

    @property
    def users_table(self) -> str:
        return self.tables[Env.USERS_TABLE].physical_name

    def user(self, tenant: str = TENANT, permissions: tuple[str, ...] = ()) -> User:
        user_id = str(uuid.uuid4())
        self.dynamodb.put_item(
            TableName=self.users_table,
            Item={
                "pk": {"S": f"USER#{user_id}"},
                "sk": {"S": "PROFILE"},
                "email": {"S": f"{user_id}@example.com"},
                "full_name": {"S": "Test User"},
                "tenant_id": {"S": tenant},
                "permissions": {"L": [{"S": p} for p in permissions]},
            },
        )
        return User(user_id=user_id, tenant=tenant, token=self.tokens(user_id, tenant, permissions))

    def request(
        self,
        handler: Callable[[dict[str, Any], Any], dict[str, Any]],
        method: str,
        path: str,
        *,
        as_user: User | None = None,
        body: Any = None,
        raw_body: str | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        all_headers = dict(headers or {})
        if as_user is not None:
            all_headers.setdefault("authorization", f"Bearer {as_user.token}")
        event = http_event(method, path, body=body, raw_body=raw_body, query=query, headers=all_headers)
        response = handler(event, lambda_context())
        text = response.get("body") or "null"
        return Reply(status=response["statusCode"], body=json.loads(text), headers=response.get("headers", {}))

    def chat(self, method: str, path: str, **kwargs: Any) -> Reply:
        return self.request(chat_handler.lambda_handler, method, path, **kwargs)

    def calls(self, method: str, path: str, **kwargs: Any) -> Reply:
        return self.request(calls_handler.lambda_handler, method, path, **kwargs)

    def rides(self, method: str, path: str, **kwargs: Any) -> Reply:
        return self.request(rides_handler.lambda_handler, method, path, **kwargs)

    def table_items(self) -> list[dict[str, Any]]:
        """Everything in the chat table (tests may scan; runtime code never does)."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.chat_table}
        while True:
            page = self.dynamodb.scan(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def conversation(self, owner: User, *others: User, title: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"participant_ids": [o.user_id for o in others]}
        if title is not None:
            body["title"] = title
        reply = self.chat("POST", "/conversations", as_user=owner, body=body)
        assert reply.status == 201, reply.body
        return dict(reply.body)

    def message(self, sender: User, conversation_id: str, content: str, **extra: Any) -> Reply:
        return self.chat(
            "POST",
            f"/conversations/{conversation_id}/messages",
            as_user=sender,
            body={"content": content, **extra},
        )


@dataclass(frozen=True)
class User:
    user_id: str
    tenant: str
    token: str


@pytest.fixture
def api(tables: dict[str, TableSpec], token_factory: TokenFactory, dynamodb: Any) -> Api:
    return Api(tokens=token_factory, dynamodb=dynamodb, tables=tables)


@dataclass
class World:
    """Two tenants' worth of people and things, for the routes' authorization matrix.

    Tenant A: alice and bob share a conversation with a ringing call (alice calls); carol is
    in the tenant but not in it. A booking `RIDE-1` joins driver and passenger, created by
    dispatch. Mallory is in tenant B, with every permission there.
    """

    api: Api
    alice: User
    bob: User
    carol: User
    mallory: User
    dispatch: User
    driver: User
    passenger: User
    conversation_id: str
    call_id: str
    booking_code: str = "RIDE-1"


@pytest.fixture
def world(api: Api) -> World:
    alice, bob, carol = api.user(), api.user(), api.user()
    mallory = api.user(OTHER_TENANT, permissions=("bookings:write",))
    dispatch = api.user(permissions=("bookings:write",))
    driver, passenger = api.user(), api.user()
    conversation_id = api.conversation(alice, bob)["conversation_id"]
    call = api.calls("POST", f"/conversations/{conversation_id}/calls", as_user=alice, body={"call_type": "voice"})
    assert call.status == 201, call.body
    booking = api.rides(
        "POST",
        "/api/v1/bookings",
        as_user=dispatch,
        body={"booking_code": "RIDE-1", "driver_id": driver.user_id, "passenger_id": passenger.user_id},
    )
    assert booking.status == 201, booking.body
    return World(
        api=api,
        alice=alice,
        bob=bob,
        carol=carol,
        mallory=mallory,
        dispatch=dispatch,
        driver=driver,
        passenger=passenger,
        conversation_id=conversation_id,
        call_id=call.body["call_id"],
    )
