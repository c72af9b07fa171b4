"""DynamoDB throttling and 5xx while a message is sent, over HTTP and over WebSocket ``sendMessage``.

After every fault the client either got its message (stored once) or a retryable error with
nothing stored, and a retry with the same ``client_message_id`` ends with exactly one message.
A 5xx *after* the write committed (the answer lost) is the dangerous case: the repository's own
retry then fails its ``attribute_not_exists`` condition, which must read as success, not as a
conflict the client would answer by sending again.
"""

from __future__ import annotations

from typing import Any

import pytest

from runtime.chat.keys import MSG_PREFIX, conversation_pk
from runtime.common.dynamo import from_item, to_values
from tests.runtime.chat.conftest import Api
from tests.runtime.realtime.conftest import World
from tests.support.faults import FaultInjector, table

TRANSACT = "TransactWriteItems"


def stored_messages(dynamodb: Any, table_name: str, conversation_id: str) -> list[dict[str, Any]]:
    response = dynamodb.query(
        TableName=table_name,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :msg)",
        ExpressionAttributeValues=to_values({":pk": conversation_pk(conversation_id), ":msg": MSG_PREFIX}),
        ConsistentRead=True,
    )
    return [from_item(item) or {} for item in response["Items"]]


# --- HTTP: POST /conversations/{id}/messages ---------------------------------------------------


def test_http_send_throttled_past_its_retries_is_a_503_that_stores_nothing(api: Api, faults: FaultInjector) -> None:
    alice, bob = api.user(), api.user()
    conversation_id = api.conversation(alice, bob)["conversation_id"]
    faults.fail("dynamodb", TRANSACT, calls=(1, 2, 3, 4), when=table(api.chat_table))

    reply = api.message(alice, conversation_id, "hello", client_message_id="c-1")

    assert reply.status == 503
    assert set(reply.body) == {"error"}
    assert stored_messages(api.dynamodb, api.chat_table, conversation_id) == []
    # The client's retry (same client_message_id) stores the message once.
    retry = api.message(alice, conversation_id, "hello", client_message_id="c-1")
    assert retry.status == 201
    (stored,) = stored_messages(api.dynamodb, api.chat_table, conversation_id)
    assert stored["message_id"] == retry.body["message_id"]


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "ThrottlingException", "InternalServerError"]
)
def test_http_send_rides_out_a_short_throttle(api: Api, faults: FaultInjector, code: str) -> None:
    alice, bob = api.user(), api.user()
    conversation_id = api.conversation(alice, bob)["conversation_id"]
    faults.fail("dynamodb", TRANSACT, code, calls=(1, 2), when=table(api.chat_table))

    reply = api.message(alice, conversation_id, "hello")

    assert reply.status == 201, reply.body
    assert [m["message_id"] for m in stored_messages(api.dynamodb, api.chat_table, conversation_id)] == [
        reply.body["message_id"]
    ]


@pytest.mark.parametrize("client_message_id", [None, "c-lost-answer"])
def test_http_send_whose_answer_was_lost_after_the_commit_is_stored_once(
    api: Api, faults: FaultInjector, client_message_id: str | None
) -> None:
    alice, bob = api.user(), api.user()
    conversation_id = api.conversation(alice, bob)["conversation_id"]
    faults.fail("dynamodb", TRANSACT, "InternalServerError", calls=(1,), after=True, when=table(api.chat_table))
    extra = {"client_message_id": client_message_id} if client_message_id else {}

    reply = api.message(alice, conversation_id, "hello", **extra)

    # Not a 409 (which a client would "fix" by sending again) and not a second message.
    assert reply.status == 201, reply.body
    (stored,) = stored_messages(api.dynamodb, api.chat_table, conversation_id)
    assert stored["message_id"] == reply.body["message_id"]
    if client_message_id:
        again = api.message(alice, conversation_id, "hello", **extra)
        assert (again.status, again.body["message_id"]) == (200, reply.body["message_id"])
        assert len(stored_messages(api.dynamodb, api.chat_table, conversation_id)) == 1


def test_conversation_created_although_its_answer_was_lost_is_not_a_conflict(api: Api, faults: FaultInjector) -> None:
    alice, bob = api.user(), api.user()
    faults.fail("dynamodb", TRANSACT, "InternalServerError", calls=(1,), after=True, when=table(api.chat_table))

    reply = api.chat("POST", "/conversations", as_user=alice, body={"participant_ids": [bob.user_id]})

    assert reply.status == 201, reply.body
    listed = api.chat("GET", "/conversations", as_user=alice)
    assert [c["conversation_id"] for c in listed.body["items"]] == [reply.body["conversation_id"]]


# --- WebSocket: sendMessage --------------------------------------------------------------------


def send_frame(content: str, conversation_id: str, client_message_id: str) -> dict[str, Any]:
    return {
        "action": "sendMessage",
        "conversation_id": conversation_id,
        "content": content,
        "client_message_id": client_message_id,
    }


def test_ws_send_throttled_answers_an_error_frame_and_a_retry_stores_once(world: World, faults: FaultInjector) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    socket = world.connected("alice")
    faults.fail("dynamodb", TRANSACT, calls=(1, 2, 3, 4), when=table(world.chat_table))

    reply = world.send(socket, send_frame("hi", conversation_id, "c-1"))

    assert reply["action"] == "error"
    assert "retry" in reply["error"]
    assert stored_messages(world.dynamodb, world.chat_table, conversation_id) == []
    retry = world.send(socket, send_frame("hi", conversation_id, "c-1"))
    assert retry["action"] == "ack", retry
    (stored,) = stored_messages(world.dynamodb, world.chat_table, conversation_id)
    assert stored["message_id"] == retry["message"]["message_id"]


def test_ws_send_whose_answer_was_lost_after_the_commit_acks_the_one_message(
    world: World, faults: FaultInjector
) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    socket = world.connected("alice")
    faults.fail("dynamodb", TRANSACT, "InternalServerError", calls=(1,), after=True, when=table(world.chat_table))

    reply = world.send(socket, send_frame("hi", conversation_id, "c-2"))

    assert reply["action"] == "ack", reply
    (stored,) = stored_messages(world.dynamodb, world.chat_table, conversation_id)
    assert stored["message_id"] == reply["message"]["message_id"]
    again = world.send(socket, send_frame("hi", conversation_id, "c-2"))
    assert again["message"]["message_id"] == reply["message"]["message_id"]
    assert len(stored_messages(world.dynamodb, world.chat_table, conversation_id)) == 1


def test_ws_send_with_the_connection_lookup_throttled_stores_nothing(world: World, faults: FaultInjector) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    socket = world.connected("alice")
    faults.fail("dynamodb", "GetItem", calls=(1,), when=table(world.connections_table))

    reply = world.send(socket, send_frame("hi", conversation_id, "c-3"))

    assert reply["action"] == "error"
    assert stored_messages(world.dynamodb, world.chat_table, conversation_id) == []
