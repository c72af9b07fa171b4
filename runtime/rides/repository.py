"""Booking items (`BOOKING#{tenant}#{code}`): the one lookup from a booking code to its conversation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.chat.models import Conversation, Message
from runtime.chat.repository import ChatRepository, ConditionFailedError
from runtime.common.names import Attr
from runtime.rides.models import Booking

BOOKING_SK = "BOOKING"


def booking_pk(tenant_id: str, booking_code: str) -> str:
    # The tenant is part of the key: the same code in two tenants is two bookings.
    return f"BOOKING#{tenant_id}#{booking_code}"


class BookingRepository:
    def __init__(self, chat: ChatRepository) -> None:
        self.chat = chat

    def get(self, tenant_id: str, booking_code: str) -> Booking | None:
        # Consistent: the dispatch system creates a booking and the driver writes seconds later.
        item = self.chat.get(booking_pk(tenant_id, booking_code), BOOKING_SK, consistent=True)
        return _booking(item) if item else None

    def create(self, booking: Booking, conversation: Conversation, first_message: Message) -> bool:
        """Booking, its conversation and a system message in one transaction; False if the code is taken."""
        claim = self.chat.put(_item(booking), unless_exists=True)
        try:
            self.chat.create_conversation(conversation, first_message=first_message, before=[claim])
        except ConditionFailedError as error:
            if 0 in error.indexes:
                return False
            raise
        return True


def _item(booking: Booking) -> dict[str, Any]:
    return {
        Attr.PK: booking_pk(booking.tenant_id, booking.booking_code),
        Attr.SK: BOOKING_SK,
        "booking_code": booking.booking_code,
        "tenant_id": booking.tenant_id,
        "conversation_id": booking.conversation_id,
        "driver_id": booking.driver_id,
        "passenger_id": booking.passenger_id,
        "created_at": booking.created_at,
        "created_by": booking.created_by,
    }


def _booking(item: Mapping[str, Any]) -> Booking:
    return Booking(
        booking_code=str(item["booking_code"]),
        tenant_id=str(item["tenant_id"]),
        conversation_id=str(item["conversation_id"]),
        driver_id=str(item["driver_id"]),
        passenger_id=str(item["passenger_id"]),
        created_at=int(item["created_at"]),
        created_by=str(item["created_by"]),
    )
