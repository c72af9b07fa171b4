"""The chat routes and the realtime side share the chat table: each reads what the other writes.

The realtime functions (runtime/realtime) write `sendMessage` messages and settle calls left
hanging by a disconnect; they find a user's live calls through active-call markers. These
tests drive both sides against one table.
"""

from __future__ import annotations

from typing import Any

import pytest

from runtime.calls import handler as calls_handler
from runtime.chat.logic import ChatService
from runtime.chat.repository import ChatRepository
from runtime.common.errors import ConflictError
from runtime.realtime.chat_store import CallSettler, ChatReader
from runtime.realtime.chat_writer import ChatServiceWriter
from runtime.realtime.models import CallStatus as RealtimeCallStatus
from runtime.realtime.models import Conversation as RealtimeConversation
from runtime.realtime.models import Message as RealtimeMessage
from runtime.realtime.models import MessageDraft
from tests.runtime.chat.conftest import Api, User


def _socket_writer(api: Api) -> ChatServiceWriter:
    """What the WebSocket router writes `sendMessage` with (see runtime/realtime/handler.py)."""
    return ChatServiceWriter(ChatService(ChatRepository(api.chat_table, api.dynamodb)))


def _markers(api: Api, user: User) -> set[str]:
    mine = [i for i in api.table_items() if i["pk"]["S"] == f"USER#{user.user_id}"]
    return {i["sk"]["S"].removeprefix("ACTIVECALL#") for i in mine if i["sk"]["S"].startswith("ACTIVECALL#")}


def _start(api: Api, caller: User, conversation_id: str) -> dict[str, Any]:
    reply = api.calls("POST", f"/conversations/{conversation_id}/calls", as_user=caller, body={"call_type": "voice"})
    assert reply.status == 201, reply.body
    return dict(reply.body)


def test_active_call_markers_follow_the_call(api: Api) -> None:
    alice, bob, carol = api.user(), api.user(), api.user()
    conversation = api.conversation(alice, bob, carol)["conversation_id"]
    call_id = _start(api, alice, conversation)["call_id"]
    assert (_markers(api, alice), _markers(api, bob)) == ({call_id}, set())
    accepted = api.calls("POST", f"/calls/{call_id}/accept", as_user=bob).body
    assert accepted["accepted_by"] == bob.user_id
    assert (_markers(api, alice), _markers(api, bob), _markers(api, carol)) == ({call_id}, {call_id}, set())
    reader = ChatReader(api.dynamodb, api.chat_table)
    assert [ref.call_id for ref in reader.active_calls_of(bob.user_id)] == [call_id]
    live = reader.call(call_id)
    assert live is not None
    assert (live.status, live.accepted_by, live.caller_id) == (RealtimeCallStatus.CONNECTED, bob.user_id, alice.user_id)
    api.calls("POST", f"/calls/{call_id}/end", as_user=carol)
    assert (_markers(api, alice), _markers(api, bob)) == (set(), set())


def test_an_unanswered_call_releases_the_callers_marker(api: Api) -> None:
    alice, bob = api.user(), api.user()
    conversation = api.conversation(alice, bob)["conversation_id"]
    call_id = _start(api, alice, conversation)["call_id"]
    api.calls("POST", f"/calls/{call_id}/reject", as_user=bob)
    assert _markers(api, alice) == set()


def _settle_by_disconnect(api: Api, call_id: str, by: User, to: RealtimeCallStatus) -> None:
    """What the realtime side does when the caller's last socket closes."""
    reader = ChatReader(api.dynamodb, api.chat_table)
    call = reader.call(call_id)
    assert call is not None
    conversation = reader.conversation(call.conversation_id)
    assert conversation is not None
    message = RealtimeMessage(
        message_id="00000000-0000-4000-8000-00000000beef",
        conversation_id=call.conversation_id,
        sender_id=by.user_id,
        type="call",
        content="Missed voice call",
        created_at_ms=1_900_000_000_000,
        tenant_id=call.tenant_id,
    )
    settled = CallSettler(api.dynamodb, api.chat_table).settle(
        call,
        to=to,
        by_user=by.user_id,
        now_ms=1_900_000_000_000,
        duration_seconds=0,
        message=message,
        conversation=conversation,
    )
    assert settled


