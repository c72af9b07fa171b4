"""Call requests and the call record."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Annotated, Any, Literal

from runtime.chat.models import Strict, StringChoice

CallType = Literal["voice", "video"]


class CallStatus(StrEnum):
    RINGING = "ringing"
    CONNECTED = "connected"
    REJECTED = "rejected"
    MISSED = "missed"
    ENDED = "ended"

    @property
    def is_terminal(self) -> bool:
        return self in (CallStatus.REJECTED, CallStatus.MISSED, CallStatus.ENDED)


class CallAction(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    END = "end"


class StartCallRequest(Strict):
    call_type: Annotated[CallType, StringChoice]


def seconds(ms: int | None) -> int | None:
    return None if ms is None else ms // 1000


@dataclass(frozen=True)
class Call:
    call_id: str
    conversation_id: str
    tenant_id: str
    # Copied from the (immutable) conversation, so every call route checks membership in one read.
    participant_ids: tuple[str, ...]
    caller_id: str
    call_type: Annotated[CallType, StringChoice]
    status: CallStatus
    created_at_ms: int
    connected_at_ms: int | None = None
    # Who answered: with the caller, the call's members once connected (WebRTC signalling).
    accepted_by: str | None = None
    ended_at_ms: int | None = None
    ended_by: str | None = None
    duration_seconds: int | None = None

    def moved(self, status: CallStatus, *, at_ms: int, by: str, duration_seconds: int | None) -> Call:
        if status is CallStatus.CONNECTED:
            return replace(self, status=status, connected_at_ms=at_ms, accepted_by=by)
        return replace(self, status=status, ended_at_ms=at_ms, ended_by=by, duration_seconds=duration_seconds)

    def view(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "conversation_id": self.conversation_id,
            "caller_id": self.caller_id,
            "call_type": self.call_type,
            "status": str(self.status),
            "created_at": seconds(self.created_at_ms),
            "connected_at": seconds(self.connected_at_ms),
            "accepted_by": self.accepted_by,
            "ended_at": seconds(self.ended_at_ms),
            "ended_by": self.ended_by,
            "duration_seconds": self.duration_seconds,
        }
