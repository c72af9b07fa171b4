"""`$default`: every action, answered with a frame; anything wrong is an `error` frame and the socket stays."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime.realtime import clients
from runtime.realtime.frames import MAX_FRAME_BYTES
from runtime.realtime.models import CallStatus
from tests.runtime.realtime.conftest import RecordingConnections, World


def _messages(world: World, conversation_id: str) -> list[dict[str, Any]]:
    response = world.dynamodb.query(
        TableName=world.chat_table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :msg)",
        ExpressionAttributeValues={":pk": {"S": f"CONV#{conversation_id}"}, ":msg": {"S": "MSG#"}},
    )
    return response["Items"]


def test_ping_answers_pong(world: World, sockets: RecordingConnections) -> None:
    connection_id = world.connected("alice")

    reply = world.send(connection_id, {"action": "ping", "request_id": "r1"})

    assert reply["action"] == "pong"
    assert reply["request_id"] == "r1"
    assert isinstance(reply["timestamp"], int)


def test_send_message_persists_it_and_acks_the_sender(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    connection_id = world.connected("alice")

    reply = world.send(
        connection_id,
        {"action": "sendMessage", "conversation_id": conversation_id, "content": "hi bob", "client_message_id": "c-1"},
    )

    assert reply["action"] == "ack"
    assert reply["for"] == "sendMessage"
    assert reply["client_message_id"] == "c-1"
    message = reply["message"]
    assert message["conversation_id"] == conversation_id
    assert (message["sender_id"], message["type"], message["content"]) == ("alice", "text", "hi bob")
    assert "tenant_id" not in message
    stored = _messages(world, conversation_id)
    assert len(stored) == 1
    assert stored[0]["message_id"]["S"] == message["message_id"]
    assert stored[0]["type_pk"]["S"] == f"CONV#{conversation_id}#TYPE#text"
    # Both memberships moved to the top of their owners' conversation lists.
    for user in ("alice", "bob"):
        membership = world.get(world.chat_table, f"USER#{user}", f"CONV#{conversation_id}")
        assert membership is not None
        assert membership["activity_sk"].startswith(f"{message['created_at_ms']:013d}")


def test_send_message_reads_the_conversation_once(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    connection_id = world.connected("alice")
    reads: list[str] = []
    clients.dynamodb().meta.events.register(
        "provide-client-params.dynamodb.GetItem",
        lambda params, **_: reads.append(params["Key"]["pk"]["S"]),
    )

    reply = world.send(connection_id, {"action": "sendMessage", "conversation_id": conversation_id, "content": "x"})

    assert reply["action"] == "ack"
    assert reads == [f"CONN#{connection_id}", f"CONV#{conversation_id}"]  # the socket, then the conversation once


def test_repeated_client_message_id_returns_the_first_message(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    connection_id = world.connected("alice")
    frame = {"action": "sendMessage", "conversation_id": conversation_id, "content": "once", "client_message_id": "c-9"}

    first = world.send(connection_id, frame)
    second = world.send(connection_id, {**frame, "content": "twice?"})

    assert second["message"] == first["message"]
    assert len(_messages(world, conversation_id)) == 1


def test_message_to_a_conversation_of_another_tenant_is_refused(world: World, sockets: RecordingConnections) -> None:
    # Given a conversation of tenant-b that (by id) even lists the intruder as a participant
    conversation_id = world.conversation(["mallory", "bob"], tenant_id="tenant-b")
    connection_id = world.connected("mallory", "tenant-a")

    reply = world.send(connection_id, {"action": "sendMessage", "conversation_id": conversation_id, "content": "x"})

    assert reply == {"action": "error", "error": "conversation not found"}
    assert _messages(world, conversation_id) == []


def test_message_to_a_conversation_the_user_is_not_in_is_refused(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    connection_id = world.connected("eve")

    reply = world.send(connection_id, {"action": "sendMessage", "conversation_id": conversation_id, "content": "x"})

    assert reply["error"] == "conversation not found"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("not json", "frame is not valid JSON"),
        ("[1, 2]", "frame must be a JSON object with an action"),
        ('{"action": "dance"}', "unknown action 'dance'"),
        ('{"content": "no action"}', "expected action"),
        ('{"action": "sendMessage", "conversation_id": "c"}', "content"),
        ('{"action": "sendMessage", "conversation_id": "c", "content": ""}', "content"),
        ('{"action": "sendMessage", "conversation_id": "c", "content": 5}', "content"),
        ('{"action": "subscribe", "conversation_id": "c", "extra": 1}', "extra"),
        ('{"action": "signal", "call_id": "c", "signal_type": "bye", "payload": {}}', "signal_type"),
    ],
)
def test_malformed_frames_get_an_error_frame(
    world: World, sockets: RecordingConnections, raw: str, expected: str
) -> None:
    connection_id = world.connected("alice")

    reply = world.send(connection_id, raw=raw)

    assert reply["action"] == "error"
    assert expected in reply["error"]
    # The connection stays usable.
    assert world.send(connection_id, {"action": "ping"})["action"] == "pong"


def test_oversize_frame_gets_an_error_frame(world: World, sockets: RecordingConnections) -> None:
    connection_id = world.connected("alice")
    frame = {"action": "sendMessage", "conversation_id": "c", "content": "x" * MAX_FRAME_BYTES}

    reply = world.send(connection_id, raw=json.dumps(frame))

    assert reply["action"] == "error"
    assert "too large" in reply["error"]


def test_frame_from_an_unknown_connection_is_an_error(world: World, sockets: RecordingConnections) -> None:
    reply = world.send("Zm9yZ290dGVuPQ==", {"action": "subscribe", "conversation_id": "c-1", "request_id": "r"})

    assert reply["action"] == "error"
    assert "reconnect" in reply["error"]
    assert reply["request_id"] == "r"


def test_subscribe_and_unsubscribe(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    connection_id = world.connected("alice")

    reply = world.send(connection_id, {"action": "subscribe", "conversation_id": conversation_id})

    assert reply == {"action": "ack", "for": "subscribe", "conversation_id": conversation_id}
    sub = world.get(world.connections_table, f"CONN#{connection_id}", f"SUB#{conversation_id}")
    assert sub is not None
    assert sub["sub_conversation_id"] == conversation_id
    assert "user_id" not in sub  # never in ConnectionsByUser

    reply = world.send(connection_id, {"action": "unsubscribe", "conversation_id": conversation_id})

    assert reply == {"action": "ack", "for": "unsubscribe", "conversation_id": conversation_id}
    assert world.get(world.connections_table, f"CONN#{connection_id}", f"SUB#{conversation_id}") is None


def test_subscribe_to_another_tenants_conversation_is_refused(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["mallory"], tenant_id="tenant-b")
    connection_id = world.connected("mallory", "tenant-a")

    reply = world.send(connection_id, {"action": "subscribe", "conversation_id": conversation_id})

    assert reply["error"] == "conversation not found"
    assert world.get(world.connections_table, f"CONN#{connection_id}", f"SUB#{conversation_id}") is None


def test_qr_page_connection_may_only_ping(world: World, sockets: RecordingConnections) -> None:
    connection_id, _ = world.connect(sessionId=world.session())

    assert world.send(connection_id, {"action": "ping"})["action"] == "pong"
    reply = world.send(connection_id, {"action": "subscribe", "conversation_id": "c"})
    assert reply["action"] == "error"


def test_signal_reaches_the_other_participants_only(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "bob", "carol"])
    call_id = world.call(conversation_id, "alice")
    alice, alice_phone = world.connected("alice"), world.connected("alice")
    bob, carol = world.connected("bob"), world.connected("carol")
    outsider = world.connected("dave")
    offer = {"type": "offer", "sdp": "v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\n"}

    reply = world.send(alice, {"action": "signal", "call_id": call_id, "signal_type": "offer", "payload": offer})

    assert reply == {"action": "ack", "for": "signal", "call_id": call_id, "delivered": 2}
    for receiver in (bob, carol):
        assert sockets.received(receiver) == [
            {"action": "signal", "call_id": call_id, "signal_type": "offer", "payload": offer, "from_user_id": "alice"}
        ]
    for other in (alice, alice_phone, outsider):
        assert sockets.received(other) == []


def test_signal_in_a_connected_call_goes_to_whoever_answered(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "bob", "carol"])
    call_id = world.call(conversation_id, "alice", status=CallStatus.CONNECTED, accepted_by="bob")
    bob, carol = world.connected("bob"), world.connected("carol")

    reply = world.send(bob, {"action": "signal", "call_id": call_id, "signal_type": "ice", "payload": "candidate:1"})
    assert reply["delivered"] == 0  # alice has no socket open
    reply = world.send(carol, {"action": "signal", "call_id": call_id, "signal_type": "ice", "payload": "candidate:2"})
    assert reply["action"] == "error"
    assert sockets.received(bob) == []


def test_signal_for_another_tenants_call_is_refused(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "mallory"], tenant_id="tenant-b")
    call_id = world.call(conversation_id, "alice", tenant_id="tenant-b")
    alice = world.connected("alice", "tenant-b")
    mallory = world.connected("mallory", "tenant-a")

    reply = world.send(mallory, {"action": "signal", "call_id": call_id, "signal_type": "offer", "payload": {}})

    assert reply == {"action": "error", "error": "call not found"}
    assert sockets.received(alice) == []


def test_signal_for_an_ended_call_is_refused(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    call_id = world.call(conversation_id, "alice", status=CallStatus.ENDED, markers=False)
    alice = world.connected("alice")

    reply = world.send(alice, {"action": "signal", "call_id": call_id, "signal_type": "answer", "payload": {}})

    assert reply["action"] == "error"
    assert "ended" in reply["error"]


def test_signal_to_a_gone_socket_removes_it(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    call_id = world.call(conversation_id, "alice")
    alice, bob_old, bob_new = world.connected("alice"), world.connected("bob"), world.connected("bob")
    sockets.gone.add(bob_old)

    reply = world.send(alice, {"action": "signal", "call_id": call_id, "signal_type": "offer", "payload": {}})

    assert reply["delivered"] == 1
    assert len(sockets.received(bob_new)) == 1
    assert world.get(world.connections_table, f"CONN#{bob_old}", "META") is None