def test_a_call_settled_by_a_disconnect_frees_the_conversation(api: Api) -> None:
    alice, bob = api.user(), api.user()
    conversation = api.conversation(alice, bob)["conversation_id"]
    call_id = _start(api, alice, conversation)["call_id"]
    _settle_by_disconnect(api, call_id, alice, RealtimeCallStatus.MISSED)
    # The conversation still names the finished call; it does not block the next one.
    assert api.calls("POST", f"/calls/{call_id}/accept", as_user=bob).status == 409
    log = api.calls("GET", f"/conversations/{conversation}/calls", as_user=bob).body["items"]
    assert [c["status"] for c in log] == ["missed"]
    second = _start(api, bob, conversation)
    assert second["call_id"] != call_id
    assert (
        api.calls("POST", f"/conversations/{conversation}/calls", as_user=alice, body={"call_type": "voice"}).status
        == 409
    )
    # The new call ends through the routes like any other, and frees the conversation again.
    assert api.calls("POST", f"/calls/{second['call_id']}/end", as_user=bob).body["status"] == "missed"
    assert _start(api, alice, conversation)["caller_id"] == alice.user_id


def test_ride_actions_ignore_a_call_settled_by_a_disconnect(api: Api) -> None:
    dispatch = api.user(permissions=("bookings:write",))
    driver, passenger = api.user(), api.user()
    body = {"booking_code": "R-7", "driver_id": driver.user_id, "passenger_id": passenger.user_id}
    assert api.rides("POST", "/api/v1/bookings", as_user=dispatch, body=body).status == 201
    started = api.rides(
        "POST",
        "/api/v1/make_call",
        as_user=driver,
        body={"booking_code": "R-7", "action": "initiate", "caller": "driver"},
    )
    _settle_by_disconnect(api, started.body["call_id"], driver, RealtimeCallStatus.MISSED)
    accept = api.rides(
        "POST",
        "/api/v1/make_call",
        as_user=passenger,
        body={"booking_code": "R-7", "action": "accept", "caller": "passenger"},
    )
    assert accept.status == 409
    assert accept.body == {"error": "there is no call in progress to accept"}
    again = api.rides(
        "POST",
        "/api/v1/make_call",
        as_user=passenger,
        body={"booking_code": "R-7", "action": "initiate", "caller": "passenger"},
    )
    assert again.status == 201


def test_a_client_message_id_used_over_the_websocket_is_honoured_over_http(api: Api) -> None:
    alice, bob = api.user(), api.user()
    created = api.conversation(alice, bob)
    conversation = RealtimeConversation(
        conversation_id=created["conversation_id"], tenant_id=alice.tenant, participant_ids=(alice.user_id, bob.user_id)
    )
    writer = _socket_writer(api)
    draft = MessageDraft(
        conversation_id=created["conversation_id"],
        sender_id=alice.user_id,
        tenant_id=alice.tenant,
        content="sent over the socket",
        client_message_id="ws-1",
    )
    first = writer.write(draft, conversation, now_ms=1_900_000_000_000)
    retry = api.message(alice, created["conversation_id"], "retried over http", client_message_id="ws-1")
    assert retry.status == 200
    assert retry.body["message_id"] == first.message_id
    assert retry.body["content"] == "sent over the socket"
    assert retry.body["client_message_id"] == "ws-1"


def test_a_client_message_id_used_over_http_is_honoured_over_the_websocket(api: Api) -> None:
    alice, bob = api.user(), api.user()
    created = api.conversation(alice, bob)
    sent = api.message(alice, created["conversation_id"], "sent over http", client_message_id="h-1")
    assert sent.status == 201
    assert sent.body["client_message_id"] == "h-1"
    conversation = RealtimeConversation(
        conversation_id=created["conversation_id"], tenant_id=alice.tenant, participant_ids=(alice.user_id, bob.user_id)
    )
    draft = MessageDraft(
        conversation_id=created["conversation_id"],
        sender_id=alice.user_id,
        tenant_id=alice.tenant,
        content="retried over the socket",
        client_message_id="h-1",
    )
    again = _socket_writer(api).write(draft, conversation, now_ms=1_900_000_000_000)
    assert again.message_id == sent.body["message_id"]
    assert again.content == "sent over http"
    # Both sides list the same history: one message.
    items = api.chat("GET", f"/conversations/{created['conversation_id']}/messages", as_user=bob).body["items"]
    assert [m["message_id"] for m in items] == [sent.body["message_id"]]


def test_two_starts_over_the_same_finished_call_ring_once(api: Api) -> None:
    alice, bob = api.user(), api.user()
    conversation_id = api.conversation(alice, bob)["conversation_id"]
    call_id = _start(api, alice, conversation_id)["call_id"]
    _settle_by_disconnect(api, call_id, alice, RealtimeCallStatus.MISSED)
    service = calls_handler.call_service()
    # Both read the conversation naming the finished call, then both start.
    snapshot = service.chat.store.get_conversation(conversation_id)
    assert snapshot is not None
    assert snapshot.active_call_id == call_id
    service.start_in(snapshot, alice.user_id, "voice")
    before = api.table_items()
    with pytest.raises(ConflictError):
        service.start_in(snapshot, bob.user_id, "video")
    assert api.table_items() == before
