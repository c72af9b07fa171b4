"""The chat table (docs/data-model.md, "Chat table"): the one place that speaks DynamoDB for chat.

Calls and rides keep their own item formats but write through ``ChatRepository``'s builders,
transactions and paging, so every message, from any domain, is written the same way: the
message item plus every participant's membership activity, in one transaction.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

from runtime.chat.keys import (
    META,
    MSG_PREFIX,
    activity_sk,
    client_message_sk,
    conversation_pk,
    message_sk,
    type_pk,
    user_pk,
)
from runtime.chat.models import Conversation, ConversationSummary, Message, Page
from runtime.common.dynamo import THROTTLING_CODES, error_code, from_item, raise_for_client_error, to_item, to_values
from runtime.common.errors import BadRequestError, ConflictError, ThrottledError
from runtime.common.names import Attr, Index, IndexAttr
from runtime.common.pagination import decode_token, encode_token

TRANSACT_ATTEMPTS = 4
# Cancellation reasons that say "try again", not "your condition is false".
_RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
_RETRYABLE_ERRORS = THROTTLING_CODES | {"TransactionConflictException", "TransactionInProgressException"}

Write = dict[str, Any]


@cache
def default_client() -> Any:
    """One DynamoDB client per container, created on first use (never at import, never per request)."""
    return boto3.client("dynamodb")


class ConditionFailedError(ConflictError):
    """A transaction's condition was false; ``indexes`` says which of its writes failed."""

    def __init__(self, indexes: set[int], message: str = "conflicting update") -> None:
        super().__init__(message)
        self.indexes = indexes


