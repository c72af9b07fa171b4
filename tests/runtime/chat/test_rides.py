"""The ride-hailing routes, over HTTP and by direct invocation: a booking is a conversation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime.rides import handler as rides_handler
from tests.runtime.chat.conftest import OTHER_TENANT, Api, Reply, User, World
from tests.support.events import lambda_context


def _send(api: Api, user: User, message: str, sender: str, code: str = "RIDE-1", **extra: Any) -> Reply:
    body = {"booking_code": code, "message": message, "sender": sender, **extra}
    return api.rides("POST", "/api/v1/send_message", as_user=user, body=body)


def _call(api: Api, user: User, action: str, caller: str, code: str = "RIDE-1", **extra: Any) -> Reply:
    body = {"booking_code": code, "action": action, "caller": caller, **extra}
    return api.rides("POST", "/api/v1/make_call", as_user=user, body=body)


def _history(api: Api, user: User, code: str = "RIDE-1", **query: str) -> Reply:
    return api.rides("GET", "/api/v1/get_message", as_user=user, query={"booking_code": code, **query})


def _direct(payload: dict[str, Any]) -> dict[str, Any]:
    # What `aws lambda invoke --payload ...` delivers, and what it writes back (JSON-serialisable).
    response = rides_handler.lambda_handler(payload, lambda_context())
    return dict(json.loads(json.dumps(response)))


def test_booking_becomes_a_two_person_conversation(world: World) -> None:
    api = world.api
    listed = api.chat("GET", "/conversations", as_user=world.driver).body["items"]
    assert len(listed) == 1
    assert listed[0]["title"] == "Booking RIDE-1"
    assert listed[0]["participant_ids"] == [world.driver.user_id, world.passenger.user_id]
    # Dispatch created it but is not in it.
    assert api.chat("GET", "/conversations", as_user=world.dispatch).body["items"] == []
    # It opens with a system message from the server side.
    history = _history(api, world.passenger).body["items"]
    assert [(m["type"], m["sender"]) for m in history] == [("system", None)]
    assert "RIDE-1" in history[0]["content"]


def test_creating_a_booking_again_is_idempotent_but_a_reused_code_is_409(world: World) -> None:
    api = world.api
    body = {"booking_code": "RIDE-1", "driver_id": world.driver.user_id, "passenger_id": world.passenger.user_id}
    before = api.table_items()
    again = api.rides("POST", "/api/v1/bookings", as_user=world.dispatch, body=body)
    assert again.status == 200
    assert again.body["driver_id"] == world.driver.user_id
    assert api.table_items() == before
    swapped = {**body, "driver_id": world.passenger.user_id, "passenger_id": world.driver.user_id}
    conflict = api.rides("POST", "/api/v1/bookings", as_user=world.dispatch, body=swapped)
    assert conflict.status == 409
    assert api.table_items() == before


def test_only_the_dispatch_permission_creates_bookings(world: World) -> None:
    api = world.api
    body = {"booking_code": "RIDE-9", "driver_id": world.driver.user_id, "passenger_id": world.passenger.user_id}
    before = api.table_items()
    for user in (world.driver, world.alice):
        reply = api.rides("POST", "/api/v1/bookings", as_user=user, body=body)
        assert reply.status == 403
    same = {**body, "passenger_id": world.driver.user_id}
    assert api.rides("POST", "/api/v1/bookings", as_user=world.dispatch, body=same).status == 422
    unknown = {**body, "passenger_id": "00000000-0000-4000-8000-000000000000"}
    assert api.rides("POST", "/api/v1/bookings", as_user=world.dispatch, body=unknown).status == 404
    for code in ("has space", "a#b", "x" * 65, ""):
        bad = {**body, "booking_code": code}
        assert api.rides("POST", "/api/v1/bookings", as_user=world.dispatch, body=bad).status == 422, code
    assert api.table_items() == before


def test_the_same_code_in_another_tenant_is_another_booking(world: World) -> None:
    api = world.api
    driver_b, passenger_b = api.user(OTHER_TENANT), api.user(OTHER_TENANT)
    body = {"booking_code": "RIDE-1", "driver_id": driver_b.user_id, "passenger_id": passenger_b.user_id}
    created = api.rides("POST", "/api/v1/bookings", as_user=world.mallory, body=body)
    assert created.status == 201
    assert _send(api, driver_b, "tenant b here", "driver").status == 201
    assert _history(api, driver_b).body["items"][0]["content"] == "tenant b here"
    assert all(m["content"] != "tenant b here" for m in _history(api, world.driver).body["items"])


def test_driver_and_passenger_chat_under_their_roles(world: World) -> None:
    api = world.api
    sent = _send(api, world.driver, "I'm outside", "driver")
    assert sent.status == 201
    assert sent.body["sender"] == "driver"
    assert sent.body["sender_id"] == world.driver.user_id
    assert sent.body["booking_code"] == "RIDE-1"
    assert sent.body["type"] == "text"
    reply = _send(api, world.passenger, "Coming!", "passenger")
    assert reply.status == 201
    notice = _send(api, world.driver, "Arrived at pickup", "driver", message_type="system")
    assert notice.status == 201
    assert notice.body["type"] == "system"
    history = _history(api, world.passenger).body["items"]
    assert [(m["content"], m["sender"]) for m in history[:3]] == [
        ("Arrived at pickup", "driver"),
        ("Coming!", "passenger"),
        ("I'm outside", "driver"),
    ]
    # Same data underneath: the chat API reads the same conversation.
    conversation_id = sent.body["conversation_id"]
    chat = api.chat("GET", f"/conversations/{conversation_id}/messages", as_user=world.driver).body["items"]
    assert [m["message_id"] for m in chat] == [m["message_id"] for m in history]


def test_claiming_the_other_role_is_403_and_changes_nothing(world: World) -> None:
    api = world.api
    before = api.table_items()
    assert _send(api, world.passenger, "I am the driver", "driver").status == 403
    assert _send(api, world.driver, "I am the passenger", "passenger").status == 403
    assert _call(api, world.passenger, "initiate", "driver").status == 403
    assert api.table_items() == before


def test_call_messages_cannot_be_sent_by_hand(world: World) -> None:
    before = world.api.table_items()
    assert _send(world.api, world.driver, "fake call", "driver", message_type="call").status == 422
    assert world.api.table_items() == before


def test_repeated_client_message_id_returns_the_first_ride_message(world: World) -> None:
    api = world.api
    first = _send(api, world.driver, "on my way", "driver", client_message_id="d-1")
    assert first.status == 201
    before = api.table_items()
    again = _send(api, world.driver, "on my way", "driver", client_message_id="d-1")
    assert again.status == 200
    assert again.body == first.body
    assert api.table_items() == before


def test_make_call_runs_the_call_state_machine(world: World) -> None:
    api = world.api
    started = _call(api, world.passenger, "initiate", "passenger", call_type="video")
    assert started.status == 201
    assert started.body["status"] == "ringing"
    assert started.body["call_type"] == "video"
    assert started.body["booking_code"] == "RIDE-1"
    assert _call(api, world.driver, "initiate", "driver").status == 409  # one call at a time
    assert _call(api, world.passenger, "accept", "passenger").status == 403  # not your own call
    accepted = _call(api, world.driver, "accept", "driver")
    assert accepted.status == 200
    assert accepted.body["status"] == "connected"
    assert accepted.body["call_id"] == started.body["call_id"]
    assert _call(api, world.driver, "reject", "driver").status == 409
    ended = _call(api, world.passenger, "end", "passenger")
    assert ended.status == 200
    assert ended.body["status"] == "ended"
    assert ended.body["duration_seconds"] == ended.body["ended_at"] - ended.body["connected_at"]
    before = api.table_items()
    for action in ("accept", "reject", "end"):
        reply = _call(api, world.driver, action, "driver")
        assert reply.status == 409
        assert reply.body == {"error": f"there is no call in progress to {action}"}
    assert api.table_items() == before
    calls = _history(api, world.driver, message_type="call").body["items"]
    assert [m["call"]["status"] for m in calls] == ["ended", "connected", "ringing"]
    assert [m["sender"] for m in calls] == ["passenger", "driver", "passenger"]
    # The booking's call log is the conversation's.
    log = api.calls("GET", f"/conversations/{started.body['conversation_id']}/calls", as_user=world.driver)
    assert [c["call_id"] for c in log.body["items"]] == [started.body["call_id"]]


@pytest.mark.parametrize(
    ("who", "action", "status"), [("driver", "end", "missed"), ("passenger", "reject", "rejected")]
)
def test_unanswered_ride_calls(world: World, who: str, action: str, status: str) -> None:
    api = world.api
    _call(api, world.driver, "initiate", "driver")
    user = world.driver if who == "driver" else world.passenger
    reply = _call(api, user, action, who)
    assert reply.body["status"] == status
    assert reply.body["duration_seconds"] == 0
    assert _call(api, world.passenger, "initiate", "passenger").status == 201  # the line is free again


def test_get_message_pages_and_filters(world: World) -> None:
    api = world.api
    for i in range(4):
        _send(api, world.driver, f"m{i}", "driver")
    first = _history(api, world.driver, limit="3").body
    assert [m["content"] for m in first["items"]] == ["m3", "m2", "m1"]
    second = _history(api, world.driver, limit="3", next_token=first["next_token"]).body
    assert [m["type"] for m in second["items"]] == ["text", "system"]
    assert second["next_token"] is None
    texts = _history(api, world.driver, message_type="text").body["items"]
    assert len(texts) == 4
    assert _history(api, world.driver, message_type="sms").status == 422
    assert _history(api, world.driver, next_token="bogus").status == 400
    # A token of the chat route for the same conversation is the same query: accepted.
    conversation_id = texts[0]["conversation_id"]
    chat_page = api.chat(
        "GET", f"/conversations/{conversation_id}/messages", as_user=world.driver, query={"limit": "3"}
    ).body
    assert _history(api, world.driver, next_token=chat_page["next_token"]).status == 200


def test_direct_invocation_goes_through_the_same_checks(world: World) -> None:
    token = world.driver.token
    sent = _direct(
        {
            "function_type": "send_message",
            "access_token": token,
            "booking_code": "RIDE-1",
            "message": "hi",
            "sender": "driver",
        }
    )
    assert sent["statusCode"] == 201
    assert sent["body"]["sender"] == "driver"
    assert sent["body"]["content"] == "hi"

    call = _direct(
        {
            "function_type": "make_call",
            "access_token": world.passenger.token,
            "booking_code": "RIDE-1",
            "action": "initiate",
            "caller": "passenger",
        }
    )
    assert call["statusCode"] == 201
    assert call["body"]["status"] == "ringing"

    page = _direct({"function_type": "get_message", "access_token": token, "booking_code": "RIDE-1", "limit": 2})
    assert page["statusCode"] == 200
    assert [m["type"] for m in page["body"]["items"]] == ["call", "text"]
    assert page["body"]["next_token"]

    before = world.api.table_items()
    ride: dict[str, Any] = {"booking_code": "RIDE-1"}
    message = {**ride, "message": "x", "sender": "driver"}
    send = {"function_type": "send_message", "access_token": token}
    read = {"function_type": "get_message", "access_token": token, **ride}
    carol_ends = {"function_type": "make_call", "access_token": world.carol.token, **ride, "action": "end"}
    refusals: list[tuple[dict[str, Any], int]] = [
        ({"function_type": "send_message", **message}, 401),
        ({**send, "access_token": "nope", **message}, 401),
        ({**send, **ride}, 422),
        ({**send, **message, "booking_code": 1}, 400),
        ({**send, **message, "sender": "passenger"}, 403),
        ({**carol_ends, "caller": "driver"}, 404),
        ({**read, "limit": "lots"}, 400),
        ({**read, "limit": 0}, 422),
        ({**send, **message, "message": "x" * 70_000}, 413),
        ({"function_type": "create_booking", "access_token": token}, 400),
        ({"function_type": None}, 400),
    ]
    for payload, status in refusals:
        response = _direct(payload)
        assert response["statusCode"] == status, (payload, response)
        assert set(response["body"]) == {"error"}
    assert world.api.table_items() == before


def test_an_http_event_with_a_function_type_field_is_still_http(world: World) -> None:
    # Only a payload without an API Gateway request context is treated as a direct invocation.
    reply = world.api.rides(
        "GET", "/api/v1/get_message", as_user=world.driver, query={"booking_code": "RIDE-1", "function_type": "x"}
    )
    assert reply.status == 200
