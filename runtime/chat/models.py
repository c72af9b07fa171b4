"""What the chat API accepts (pydantic) and the records it works with (frozen dataclasses).

Calls and rides reuse these: a call transition is a ``Message`` of type ``call``, a booking
is a ``Conversation`` with a ``booking_code``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError


def _must_be_string(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "Input should be a valid string")
    return value


# For choice fields: a value of the wrong JSON type (`"call_type": 1`) is a wrong type (400),
# not a wrong choice (422), as it is for every other string field.
StringChoice = BeforeValidator(_must_be_string)

MessageType = Literal["text", "call", "system"]

MAX_CONTENT_CHARS = 4000
MAX_TITLE_CHARS = 200
# Every participant's membership is updated in the same transaction as each message, and a
# DynamoDB transaction holds at most 100 items: 50 leaves room for the message, its
# client-id claim and a call item.
MAX_PARTICIPANTS = 50

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
CLIENT_MESSAGE_ID_PATTERN = r"^[A-Za-z0-9._:-]+$"

# User ids are UUIDs (CONTRACT.md); they are keys here, so nothing else may pass.
UserId = Annotated[str, StringConstraints(pattern=UUID_PATTERN), AfterValidator(str.lower)]
ClientMessageId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=CLIENT_MESSAGE_ID_PATTERN)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


MessageContent = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_CONTENT_CHARS), AfterValidator(_not_blank)
]


def is_uuid(value: str) -> bool:
    """Whether a path parameter can name anything at all (anything else is simply not found)."""
    return re.fullmatch(UUID_PATTERN, value) is not None


class Strict(BaseModel):
    """Unknown fields are refused (422) so a misspelt ``client_message_id`` is not silently dropped.

    Like every model here, its validator is built on first use (``defer_build``), so a
    function builds the models of the routes it serves, not all of them at cold start.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class CreateConversationRequest(Strict):
    participant_ids: list[UserId] = Field(min_length=1, max_length=MAX_PARTICIPANTS - 1)
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TITLE_CHARS)] | None = None


class SendMessageRequest(Strict):
    content: MessageContent
    # Clients write text; `call` messages come only from call transitions and `system` only
    # from the server, so neither can be forged.
    type: Annotated[Literal["text"], StringChoice] = "text"
    client_message_id: ClientMessageId | None = None


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    limit: int = Field(default=20, ge=1, le=100)
    next_token: str | None = Field(default=None, min_length=1, max_length=4096)


class MessagesQuery(PageQuery):
    type: MessageType | None = None


class Out(BaseModel):
    """A response shape, for the OpenAPI document only: the routes answer with ``view()``.

    Unknown fields are refused so a test holding every ``view()`` to its model fails on drift.
    Built only if used (``defer_build``): a deployed function never does.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)


class ConversationOut(Out):
    conversation_id: str
    participant_ids: list[str]
    title: str | None
    created_at: int


class ConversationSummaryOut(ConversationOut):
    last_activity_at_ms: int


class ConversationPage(Out):
    items: list[ConversationSummaryOut]
    next_token: str | None


class MessageOut(Out):
    message_id: str
    conversation_id: str
    sender_id: str
    type: MessageType
    content: str
    created_at_ms: int
    client_message_id: str | None = Field(default=None, description="Present only when the sender gave one")
    call: dict[str, Any] | None = Field(default=None, description="On call messages: the call after the transition")


class MessagePage(Out):
    items: list[MessageOut]
    next_token: str | None


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    tenant_id: str
    participant_ids: tuple[str, ...]
    title: str | None
    created_at: int
    booking_code: str | None = None
    # The call currently ringing or connected here, if any (one call at a time per conversation).
    active_call_id: str | None = None

    def has_participant(self, user_id: str) -> bool:
        return user_id in self.participant_ids

    def view(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "participant_ids": list(self.participant_ids),
            "title": self.title,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class ConversationSummary:
    """A conversation as one participant's list shows it: with its latest activity."""

    conversation: Conversation
    last_activity_at_ms: int

    def view(self) -> dict[str, Any]:
        return {**self.conversation.view(), "last_activity_at_ms": self.last_activity_at_ms}


@dataclass(frozen=True)
class Message:
    message_id: str
    conversation_id: str
    sender_id: str
    type: MessageType
    content: str
    created_at_ms: int
    # The sender's idempotency key, echoed so their other devices can match their own sends.
    client_message_id: str | None = None
    # For `call` messages: the call as it was after the transition this message records.
    call: Mapping[str, Any] | None = None

    def view(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": self.message_id,
            "conversation_id": self.conversation_id,
            "sender_id": self.sender_id,
            "type": self.type,
            "content": self.content,
            "created_at_ms": self.created_at_ms,
        }
        if self.client_message_id is not None:
            data["client_message_id"] = self.client_message_id
        if self.call is not None:
            data["call"] = dict(self.call)
        return data


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T] = field(default_factory=list)
    next_token: str | None = None