class ChatRepository:
    """Conversations, memberships and messages; builders and transactions for calls and rides."""

    def __init__(self, table_name: str, client: Any | None = None, *, sleep: Any = time.sleep) -> None:
        self.table_name = table_name
        self._client = client if client is not None else default_client()
        self._sleep = sleep

    # ----- building blocks, shared with the calls and rides repositories

    def put(self, item: Mapping[str, Any], *, unless_exists: bool = False) -> Write:
        put: dict[str, Any] = {"TableName": self.table_name, "Item": to_item(dict(item))}
        if unless_exists:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        return {"Put": put}

    def update(
        self,
        key: tuple[str, str],
        expression: str,
        *,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
        condition: str | None = None,
    ) -> Write:
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": to_item({Attr.PK: key[0], Attr.SK: key[1]}),
            "UpdateExpression": expression,
        }
        if values:
            update["ExpressionAttributeValues"] = to_values(dict(values))
        if names:
            update["ExpressionAttributeNames"] = dict(names)
        if condition:
            update["ConditionExpression"] = condition
        return {"Update": update}

    def delete(self, key: tuple[str, str]) -> Write:
        return {"Delete": {"TableName": self.table_name, "Key": to_item({Attr.PK: key[0], Attr.SK: key[1]})}}

    def transact(self, writes: Sequence[Write]) -> None:
        """All or nothing. A false condition raises ``ConditionFailedError``; contention is retried.

        Two transactions touching the same item at once (two messages updating the same
        memberships) make DynamoDB cancel one with ``TransactionConflict``: that is no
        conflict in the caller's terms, so it is retried with jittered backoff and only
        reported (503) if it persists.
        """
        for attempt in range(TRANSACT_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=list(writes))
                return
            except ClientError as error:
                code = error_code(error)
                reasons = [str(r.get("Code", "")) for r in error.response.get("CancellationReasons") or []]
                failed = {i for i, reason in enumerate(reasons) if reason == "ConditionalCheckFailed"}
                if code == "TransactionCanceledException" and failed:
                    raise ConditionFailedError(failed) from error
                retryable = code in _RETRYABLE_ERRORS or (
                    code == "TransactionCanceledException" and any(r in _RETRYABLE_REASONS for r in reasons)
                )
                if not retryable:
                    raise_for_client_error(error)
                if attempt == TRANSACT_ATTEMPTS - 1:
                    raise ThrottledError("the service is busy, please retry") from error
                self._sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not crypto

    def get(self, pk: str, sk: str, *, consistent: bool = False) -> dict[str, Any] | None:
        try:
            response = self._client.get_item(
                TableName=self.table_name,
                Key=to_item({Attr.PK: pk, Attr.SK: sk}),
                ConsistentRead=consistent,
            )
        except ClientError as error:
            raise_for_client_error(error)
            raise
        return from_item(response.get("Item"))

    def query_page(
        self,
        *,
        key_condition: str,
        values: Mapping[str, Any],
        limit: int,
        next_token: str | None,
        token_fixed: Mapping[str, str],
        token_keys: Iterable[str],
        token_prefixes: Mapping[str, str] | None = None,
        index: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a Query, newest first, with ``next_token`` checked against this query.

        A token is only accepted if it holds exactly this query's key attributes and names the
        same partition: DynamoDB would refuse a start key from another partition with an
        error, and it must be the client's 400, not our 500. One item more than asked for is
        read, so the last page says so (``next_token`` null) instead of leading to an empty one.
        """
        keys = tuple(token_keys)
        start = decode_token(next_token, expected_keys=set(keys))
        if start is not None:
            wrong_partition = any(start.get(attr) != value for attr, value in token_fixed.items())
            wrong_prefix = any(
                not str(start.get(attr, "")).startswith(prefix) for attr, prefix in (token_prefixes or {}).items()
            )
            if wrong_partition or wrong_prefix:
                raise BadRequestError("next_token is not valid")
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": to_values(dict(values)),
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if index:
            request["IndexName"] = index
        if start is not None:
            request["ExclusiveStartKey"] = to_item(start)
        try:
            response = self._client.query(**request)
        except ClientError as error:
            raise_for_client_error(error)
            raise
        items = [from_item(item) or {} for item in response.get("Items", [])]
        if len(items) > limit:
            items = items[:limit]
            return items, encode_token({key: items[-1][key] for key in keys})
        # Fewer than asked for: the end, unless DynamoDB stopped early at its 1 MB page size.
        return items, encode_token(from_item(response.get("LastEvaluatedKey")))

    # ----- conversations

    def conversation_writes(self, conversation: Conversation, *, activity_ms: int) -> list[Write]:
        """The conversation item and one membership per participant, none of which may exist yet."""
        meta = {
            Attr.PK: conversation_pk(conversation.conversation_id),
            Attr.SK: META,
            **_conversation_attributes(conversation),
        }
        writes = [self.put(meta, unless_exists=True)]
        for user_id in conversation.participant_ids:
            membership = {
                Attr.PK: user_pk(user_id),
                Attr.SK: conversation_pk(conversation.conversation_id),
                IndexAttr.ACTIVITY_SK: activity_sk(activity_ms, conversation.conversation_id),
                "last_activity_ms": activity_ms,
                **_conversation_attributes(conversation),
            }
            writes.append(self.put(membership))
        return writes

    def create_conversation(
        self,
        conversation: Conversation,
        *,
        activity_ms: int | None = None,
        first_message: Message | None = None,
        before: Sequence[Write] = (),
    ) -> None:
        """Conversation, memberships and an optional first message, after ``before`` (e.g. a booking claim).

        The memberships' activity is the first message's time, else ``activity_ms`` (the
        creation time in milliseconds, so conversations made in the same second still sort).
        """
        activity = (
            first_message.created_at_ms
            if first_message
            else activity_ms
            if activity_ms is not None
            else conversation.created_at * 1000
        )
        writes = [*before, *self.conversation_writes(conversation, activity_ms=activity)]
        if first_message is not None:
            writes.append(
                self.message_put(
                    first_message, tenant_id=conversation.tenant_id, participant_ids=conversation.participant_ids
                )
            )
        try:
            self.transact(writes)
        except ConditionFailedError:
            # A lost answer of an attempt that committed (see ``_committed_earlier``): the new id is ours.
            stored = self.get(conversation_pk(conversation.conversation_id), META, consistent=True)
            if stored is None or stored.get("created_at") != conversation.created_at:
                raise

    def get_conversation(self, conversation_id: str) -> Conversation | None:
        """Read consistently: a client posts right after creating, and a call start must see
        the last call's end (``active_call_id``); one read unit instead of half is the price."""
        item = self.get(conversation_pk(conversation_id), META, consistent=True)
        return _conversation(item) if item else None

    def list_conversations(self, user_id: str, *, limit: int, next_token: str | None) -> Page[ConversationSummary]:
        pk = user_pk(user_id)
        items, token = self.query_page(
            index=Index.USER_CONVERSATIONS,
            key_condition="pk = :pk",
            values={":pk": pk},
            limit=limit,
            next_token=next_token,
            token_keys=(Attr.PK, Attr.SK, IndexAttr.ACTIVITY_SK),
            token_fixed={Attr.PK: pk},
            token_prefixes={Attr.SK: "CONV#"},
        )
        summaries = [
            ConversationSummary(conversation=_conversation(item), last_activity_at_ms=int(item["last_activity_ms"]))
            for item in items
        ]
        return Page(items=summaries, next_token=token)

    # ----- messages

    def message_put(self, message: Message, *, tenant_id: str, participant_ids: Sequence[str]) -> Write:
        item: dict[str, Any] = {
            Attr.PK: conversation_pk(message.conversation_id),
            Attr.SK: message_sk(message.created_at_ms, message.message_id),
            IndexAttr.TYPE_PK: type_pk(message.conversation_id, message.type),
            "message_id": message.message_id,
            "conversation_id": message.conversation_id,
            "tenant_id": tenant_id,
            # The stream processor fans out to these without reading the conversation back.
            "participant_ids": list(participant_ids),
            "sender_id": message.sender_id,
            "type": message.type,
            "content": message.content,
            "created_at_ms": message.created_at_ms,
            "client_message_id": message.client_message_id,
            "call": dict(message.call) if message.call is not None else None,
        }
        return self.put(item, unless_exists=True)

    def message_writes(self, message: Message, *, tenant_id: str, participant_ids: Sequence[str]) -> list[Write]:
        """The message item and every participant's membership moved to the top of their list."""
        writes = [self.message_put(message, tenant_id=tenant_id, participant_ids=participant_ids)]
        for user_id in participant_ids:
            writes.append(
                self.update(
                    (user_pk(user_id), conversation_pk(message.conversation_id)),
                    "SET activity_sk = :activity, last_activity_ms = :ms",
                    values={
                        ":activity": activity_sk(message.created_at_ms, message.conversation_id),
                        ":ms": message.created_at_ms,
                    },
                )
            )
        return writes

    def add_message(self, conversation: Conversation, message: Message) -> tuple[Message, bool]:
        """Store ``message``; if its ``client_message_id`` was already used by its sender, the first one.

        The claim item and the message are written in one transaction, so a retried request
        finds either nothing (and writes) or the claim of a message that fully exists.
        """
        writes: list[Write] = []
        client_message_id = message.client_message_id
        if client_message_id is not None:
            claim = {
                Attr.PK: conversation_pk(message.conversation_id),
                Attr.SK: client_message_sk(message.sender_id, client_message_id),
                # With message_id, names the message's key (the WebSocket writer reads it the same way).
                "message_id": message.message_id,
                "created_at_ms": message.created_at_ms,
            }
            writes.append(self.put(claim, unless_exists=True))
        writes.extend(
            self.message_writes(message, tenant_id=conversation.tenant_id, participant_ids=conversation.participant_ids)
        )
        try:
            self.transact(writes)
        except ConditionFailedError as error:
            if self._committed_earlier(message):
                return message, True
            if client_message_id is None or 0 not in error.indexes:
                raise
            first = self.message_for_client_id(message.conversation_id, message.sender_id, client_message_id)
            if first is None:
                raise
            return first, False
        return message, True

    def _committed_earlier(self, message: Message) -> bool:
        """Whether this very message is stored: an earlier attempt of ``transact`` committed and
        only its answer was lost (a 5xx or a timeout after the write). Its retry then fails its own
        ``attribute_not_exists`` condition; that is success, not a conflict (and never a second
        message). Message ids are fresh UUIDs, so an item under this key can only be this one."""
        item = self.get(
            conversation_pk(message.conversation_id),
            message_sk(message.created_at_ms, message.message_id),
            consistent=True,
        )
        return item is not None and item.get("message_id") == message.message_id

    def message_for_client_id(self, conversation_id: str, sender_id: str, client_message_id: str) -> Message | None:
        claim = self.get(
            conversation_pk(conversation_id), client_message_sk(sender_id, client_message_id), consistent=True
        )
        if claim is None:
            return None
        key = message_sk(int(claim["created_at_ms"]), str(claim["message_id"]))
        item = self.get(conversation_pk(conversation_id), key, consistent=True)
        return _message(item) if item else None

    def list_messages(
        self, conversation_id: str, *, limit: int, next_token: str | None, message_type: str | None = None
    ) -> Page[Message]:
        pk = conversation_pk(conversation_id)
        if message_type is None:
            items, token = self.query_page(
                key_condition="pk = :pk AND begins_with(sk, :msg)",
                values={":pk": pk, ":msg": MSG_PREFIX},
                limit=limit,
                next_token=next_token,
                token_keys=(Attr.PK, Attr.SK),
                token_fixed={Attr.PK: pk},
                token_prefixes={Attr.SK: MSG_PREFIX},
            )
        else:
            by_type = type_pk(conversation_id, message_type)
            items, token = self.query_page(
                index=Index.MESSAGES_BY_TYPE,
                key_condition="type_pk = :type_pk",
                values={":type_pk": by_type},
                limit=limit,
                next_token=next_token,
                token_keys=(Attr.PK, Attr.SK, IndexAttr.TYPE_PK),
                token_fixed={Attr.PK: pk, IndexAttr.TYPE_PK: by_type},
                token_prefixes={Attr.SK: MSG_PREFIX},
            )
        return Page(items=[_message(item) for item in items], next_token=token)


class UserDirectory:
    """Read-only view of the users table: who exists, in which tenant (profiles are auth's to write)."""

    BATCH_ATTEMPTS = 5

    def __init__(self, table_name: str, client: Any | None = None, *, sleep: Any = time.sleep) -> None:
        self.table_name = table_name
        self._client = client if client is not None else default_client()
        self._sleep = sleep

    def members_of(self, tenant_id: str, user_ids: Iterable[str]) -> set[str]:
        """The subset of ``user_ids`` whose profile exists in ``tenant_id`` (at most 100 ids)."""
        wanted = sorted(set(user_ids))
        if not wanted:
            return set()
        if len(wanted) > 100:
            raise ValueError("at most 100 users per lookup")
        request: dict[str, Any] = {
            self.table_name: {
                "Keys": [to_item({Attr.PK: user_pk(user_id), Attr.SK: "PROFILE"}) for user_id in wanted],
                "ProjectionExpression": "pk, tenant_id",
            }
        }
        found: set[str] = set()
        for attempt in range(self.BATCH_ATTEMPTS):
            try:
                response = self._client.batch_get_item(RequestItems=request)
            except ClientError as error:
                raise_for_client_error(error)
                raise
            for raw in response.get("Responses", {}).get(self.table_name, []):
                item = from_item(raw) or {}
                if item.get("tenant_id") == tenant_id:
                    found.add(str(item[Attr.PK]).removeprefix("USER#"))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
            self._sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not crypto
        raise ThrottledError("the service is busy, please retry")


def _conversation_attributes(conversation: Conversation) -> dict[str, Any]:
    return {
        "conversation_id": conversation.conversation_id,
        "tenant_id": conversation.tenant_id,
        "participant_ids": list(conversation.participant_ids),
        "title": conversation.title,
        "created_at": conversation.created_at,
        "booking_code": conversation.booking_code,
    }


def _conversation(item: Mapping[str, Any]) -> Conversation:
    return Conversation(
        conversation_id=str(item["conversation_id"]),
        tenant_id=str(item["tenant_id"]),
        participant_ids=tuple(str(p) for p in item.get("participant_ids", [])),
        title=item.get("title"),
        created_at=int(item["created_at"]),
        booking_code=item.get("booking_code"),
        active_call_id=item.get("active_call_id"),
    )


def _message(item: Mapping[str, Any]) -> Message:
    return Message(
        message_id=str(item["message_id"]),
        conversation_id=str(item["conversation_id"]),
        sender_id=str(item["sender_id"]),
        type=item["type"],
        content=str(item["content"]),
        created_at_ms=int(item["created_at_ms"]),
        client_message_id=item.get("client_message_id"),
        call=item.get("call"),
    )
