"""Call items in the chat table; written through ``ChatRepository`` so a transition and its
`call` message (with the memberships' activity) are one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.calls.models import Call, CallStatus
from runtime.chat.models import Conversation, Message, Page
from runtime.chat.repository import META, ChatRepository, ConditionFailedError, Write, conversation_pk, user_pk
from runtime.common.errors import ConflictError
from runtime.common.names import Attr, Index, IndexAttr

CALL_SK = "CALL"
ACTIVE_CALL_PREFIX = "ACTIVECALL#"
# Markers outlive any real call; the TTL only sweeps what a crashed writer left behind.
ACTIVE_CALL_MARKER_TTL_SECONDS = 24 * 3600


def call_pk(call_id: str) -> str:
    return f"CALL#{call_id}"


def active_call_key(user_id: str, call_id: str) -> tuple[str, str]:
    """The marker that lets a disconnect find the live calls a user is in (docs/data-model.md)."""
    return user_pk(user_id), f"{ACTIVE_CALL_PREFIX}{call_id}"


class CallRepository:
    def __init__(self, chat: ChatRepository) -> None:
        self.chat = chat

    def _marker(self, user_id: str, call: Call, at_ms: int) -> Write:
        pk, sk = active_call_key(user_id, call.call_id)
        item = {
            Attr.PK: pk,
            Attr.SK: sk,
            "call_id": call.call_id,
            "conversation_id": call.conversation_id,
            "tenant_id": call.tenant_id,
            Attr.TTL: at_ms // 1000 + ACTIVE_CALL_MARKER_TTL_SECONDS,
        }
        return self.chat.put(item)

    def start(self, call: Call, conversation: Conversation, message: Message, *, replacing: str | None) -> None:
        """The call, the conversation's claim on it, the caller's marker and the first `call` message.

        ``replacing`` is the finished call the conversation still names (one a disconnect
        settled); the claim is conditioned on exactly what was read, so of two starts only one rings.
        """
        if replacing is None:
            claim = self.chat.update(
                (conversation_pk(conversation.conversation_id), META),
                "SET active_call_id = :call",
                values={":call": call.call_id},
                condition="attribute_exists(pk) AND attribute_not_exists(active_call_id)",
            )
        else:
            claim = self.chat.update(
                (conversation_pk(conversation.conversation_id), META),
                "SET active_call_id = :call",
                values={":call": call.call_id, ":previous": replacing},
                condition="active_call_id = :previous",
            )
        writes = [
            claim,
            self.chat.put(_item(call), unless_exists=True),
            self._marker(call.caller_id, call, call.created_at_ms),
            *self.chat.message_writes(message, tenant_id=call.tenant_id, participant_ids=call.participant_ids),
        ]
        try:
            self.chat.transact(writes)
        except ConditionFailedError as error:
            raise ConflictError("a call is already in progress in this conversation") from error

    def get(self, call_id: str) -> Call | None:
        # Consistent: a transition must start from the status the last transition wrote.
        item = self.chat.get(call_pk(call_id), CALL_SK, consistent=True)
        return _call(item) if item else None

    def transition(self, call: Call, *, expected: CallStatus, message: Message) -> None:
        """Write ``call``'s new state if it is still ``expected``, with its `call` message.

        Accepting adds the acceptor's active-call marker; a call that ends releases the
        markers and frees its conversation for the next call.
        """
        sets = ["#status = :status"]
        values: dict[str, Any] = {":status": str(call.status), ":expected": str(expected)}
        for name in ("connected_at_ms", "accepted_by", "ended_at_ms", "ended_by", "duration_seconds"):
            value = getattr(call, name)
            if value is not None:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = value
        writes = [
            self.chat.update(
                (call_pk(call.call_id), CALL_SK),
                "SET " + ", ".join(sets),
                values=values,
                names={"#status": "status"},
                condition="#status = :expected",
            ),
            *self.chat.message_writes(message, tenant_id=call.tenant_id, participant_ids=call.participant_ids),
        ]
        if call.status is CallStatus.CONNECTED and call.accepted_by and call.connected_at_ms:
            writes.append(self._marker(call.accepted_by, call, call.connected_at_ms))
        if call.status.is_terminal:
            members = dict.fromkeys(user for user in (call.caller_id, call.accepted_by) if user)
            writes.extend(self.chat.delete(active_call_key(user, call.call_id)) for user in members)
            writes.append(
                self.chat.update(
                    (conversation_pk(call.conversation_id), META),
                    "REMOVE active_call_id",
                    values={":call": call.call_id},
                    condition="active_call_id = :call",
                )
            )
        try:
            self.chat.transact(writes)
        except ConditionFailedError as error:
            raise ConflictError(f"the call is no longer {expected}") from error

    def list_for_conversation(self, conversation_id: str, *, limit: int, next_token: str | None) -> Page[Call]:
        pk = conversation_pk(conversation_id)
        items, token = self.chat.query_page(
            index=Index.CONVERSATION_CALLS,
            key_condition="call_conversation_pk = :pk",
            values={":pk": pk},
            limit=limit,
            next_token=next_token,
            token_keys=(Attr.PK, Attr.SK, IndexAttr.CALL_CONVERSATION_PK, IndexAttr.CREATED_AT_MS),
            token_fixed={IndexAttr.CALL_CONVERSATION_PK: pk, Attr.SK: CALL_SK},
            token_prefixes={Attr.PK: "CALL#"},
        )
        return Page(items=[_call(item) for item in items], next_token=token)


def _item(call: Call) -> dict[str, Any]:
    return {
        Attr.PK: call_pk(call.call_id),
        Attr.SK: CALL_SK,
        IndexAttr.CALL_CONVERSATION_PK: conversation_pk(call.conversation_id),
        IndexAttr.CREATED_AT_MS: call.created_at_ms,
        "call_id": call.call_id,
        "conversation_id": call.conversation_id,
        "tenant_id": call.tenant_id,
        "participant_ids": list(call.participant_ids),
        "caller_id": call.caller_id,
        "call_type": call.call_type,
        "status": str(call.status),
        "connected_at_ms": call.connected_at_ms,
        "accepted_by": call.accepted_by,
        "ended_at_ms": call.ended_at_ms,
        "ended_by": call.ended_by,
        "duration_seconds": call.duration_seconds,
    }


def _call(item: Mapping[str, Any]) -> Call:
    return Call(
        call_id=str(item["call_id"]),
        conversation_id=str(item["conversation_id"]),
        tenant_id=str(item["tenant_id"]),
        participant_ids=tuple(str(p) for p in item.get("participant_ids", [])),
        caller_id=str(item["caller_id"]),
        call_type=item["call_type"],
        status=CallStatus(item["status"]),
        created_at_ms=int(item[IndexAttr.CREATED_AT_MS]),
        connected_at_ms=item.get("connected_at_ms"),
        accepted_by=item.get("accepted_by"),
        ended_at_ms=item.get("ended_at_ms"),
        ended_by=item.get("ended_by"),
        duration_seconds=item.get("duration_seconds"),
    )
