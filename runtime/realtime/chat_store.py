"""Reads of the chat table the realtime side needs, and the one call transition it makes itself.

Reads: a conversation's participants (``GetItem CONV#{id}/META``, or one ``BatchGetItem`` for
the conversations of a stream batch), a call (``GetItem CALL#{id}/CALL``) and the live calls a
user is in (``Query USER#{id}``, ``begins_with(sk, "ACTIVECALL#")`` on the base table: no
index). The write: a call left hanging by a disconnect, settled in one transaction (conditional
on the status it was read in) together with its ``call`` message, the activity of every
membership and the release of the markers.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from runtime.chat.keys import (
    ACTIVE_CALL_PREFIX,
    CALL_SK,
    META,
    active_call_sk,
    activity_sk,
    call_pk,
    conversation_pk,
    user_pk,
)
from runtime.common.dynamo import error_code, from_item, raise_for_client_error, to_item, to_values
from runtime.common.names import Attr
from runtime.realtime.chat_items import call_from_item, conversation_from_item, message_item
from runtime.realtime.models import ActiveCallRef, Call, CallStatus, Conversation, Message

_BATCH_GET_LIMIT = 100
_BATCH_GET_ATTEMPTS = 4


def activity_update(table: str, user_id: str, conversation_id: str, at_ms: int) -> dict[str, Any]:
    """A transaction item moving the membership to the top of the user's conversation list."""
    return {
        "Update": {
            "TableName": table,
            "Key": to_item({Attr.PK: user_pk(user_id), Attr.SK: f"CONV#{conversation_id}"}),
            "UpdateExpression": "SET activity_sk = :a, last_activity_ms = :ms",
            "ExpressionAttributeValues": to_values({":a": activity_sk(at_ms, conversation_id), ":ms": at_ms}),
        }
    }


def cancellation_codes(error: ClientError) -> list[str]:
    """Per-item reasons of a cancelled transaction, in the order the items were sent."""
    reasons = error.response.get("CancellationReasons") or []
    return [str(reason.get("Code") or "None") for reason in reasons]


class ChatReader:
    """GetItem / Query access to conversations and calls; the client is passed in."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def conversation(self, conversation_id: str) -> Conversation | None:
        item = self._get(conversation_pk(conversation_id), META)
        return conversation_from_item(item) if item else None

    def conversations(self, conversation_ids: Iterable[str]) -> dict[str, Conversation | None]:
        """Many conversations in one ``BatchGetItem`` per 100 (consistent, like ``conversation``).

        Answers None for a conversation that does not exist; leaves out any the service did not
        process after a few tries (the caller reads those one by one).
        """
        found: dict[str, Conversation | None] = {}
        wanted = list(dict.fromkeys(conversation_ids))
        for start in range(0, len(wanted), _BATCH_GET_LIMIT):
            chunk = wanted[start : start + _BATCH_GET_LIMIT]
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [to_item({Attr.PK: conversation_pk(cid), Attr.SK: META}) for cid in chunk],
                    "ConsistentRead": True,
                }
            }
            for attempt in range(_BATCH_GET_ATTEMPTS):
                if attempt:
                    time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not crypto
                try:
                    response = self._client.batch_get_item(RequestItems=request)
                except ClientError as error:
                    raise_for_client_error(error)
                for raw in response.get("Responses", {}).get(self._table, []):
                    item = from_item(raw) or {}
                    found[str(item[Attr.PK]).removeprefix("CONV#")] = conversation_from_item(item)
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            unprocessed = {
                str((from_item(key) or {}).get(Attr.PK, "")).removeprefix("CONV#")
                for key in (request.get(self._table) or {}).get("Keys", [])
            }
            for cid in chunk:
                if cid not in found and cid not in unprocessed:
                    found[cid] = None
        return found

    def call(self, call_id: str) -> Call | None:
        item = self._get(call_pk(call_id), CALL_SK)
        return call_from_item(item) if item else None

    def active_calls_of(self, user_id: str) -> list[ActiveCallRef]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ExpressionAttributeNames": {"#pk": Attr.PK, "#sk": Attr.SK},
            "ExpressionAttributeValues": to_values({":pk": user_pk(user_id), ":prefix": ACTIVE_CALL_PREFIX}),
            "ConsistentRead": True,
        }
        refs: list[ActiveCallRef] = []
        while True:
            try:
                response = self._client.query(**request)
            except ClientError as error:
                raise_for_client_error(error)
            for raw in response.get("Items", []):
                item = from_item(raw) or {}
                refs.append(ActiveCallRef(user_id=user_id, call_id=str(item["call_id"])))
            if not response.get("LastEvaluatedKey"):
                return refs
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def release_marker(self, user_id: str, call_id: str) -> None:
        """Drop a marker that points at a call which is no longer live (a writer left it behind)."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=to_item({Attr.PK: user_pk(user_id), Attr.SK: active_call_sk(call_id)}),
            )
        except ClientError as error:
            raise_for_client_error(error)

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        try:
            response = self._client.get_item(
                TableName=self._table, Key=to_item({Attr.PK: pk, Attr.SK: sk}), ConsistentRead=True
            )
        except ClientError as error:
            raise_for_client_error(error)
        return from_item(response.get("Item"))


class CallSettler:
    """Ends a call from the status it was read in, or does nothing if someone else got there first."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def settle(
        self,
        call: Call,
        *,
        to: CallStatus,
        by_user: str,
        now_ms: int,
        duration_seconds: int | None,
        message: Message,
        conversation: Conversation,
    ) -> bool:
        """True when this transition won; False when the call had already moved on."""
        now = now_ms // 1000
        values: dict[str, Any] = {
            ":to": to.value,
            ":from": call.status.value,
            ":now": now,
            ":now_ms": now_ms,
            ":by": by_user,
            ":reason": "disconnected",
        }
        update = "SET #s = :to, ended_at = :now, ended_at_ms = :now_ms, updated_at_ms = :now_ms, "
        update += "ended_by = :by, end_reason = :reason"
        if duration_seconds is not None:
            update += ", duration_seconds = :d"
            values[":d"] = duration_seconds
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": to_item({Attr.PK: call_pk(call.call_id), Attr.SK: CALL_SK}),
                    "UpdateExpression": update,
                    "ConditionExpression": "#s = :from",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": to_values(values),
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(message_item(message)),
                    "ConditionExpression": "attribute_not_exists(#pk)",
                    "ExpressionAttributeNames": {"#pk": Attr.PK},
                }
            },
        ]
        for user_id in {call.caller_id, call.accepted_by} - {None}:
            items.append(
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": to_item({Attr.PK: user_pk(str(user_id)), Attr.SK: active_call_sk(call.call_id)}),
                    }
                }
            )
        items += [
            activity_update(self._table, participant, conversation.conversation_id, now_ms)
            for participant in conversation.participant_ids
        ]
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException" and cancellation_codes(error)[:1] == [
                "ConditionalCheckFailed"
            ]:
                return False
            raise_for_client_error(error)
        return True
