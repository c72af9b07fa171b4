"""The stream processor: the one delivery path from chat-table writes to sockets, fed real stream records."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from runtime.chat.keys import message_sk
from runtime.realtime import clients
from runtime.realtime.models import CallStatus
from tests.runtime.realtime.conftest import RecordingConnections, World, emitted_metrics


def _message(world: World, conversation_id: str, sender: str, content: str, **extra: Any) -> str:
    """A message item as `POST /conversations/{id}/messages` writes it (docs/data-model.md)."""
    message_id = str(uuid.uuid4())
    created = int(time.time() * 1000)
    item = {
        "pk": f"CONV#{conversation_id}",
        "sk": message_sk(created, message_id),
        "type_pk": f"CONV#{conversation_id}#TYPE#text",
        "message_id": message_id,
        "conversation_id": conversation_id,
        "sender_id": sender,
        "type": "text",
        "content": content,
        "created_at_ms": created,
        "tenant_id": "tenant-a",
        **extra,
    }
    world.put(world.chat_table, {k: v for k, v in item.items() if v is not None})
    return message_id


def _failed(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def test_a_message_written_over_http_reaches_every_socket_of_every_participant(
    world: World, sockets: RecordingConnections, capsys: pytest.CaptureFixture[str]
) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    alice_laptop, alice_phone, bob = world.connected("alice"), world.connected("alice"), world.connected("bob")
    outsider = world.connected("eve")
    world.stream_records()
    message_id = _message(world, conversation_id, "alice", "hello")
    capsys.readouterr()

    response = world.process()

    assert response == {"batchItemFailures": []}
    for connection_id in (alice_laptop, alice_phone, bob):
        [frame] = sockets.received(connection_id)
        assert frame["action"] == "message"
        assert frame["message"]["message_id"] == message_id
        assert frame["message"]["content"] == "hello"
        assert "pk" not in frame["message"]
        assert "tenant_id" not in frame["message"]
    assert sockets.received(outsider) == []
    assert emitted_metrics(capsys.readouterr().out)["MessagesDelivered"] == 3


def test_a_message_sent_over_websocket_takes_the_same_path(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    alice, bob = world.connected("alice"), world.connected("bob")
    world.stream_records()
    ack = world.send(alice, {"action": "sendMessage", "conversation_id": conversation_id, "content": "via ws"})
    assert sockets.received(bob) == []  # nothing is pushed by the router itself

    world.process()

    for connection_id in (alice, bob):
        [frame] = sockets.received(connection_id, "message")
        assert frame["message"] == ack["message"]


def test_messages_arrive_in_the_order_they_were_written(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    bob = world.connected("bob")
    world.stream_records()
    for n in range(5):
        _message(world, conversation_id, "alice", f"m{n}")

    world.process()

    assert [f["message"]["content"] for f in sockets.received(bob)] == ["m0", "m1", "m2", "m3", "m4"]


def test_a_batch_reads_its_conversations_in_one_call(world: World, sockets: RecordingConnections) -> None:
    conversations = [world.conversation(["alice", f"user-{n}"]) for n in range(4)]
    missing = str(uuid.uuid4())  # a message whose conversation does not exist: poison, as before
    alice = world.connected("alice")
    world.stream_records()
    for n, conversation_id in enumerate([*conversations, missing, conversations[0]]):
        _message(world, conversation_id, "alice", f"m{n}")
    records = world.stream_records()
    calls: list[str] = []
    clients.dynamodb().meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))

    response = world.process(records)

    assert _failed(response) == [records[4]["dynamodb"]["SequenceNumber"]]
    assert [f["message"]["content"] for f in sockets.received(alice)] == ["m0", "m1", "m2", "m3", "m5"]
    assert calls.count("BatchGetItem") == 1
    assert "GetItem" not in calls


def test_conversations_are_read_one_by_one_when_the_batched_read_fails(
    world: World, sockets: RecordingConnections, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runtime.realtime.chat_store import ChatReader

    def unavailable(self: ChatReader, conversation_ids: Any) -> Any:
        raise RuntimeError("BatchGetItem unavailable")

    monkeypatch.setattr(ChatReader, "conversations", unavailable)
    conversation_id = world.conversation(["alice", "bob"])
    bob = world.connected("bob")
    world.stream_records()
    _message(world, conversation_id, "alice", "still delivered")

    assert world.process() == {"batchItemFailures": []}
    assert [f["message"]["content"] for f in sockets.received(bob)] == ["still delivered"]


def test_a_poison_record_is_reported_and_the_rest_delivered(world: World, sockets: RecordingConnections) -> None:
    first, second = world.conversation(["alice", "bob"]), world.conversation(["bob", "carol"])
    bob = world.connected("bob")
    world.stream_records()
    _message(world, first, "alice", "before")
    # A message item some buggy writer put without a sender and with a non-numeric timestamp.
    world.put(
        world.chat_table,
        {"pk": f"CONV#{second}", "sk": "MSG#0000000000001#bad", "conversation_id": second, "content": "?"},
    )
    _message(world, first, "alice", "after")
    records = world.stream_records()
    poison = records[1]["dynamodb"]["SequenceNumber"]

    response = world.process(records)

    assert _failed(response) == [poison]
    assert [f["message"]["content"] for f in sockets.received(bob)] == ["before", "after"]


def test_a_record_without_keys_is_poison_too(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    bob = world.connected("bob")
    world.stream_records()
    _message(world, conversation_id, "alice", "ok")
    [good] = world.stream_records()
    broken = {**good, "eventID": "x", "dynamodb": {"SequenceNumber": "1", "StreamViewType": "NEW_AND_OLD_IMAGES"}}

    response = world.process([broken, good])

    assert _failed(response) == ["1"]
    assert len(sockets.received(bob)) == 1


def test_a_gone_connection_is_removed_and_the_others_still_get_the_message(
    world: World, sockets: RecordingConnections, capsys: pytest.CaptureFixture[str]
) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    dead, alive, bob = world.connected("alice"), world.connected("alice"), world.connected("bob")
    world.send(dead, {"action": "subscribe", "conversation_id": conversation_id})
    sockets.gone.add(dead)
    world.stream_records()
    _message(world, conversation_id, "bob", "still there?")
    capsys.readouterr()

    response = world.process()

    assert response == {"batchItemFailures": []}
    assert len(sockets.received(alive)) == 1
    assert len(sockets.received(bob)) == 1
    assert world.get(world.connections_table, f"CONN#{dead}", "META") is None
    assert world.get(world.connections_table, f"CONN#{dead}", f"SUB#{conversation_id}") is None
    assert emitted_metrics(capsys.readouterr().out)["StaleConnectionsRemoved"] == 1


def test_throttled_posts_are_retried(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    bob = world.connected("bob")
    sockets.throttle_first[bob] = 2
    world.stream_records()
    _message(world, conversation_id, "alice", "eventually")

    assert world.process() == {"batchItemFailures": []}
    assert len(sockets.received(bob)) == 1


def test_an_unreachable_socket_fails_its_record_and_holds_back_that_conversation_only(
    world: World, sockets: RecordingConnections
) -> None:
    stuck, flowing = world.conversation(["alice", "bob"]), world.conversation(["carol", "dave"])
    bob, dave = world.connected("bob"), world.connected("dave")
    sockets.always_throttled.add(bob)
    world.stream_records()
    _message(world, stuck, "alice", "s1")
    _message(world, flowing, "carol", "f1")
    _message(world, stuck, "alice", "s2")
    _message(world, flowing, "carol", "f2")
    records = world.stream_records()
    attempts_before = sockets.calls

    response = world.process(records)

    # s1 failed after retries; s2 is failed unsent so a retry delivers s1 before s2.
    assert _failed(response) == [records[0]["dynamodb"]["SequenceNumber"], records[2]["dynamodb"]["SequenceNumber"]]
    assert [f["message"]["content"] for f in sockets.received(dave)] == ["f1", "f2"]
    posts_to_bob = sockets.calls - attempts_before - 2
    assert 1 < posts_to_bob <= 4  # bounded retries for s1, none for s2


def test_a_socket_of_another_tenant_is_never_addressed(world: World, sockets: RecordingConnections) -> None:
    # Given "bob" exists in two tenants (ids are only unique with their tenant in this test)
    conversation_id = world.conversation(["alice", "bob"], tenant_id="tenant-a")
    bob_a, bob_b = world.connected("bob", "tenant-a"), world.connected("bob", "tenant-b")
    world.stream_records()
    _message(world, conversation_id, "alice", "for tenant-a only")

    world.process()

    assert len(sockets.received(bob_a)) == 1
    assert sockets.received(bob_b) == []


def test_a_message_naming_another_tenant_than_its_conversation_is_refused(
    world: World, sockets: RecordingConnections
) -> None:
    conversation_id = world.conversation(["alice", "bob"], tenant_id="tenant-a")
    bob = world.connected("bob", "tenant-a")
    world.stream_records()
    _message(world, conversation_id, "alice", "smuggled", tenant_id="tenant-b")
    [record] = world.stream_records()

    response = world.process([record])

    assert _failed(response) == [record["dynamodb"]["SequenceNumber"]]
    assert sockets.received(bob) == []


def test_a_subscribed_socket_gets_each_frame_once(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    bob = world.connected("bob")
    world.send(bob, {"action": "subscribe", "conversation_id": conversation_id})
    world.stream_records()
    _message(world, conversation_id, "alice", "once")

    world.process()

    assert len(sockets.received(bob)) == 1


def test_call_transitions_become_call_frames(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    bob = world.connected("bob")
    world.stream_records()
    call_id = world.call(conversation_id, "alice")
    key = {"pk": {"S": f"CALL#{call_id}"}, "sk": {"S": "CALL"}}
    world.dynamodb.update_item(
        TableName=world.chat_table,
        Key=key,
        UpdateExpression="SET #s = :c, connected_at_ms = :t, accepted_by = :b",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":c": {"S": "connected"}, ":t": {"N": "1"}, ":b": {"S": "bob"}},
    )
    # A change that is not a transition is not pushed again.
    world.dynamodb.update_item(
        TableName=world.chat_table,
        Key=key,
        UpdateExpression="SET note = :n",
        ExpressionAttributeValues={":n": {"S": "x"}},
    )

    assert world.process() == {"batchItemFailures": []}

    frames = sockets.received(bob)
    assert [f["action"] for f in frames] == ["call", "call"]
    assert [f["call"]["status"] for f in frames] == [CallStatus.RINGING, CallStatus.CONNECTED]
    assert frames[0]["call"]["call_id"] == call_id
    assert "call_conversation_pk" not in frames[0]["call"]
    assert "tenant_id" not in frames[0]["call"]


def test_other_items_on_the_stream_are_ignored(world: World, sockets: RecordingConnections) -> None:
    world.conversation(["alice", "bob"])
    bob = world.connected("bob")
    records = world.stream_records()  # conversation META and memberships

    assert world.process(records) == {"batchItemFailures": []}
    assert sockets.received(bob) == []
    assert records


def test_delivery_through_the_real_management_client(world: World) -> None:
    # moto's @connections API behind the client the function builds from WEBSOCKET_ENDPOINT.
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

    clients.reset()
    conversation_id = world.conversation(["alice", "bob"])
    bob = world.connected("bob")
    world.stream_records()
    _message(world, conversation_id, "alice", "through moto")

    assert world.process() == {"batchItemFailures": []}

    backend = apigatewaymanagementapi_backends["123456789012"]["us-east-1"]
    # moto keys connections by the id as it appears in the (percent-encoded) request path.
    assert b"through moto" in backend.connections[quote(bob, safe="")].data
