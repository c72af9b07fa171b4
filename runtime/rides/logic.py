"""The ride-hailing messenger on top of chat and calls: a booking is a conversation.

Who may do what (docs/rides.md):
- a booking is created by the dispatch system, i.e. a caller holding ``bookings:write``,
  naming a driver and a passenger of its own tenant; that makes a two-person conversation;
- only the booking's driver and passenger reach it; to anyone else, in the tenant or not, a
  booking code is "not found";
- the ``sender`` / ``caller`` role a request claims must be the caller's role in the
  booking (403 otherwise): a passenger cannot speak as the driver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from runtime.calls.logic import CallService
from runtime.calls.models import Call, CallAction, CallType
from runtime.chat.logic import ChatService
from runtime.chat.models import Conversation, Message, MessageType, Page
from runtime.common.errors import ConflictError, ForbiddenError, NotFoundError, UnprocessableError
from runtime.common.identity import Identity
from runtime.rides.models import BOOKINGS_WRITE, Booking, CallActionName, Role


class BookingStore(Protocol):
    def get(self, tenant_id: str, booking_code: str) -> Booking | None: ...

    def create(self, booking: Booking, conversation: Conversation, first_message: Message) -> bool: ...


class RideService:
    def __init__(self, chat: ChatService, calls: CallService, bookings: BookingStore) -> None:
        self.chat = chat
        self.calls = calls
        self.bookings = bookings
        self.clock: Callable[[], float] = chat.clock

    def create_booking(
        self, caller: Identity, booking_code: str, driver_id: str, passenger_id: str
    ) -> tuple[Booking, bool]:
        """The booking and whether it is new; the same request again returns it unchanged (200)."""
        caller.require(BOOKINGS_WRITE)
        if driver_id == passenger_id:
            raise UnprocessableError("driver_id and passenger_id must be different users")
        existing = self.bookings.get(caller.tenant_id, booking_code)
        if existing is not None:
            return self._same_booking(existing, driver_id, passenger_id), False
        self.chat.require_users(caller.tenant_id, [driver_id, passenger_id])
        now = self.clock()
        conversation = Conversation(
            conversation_id=self.chat.ids(),
            tenant_id=caller.tenant_id,
            participant_ids=(driver_id, passenger_id),
            title=f"Booking {booking_code}",
            created_at=int(now),
            booking_code=booking_code,
        )
        booking = Booking(
            booking_code=booking_code,
            tenant_id=caller.tenant_id,
            conversation_id=conversation.conversation_id,
            driver_id=driver_id,
            passenger_id=passenger_id,
            created_at=int(now),
            created_by=caller.user_id,
        )
        notice = Message(
            message_id=self.chat.ids(),
            conversation_id=conversation.conversation_id,
            sender_id=caller.user_id,
            type="system",
            content=f"Booking {booking_code} confirmed: driver and passenger can message and call here.",
            created_at_ms=int(now * 1000),
        )
        if not self.bookings.create(booking, conversation, notice):
            # Lost a race with an identical (or conflicting) request for the same code.
            raced = self.bookings.get(caller.tenant_id, booking_code)
            if raced is None:
                raise ConflictError("booking is being created, please retry")
            return self._same_booking(raced, driver_id, passenger_id), False
        return booking, True

    @staticmethod
    def _same_booking(booking: Booking, driver_id: str, passenger_id: str) -> Booking:
        if (booking.driver_id, booking.passenger_id) != (driver_id, passenger_id):
            raise ConflictError("booking_code is already used for another ride")
        return booking

    def booking_for(self, caller: Identity, booking_code: str, role: Role | None = None) -> Booking:
        """The booking if the caller rides in it (as ``role``, when one is claimed)."""
        booking = self.bookings.get(caller.tenant_id, booking_code)
        actual = booking.role_of(caller.user_id) if booking else None
        if booking is None or actual is None:
            raise NotFoundError("booking not found")
        if role is not None and role != actual:
            raise ForbiddenError(f"you are not the {role} of this booking")
        return booking

    def _conversation(self, caller: Identity, booking: Booking) -> Conversation:
        return self.chat.conversation_for(caller, booking.conversation_id)

    def send_message(
        self,
        caller: Identity,
        booking_code: str,
        content: str,
        sender: Role,
        *,
        message_type: MessageType = "text",
        client_message_id: str | None = None,
    ) -> tuple[Booking, Message, bool]:
        booking = self.booking_for(caller, booking_code, sender)
        message, created = self.chat.post(
            self._conversation(caller, booking),
            caller.user_id,
            content,
            message_type=message_type,
            client_message_id=client_message_id,
        )
        return booking, message, created

    def make_call(
        self, caller: Identity, booking_code: str, action: CallActionName, role: Role, call_type: CallType
    ) -> tuple[Booking, Call, bool]:
        """``initiate`` starts the booking's call; the others act on the call in progress (409 if none)."""
        booking = self.booking_for(caller, booking_code, role)
        conversation = self._conversation(caller, booking)
        if action == "initiate":
            return booking, self.calls.start_in(conversation, caller.user_id, call_type), True
        call = self.calls.live_call(conversation)
        if call is None:
            raise ConflictError(f"there is no call in progress to {action}")
        return booking, self.calls.apply(call, caller.user_id, CallAction(action)), False

    def messages(
        self,
        caller: Identity,
        booking_code: str,
        *,
        limit: int,
        next_token: str | None,
        message_type: MessageType | None,
    ) -> tuple[Booking, Page[Message]]:
        booking = self.booking_for(caller, booking_code)
        page = self.chat.history(
            self._conversation(caller, booking), limit=limit, next_token=next_token, message_type=message_type
        )
        return booking, page


def ride_message_view(booking: Booking, message: Message) -> dict[str, object]:
    """A message as the ride apps see it: who sent it by role (None for the dispatch system)."""
    return {**message.view(), "booking_code": booking.booking_code, "sender": booking.role_of(message.sender_id)}
