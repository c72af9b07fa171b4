"""The records the realtime logic works with, independent of how they are stored.

``Conversation``, ``Call`` and ``Message`` mirror the chat table's items (docs/data-model.md);
they are read tolerantly (unknown attributes are kept for the client, index attributes are
dropped) because the chat routes own those items and may add fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from runtime.common.names import Attr, IndexAttr

# Attributes that are storage details, never shown to a client.
_STORAGE_ATTRS = frozenset(
    {Attr.PK, Attr.SK, Attr.TTL, IndexAttr.TYPE_PK, IndexAttr.CALL_CONVERSATION_PK, IndexAttr.ACTIVITY_SK}
)


def public_view(item: dict[str, Any]) -> dict[str, Any]:
    """An item as a client sees it: storage keys and index attributes removed."""
    return {key: value for key, value in item.items() if key not in _STORAGE_ATTRS}


@dataclass(frozen=True)
class Connection:
    """One open socket: a user's (token) or a QR page's (session id)."""

    connection_id: str
    connected_at_ms: int
    expires_at: int
    user_id: str | None = None
    tenant_id: str | None = None
    session_id: str | None = None

    @property
    def is_user(self) -> bool:
        return self.user_id is not None


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    tenant_id: str
    participant_ids: tuple[str, ...]

    def admits(self, user_id: str | None, tenant_id: str | None) -> bool:
        """Whether this user of this tenant may read and write here (anything else is 'not found')."""
        return user_id is not None and tenant_id == self.tenant_id and user_id in self.participant_ids


class CallStatus(StrEnum):
    RINGING = "ringing"
    CONNECTED = "connected"
    REJECTED = "rejected"
    MISSED = "missed"
    ENDED = "ended"

    @property
    def is_live(self) -> bool:
        return self in (CallStatus.RINGING, CallStatus.CONNECTED)


@dataclass(frozen=True)
class Call:
    call_id: str
    conversation_id: str
    tenant_id: str
    caller_id: str
    status: CallStatus
    call_type: str
    connected_at_ms: int | None = None
    accepted_by: str | None = None
    item: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def in_call(self, user_id: str) -> bool:
        """The caller, or the participant who answered."""
        return user_id in (self.caller_id, self.accepted_by)


@dataclass(frozen=True)
class Message:
    message_id: str
    conversation_id: str
    sender_id: str
    type: str
    content: str
    created_at_ms: int
    tenant_id: str
    client_message_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_public(self) -> dict[str, Any]:
        """The contract's message shape (plus any extra attributes the item carries, e.g. call)."""
        view: dict[str, Any] = {
            **self.extra,
            "message_id": self.message_id,
            "conversation_id": self.conversation_id,
            "sender_id": self.sender_id,
            "type": self.type,
            "content": self.content,
            "created_at_ms": self.created_at_ms,
        }
        if self.client_message_id:
            view["client_message_id"] = self.client_message_id
        view.pop("tenant_id", None)
        return view


@dataclass(frozen=True)
class MessageDraft:
    """A message about to be written: what the sender asked for."""

    conversation_id: str
    sender_id: str
    tenant_id: str
    content: str
    type: str = "text"
    client_message_id: str | None = None


@dataclass(frozen=True)
class ActiveCallRef:
    """A user's marker for a live call they are in (``USER#{id}/ACTIVECALL#{call_id}``)."""

    user_id: str
    call_id: str
