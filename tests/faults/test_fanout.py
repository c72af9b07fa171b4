"""Faults during realtime fan-out: the stream processor throttled, killed mid-batch, fed repeats.

Lambda's stream semantics are played exactly: with ``ReportBatchItemFailures`` the batch is
retried from the first failed record (everything after it comes again, delivered or not); an
invocation that dies (timeout, crash) reports nothing and the whole batch comes again. Delivery
is therefore at least once: a record retried reaches again the sockets that already had it, and
clients de-duplicate ``message`` frames by ``message_id``. What must never happen is a message
that reaches no socket, a message stored twice, or frames of one conversation overtaking each
other on a socket (counting first arrivals).
"""

from __future__ import annotations

from typing import Any

import pytest

from runtime.realtime import clients
from tests.faults.test_chat_send import stored_messages
from tests.runtime.realtime.conftest import World
from tests.support.faults import FaultInjector, table
from tests.support.sockets import RecordingConnections


class Killed(BaseException):
    """The invocation dies (timeout, out of memory): no batch response at all."""


class DyingConnections(RecordingConnections):
    """API Gateway's stand-in, whose caller is killed at its ``die_at``-th post."""

    die_at: int = 0

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> dict[str, Any]:
        if self.die_at and self.calls + 1 >= self.die_at:
            self.die_at = 0
            raise Killed
        return super().post_to_connection(ConnectionId=ConnectionId, Data=Data)


def message_records(world: World) -> list[dict[str, Any]]:
    """The records the event source mapping's filter lets through (message inserts)."""
    return [
        r
        for r in world.stream_records()
        if r["eventName"] == "INSERT" and r["dynamodb"]["Keys"]["sk"]["S"].startswith("MSG#")
    ]


def deliver_like_lambda(world: World, records: list[dict[str, Any]], attempts: int = 5) -> list[dict[str, Any]]:
    """Invoke the processor until the batch succeeds, retrying from the first failed record; the responses."""
    responses = []
    pending = records
    for _ in range(attempts):
        response = world.process(pending)
        responses.append(response)
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        if not failed:
            return responses
        first = min(i for i, r in enumerate(pending) if r["dynamodb"]["SequenceNumber"] in failed)
        pending = pending[first:]
    raise AssertionError(f"still failing after {attempts} attempts: {responses[-1]}")


def first_arrivals(sockets: RecordingConnections, connection_id: str) -> list[str]:
    """Message ids in the order a de-duplicating client shows them."""
    return list(dict.fromkeys(f["message"]["message_id"] for f in sockets.received(connection_id, "message")))


@pytest.fixture
def two_conversations(world: World, sockets: RecordingConnections) -> dict[str, Any]:
    """Conversation A (alice, bob) and B (carol, dave), one socket each, and four messages A1 B1 A2 B2."""
    a = world.conversation(["alice", "bob"])
    b = world.conversation(["carol", "dave"])
    socket = {user: world.connected(user) for user in ("alice", "bob", "carol", "dave")}
    sent: dict[str, list[str]] = {a: [], b: []}
    for label, conversation, sender in (("A1", a, "alice"), ("B1", b, "carol"), ("A2", a, "bob"), ("B2", b, "dave")):
        frame = {"action": "sendMessage", "conversation_id": conversation, "content": label, "client_message_id": label}
        sent[conversation].append(world.send(socket[sender], frame)["message"]["message_id"])
    return {"a": a, "b": b, "socket": socket, "sent": sent, "records": message_records(world)}


def assert_every_message_reached_every_socket_in_order(
    world: World, sockets: RecordingConnections, setup: dict[str, Any]
) -> None:
    members = {setup["a"]: ("alice", "bob"), setup["b"]: ("carol", "dave")}
    for conversation, users in members.items():
        for user in users:
            assert first_arrivals(sockets, setup["socket"][user]) == setup["sent"][conversation], user
    # The processor only reads: the store still holds each message once.
    for conversation, ids in setup["sent"].items():
        assert sorted(
            m["message_id"] for m in stored_messages(world.dynamodb, world.chat_table, conversation)
        ) == sorted(ids)


