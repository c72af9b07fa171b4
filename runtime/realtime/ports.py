"""What the realtime logic needs from storage and the socket gateway, as small protocols.

The logic is written against these; the boto3-backed classes (``ConnectionRegistry``,
``ChatReader``, ``CallSettler``, ``ChatServiceWriter``, ``UploadSessionStore``,
``ConnectionGateway``) satisfy them, and so can in-memory fakes in tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from runtime.realtime.models import ActiveCallRef, Call, CallStatus, Connection, Conversation, Message, MessageDraft


class MessageWriter(Protocol):
    """How `sendMessage` persists a message: the seam the chat routes' repository plugs into."""

    def conversation(self, conversation_id: str) -> Conversation | None:
        """The conversation as the write will see it (so the check and the write share one read)."""
        ...

    def write(self, draft: MessageDraft, conversation: Conversation, *, now_ms: int) -> Message:
        """Persist ``draft``; a repeated ``client_message_id`` returns the first message instead."""
        ...


class PostOutcome(StrEnum):
    DELIVERED = "delivered"
    GONE = "gone"  # the socket is closed: delete its record
    FAILED = "failed"  # throttled or unreachable after bounded retries: worth retrying later
    REJECTED = "rejected"  # refused for good (payload too large, forbidden): retrying cannot help


@dataclass
class FanoutResult:
    delivered: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def add(self, connection_id: str, outcome: PostOutcome) -> None:
        getattr(self, outcome.value).append(connection_id)


class ConnectionStore(Protocol):
    def add(self, connection: Connection) -> None: ...
    def get(self, connection_id: str) -> Connection | None: ...
    def remove(self, connection_id: str) -> Connection | None: ...
    def of_user(self, user_id: str) -> list[Connection]: ...
    def of_session(self, session_id: str) -> list[Connection]: ...
    def has_other_connection(self, user_id: str, except_connection_id: str) -> bool: ...
    def subscribe(self, connection: Connection, conversation_id: str) -> None: ...
    def unsubscribe(self, connection_id: str, conversation_id: str) -> None: ...
    def subscribers(self, conversation_id: str) -> list[dict[str, Any]]: ...


class SessionStore(Protocol):
    def attach(self, session_id: str, connection_id: str, now: int) -> bool: ...
    def detach(self, session_id: str, connection_id: str) -> None: ...


class ChatDirectory(Protocol):
    def conversation(self, conversation_id: str) -> Conversation | None: ...
    def conversations(self, conversation_ids: Iterable[str]) -> dict[str, Conversation | None]: ...
    def call(self, call_id: str) -> Call | None: ...
    def active_calls_of(self, user_id: str) -> list[ActiveCallRef]: ...
    def release_marker(self, user_id: str, call_id: str) -> None: ...


class CallStore(Protocol):
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
    ) -> bool: ...


class Gateway(Protocol):
    def fan_out(self, connection_ids: Iterable[str], data: bytes) -> FanoutResult: ...
