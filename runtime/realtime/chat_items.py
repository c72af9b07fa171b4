"""The chat table's items as docs/data-model.md lays them out: keys, and validated reads of images.

The chat routes own these items; this module is how the realtime side reads them (from
GetItem or from a stream image) and the few it writes (a WebSocket message, a call settled by a
disconnect, the active-call markers). Reads validate with pydantic, so a malformed item is one
clear error (a poison stream record), never a KeyError deep in the fan-out.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from runtime.chat.keys import (
    ACTIVE_CALL_MARKER_TTL_SECONDS,
    active_call_sk,
    conversation_pk,
    message_sk,
    user_pk,
)
from runtime.common.names import Attr, IndexAttr
from runtime.realtime.exceptions import PoisonRecordError
from runtime.realtime.models import Call, CallStatus, Conversation, Message, public_view


def _ids(value: Any) -> Any:
    # participant_ids may be stored as a list or a string set.
    return sorted(value) if isinstance(value, set | frozenset) else value


class _Image(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)


class ConversationImage(_Image):
    conversation_id: str = Field(min_length=1)
    tenant_id: str = Field(min_length=1)
    participant_ids: Annotated[list[str], BeforeValidator(_ids)] = Field(min_length=1)


class MessageImage(_Image):
    message_id: str = Field(min_length=1)
    conversation_id: str = Field(min_length=1)
    sender_id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    content: str
    created_at_ms: int = Field(gt=0)
    tenant_id: str | None = None
    client_message_id: str | None = None


class CallImage(_Image):
    call_id: str = Field(min_length=1)
    conversation_id: str = Field(min_length=1)
    tenant_id: str = Field(min_length=1)
    caller_id: str = Field(min_length=1)
    status: CallStatus
    call_type: str = "voice"
    connected_at_ms: int | None = None
    connected_at: int | None = None
    accepted_by: str | None = None


def _validated(model: type[_Image], item: dict[str, Any], what: str) -> Any:
    try:
        return model.model_validate(item)
    except ValidationError as error:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in error.errors()[:5])
        raise PoisonRecordError(f"malformed {what} item ({fields})") from None


def conversation_from_item(item: dict[str, Any]) -> Conversation:
    image = _validated(ConversationImage, item, "conversation")
    return Conversation(
        conversation_id=image.conversation_id,
        tenant_id=image.tenant_id,
        participant_ids=tuple(image.participant_ids),
    )


# The message item also carries the conversation's participants (for the processor's fan-out);
# the message frame shows the contract's message, not who else is in the room.
_MESSAGE_FIELDS = frozenset(MessageImage.model_fields) | {"participant_ids"}


def message_from_item(item: dict[str, Any]) -> Message:
    image = _validated(MessageImage, item, "message")
    return Message(
        message_id=image.message_id,
        conversation_id=image.conversation_id,
        sender_id=image.sender_id,
        type=image.type,
        content=image.content,
        created_at_ms=image.created_at_ms,
        tenant_id=image.tenant_id or "",
        client_message_id=image.client_message_id,
        extra={k: v for k, v in public_view(item).items() if k not in _MESSAGE_FIELDS},
    )


def call_from_item(item: dict[str, Any]) -> Call:
    image = _validated(CallImage, item, "call")
    connected_ms = image.connected_at_ms
    if connected_ms is None and image.connected_at is not None:
        connected_ms = image.connected_at * 1000
    return Call(
        call_id=image.call_id,
        conversation_id=image.conversation_id,
        tenant_id=image.tenant_id,
        caller_id=image.caller_id,
        status=image.status,
        call_type=image.call_type,
        connected_at_ms=connected_ms,
        accepted_by=image.accepted_by,
        item=public_view(item),
    )


def message_item(message: Message) -> dict[str, Any]:
    """The message item, with the ``MessagesByType`` index attribute."""
    return {
        **message.extra,
        Attr.PK: conversation_pk(message.conversation_id),
        Attr.SK: message_sk(message.created_at_ms, message.message_id),
        IndexAttr.TYPE_PK: f"{conversation_pk(message.conversation_id)}#TYPE#{message.type}",
        "message_id": message.message_id,
        "conversation_id": message.conversation_id,
        "sender_id": message.sender_id,
        "type": message.type,
        "content": message.content,
        "created_at_ms": message.created_at_ms,
        "tenant_id": message.tenant_id,
        "client_message_id": message.client_message_id,
    }


def active_call_marker(user_id: str, call: Call, now: int) -> dict[str, Any]:
    """The marker that lets a disconnect find the live calls a user is in (docs/data-model.md).

    Written in the same transaction that makes the user part of a live call (the caller when
    it starts, the callee when they accept); deleted in the one that ends it.
    """
    return {
        Attr.PK: user_pk(user_id),
        Attr.SK: active_call_sk(call.call_id),
        "call_id": call.call_id,
        "conversation_id": call.conversation_id,
        "tenant_id": call.tenant_id,
        Attr.TTL: now + ACTIVE_CALL_MARKER_TTL_SECONDS,
    }
