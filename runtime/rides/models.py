"""Ride-hailing requests (the `/api/v1/...` shapes) and the booking record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import StringConstraints

from runtime.calls.models import CallType
from runtime.chat.models import ClientMessageId, MessageContent, MessageType, PageQuery, Strict, StringChoice, UserId

Role = Literal["driver", "passenger"]
CallActionName = Literal["initiate", "accept", "reject", "end"]
BOOKINGS_WRITE = "bookings:write"

# Codes come from the dispatch system; they are part of a key, so only a plain alphabet passes.
BookingCode = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class CreateBookingRequest(Strict):
    booking_code: BookingCode
    driver_id: UserId
    passenger_id: UserId


class SendRideMessageRequest(Strict):
    booking_code: BookingCode
    message: MessageContent
    sender: Annotated[Role, StringChoice]
    # `system` lets a driver or passenger app post automated notices ("arrived at pickup")
    # that clients render apart from chat text; `call` messages come only from make_call.
    message_type: Annotated[Literal["text", "system"], StringChoice] = "text"
    client_message_id: ClientMessageId | None = None


class MakeCallRequest(Strict):
    booking_code: BookingCode
    action: Annotated[CallActionName, StringChoice]
    caller: Annotated[Role, StringChoice]
    call_type: Annotated[CallType, StringChoice] = "voice"


class GetMessagesQuery(PageQuery):
    booking_code: BookingCode
    message_type: MessageType | None = None


@dataclass(frozen=True)
class Booking:
    booking_code: str
    tenant_id: str
    conversation_id: str
    driver_id: str
    passenger_id: str
    created_at: int
    created_by: str

    def role_of(self, user_id: str) -> Role | None:
        if user_id == self.driver_id:
            return "driver"
        if user_id == self.passenger_id:
            return "passenger"
        return None

    def view(self) -> dict[str, Any]:
        return {
            "booking_code": self.booking_code,
            "conversation_id": self.conversation_id,
            "driver_id": self.driver_id,
            "passenger_id": self.passenger_id,
            "created_at": self.created_at,
        }