def test_throttled_connection_lookup_fails_its_conversation_and_the_retry_delivers(
    world: World, sockets: RecordingConnections, faults: FaultInjector, two_conversations: dict[str, Any]
) -> None:
    records = two_conversations["records"]
    faults.fail("dynamodb", "Query", calls=(1,), when=table(world.connections_table))

    first = world.process(records)

    # A1 failed (its recipients' lookup throttled), so A2 is held back; B's records went out.
    failed = [f["itemIdentifier"] for f in first["batchItemFailures"]]
    by_label = {r["dynamodb"]["NewImage"]["content"]["S"]: r["dynamodb"]["SequenceNumber"] for r in records}
    assert sorted(failed) == sorted([by_label["A1"], by_label["A2"]])
    assert sockets.received(two_conversations["socket"]["bob"], "message") == []
    deliver_like_lambda(world, records[[r["dynamodb"]["SequenceNumber"] for r in records].index(by_label["A1"]) :])
    assert_every_message_reached_every_socket_in_order(world, sockets, two_conversations)


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "InternalServerError"])
def test_throttled_conversation_read_is_reported_and_retried(
    world: World, sockets: RecordingConnections, faults: FaultInjector, two_conversations: dict[str, Any], code: str
) -> None:
    # The batch's one BatchGetItem fails, then the reads of each record on their own.
    faults.fail("dynamodb", "BatchGetItem", code, calls=(1,), when=table(world.chat_table))
    faults.fail("dynamodb", "GetItem", code, calls=(1, 2), when=table(world.chat_table))

    responses = deliver_like_lambda(world, two_conversations["records"])

    assert responses[0]["batchItemFailures"], "the failure is reported, so Lambda retries (then the DLQ)"
    assert_every_message_reached_every_socket_in_order(world, sockets, two_conversations)


def test_a_socket_throttled_past_the_gateway_retries_fails_the_record_until_it_clears(
    world: World, sockets: RecordingConnections, two_conversations: dict[str, Any]
) -> None:
    bob = two_conversations["socket"]["bob"]
    sockets.always_throttled.add(bob)
    records = two_conversations["records"]

    # Every attempt reports the record failed (after 3 retries Lambda parks it in DeliveryDlq).
    for _ in range(3):
        assert world.process(records)["batchItemFailures"]
    sockets.always_throttled.discard(bob)
    deliver_like_lambda(world, records)
    assert_every_message_reached_every_socket_in_order(world, sockets, two_conversations)


def test_processor_killed_mid_batch_redelivers_the_batch_at_least_once(
    world: World, monkeypatch: pytest.MonkeyPatch, two_conversations: dict[str, Any]
) -> None:
    # Given a gateway stand-in whose invocation dies at its third post (A1 and B1 partly delivered)
    dying = DyingConnections()
    dying.die_at = 3
    records = two_conversations["records"]
    with monkeypatch.context() as patch:
        patch.setattr(clients, "management_api", lambda endpoint_url: dying)
        with pytest.raises(Killed):
            world.process(records)
        delivered_before = dying.calls
        assert 0 < delivered_before < 8

        # When Lambda retries the whole batch (no response came back)
        deliver_like_lambda(world, records)

    # Then every socket has every message, in order; the frames sent before the crash came twice
    assert_every_message_reached_every_socket_in_order(world, dying, two_conversations)
    total = sum(len(dying.received(s, "message")) for s in two_conversations["socket"].values())
    assert total == 8 + delivered_before


def test_repeated_and_reordered_records_change_nothing_stored(
    world: World, sockets: RecordingConnections, two_conversations: dict[str, Any]
) -> None:
    records = two_conversations["records"]
    # A repeated batch and a shuffled one (records of different conversations interleave freely).
    a_records = [r for r in records if r["dynamodb"]["NewImage"]["conversation_id"]["S"] == two_conversations["a"]]
    b_records = [r for r in records if r not in a_records]
    for batch in (records, records, b_records + a_records):
        assert world.process(batch)["batchItemFailures"] == []
    assert_every_message_reached_every_socket_in_order(world, sockets, two_conversations)
    # Every socket saw every message 3 times: at least once, de-duplicated by message_id.
    assert len(sockets.received(two_conversations["socket"]["alice"], "message")) == 6


def test_a_conversation_delivered_out_of_order_still_reaches_everyone(
    world: World, sockets: RecordingConnections, two_conversations: dict[str, Any]
) -> None:
    # DynamoDB Streams keeps one partition's writes in order; should a batch arrive reversed, every
    # frame still goes out, and clients order their view by created_at_ms (docs/known-limits.md).
    records = two_conversations["records"]
    assert world.process(list(reversed(records)))["batchItemFailures"] == []
    for user, conversation in (("alice", "a"), ("dave", "b")):
        received = {f["message"]["message_id"] for f in sockets.received(two_conversations["socket"][user], "message")}
        assert received == set(two_conversations["sent"][two_conversations[conversation]])
