"""The documented response models (``*Out``) hold exactly what the routes' ``view()`` answers.

The routes answer with the records' ``view()`` dictionaries; the models exist for the OpenAPI
document and refuse unknown fields, so a field added to, renamed in or dropped from a view
without its model fails here instead of drifting from the published document.
"""

from __future__ import annotations

from runtime.calls.models import Call, CallOut, CallStatus
from runtime.chat.models import (
    Conversation,
    ConversationOut,
    ConversationSummary,
    ConversationSummaryOut,
    Message,
    MessageOut,
)
from runtime.rides.logic import ride_message_view
from runtime.rides.models import Booking, BookingOut, RideCallOut, RideMessageOut

USER = "0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
OTHER = "1b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"

CONVERSATION = Conversation("c-1", "t", (USER, OTHER), "hello", 1_700_000_000)
CALL = Call("call-1", "c-1", "t", (USER, OTHER), USER, "video", CallStatus.RINGING, 1_700_000_000_000)
ENDED = CALL.moved(CallStatus.CONNECTED, at_ms=1_700_000_001_000, by=OTHER, duration_seconds=None).moved(
    CallStatus.ENDED, at_ms=1_700_000_061_000, by=USER, duration_seconds=60
)
BOOKING = Booking("B-1", "t", "c-1", USER, OTHER, 1_700_000_000, "dispatch")


def test_conversation_views_match_their_models() -> None:
    ConversationOut.model_validate(CONVERSATION.view())
    ConversationSummaryOut.model_validate(ConversationSummary(CONVERSATION, 1_700_000_000_500).view())


def test_message_views_match_their_model_with_and_without_optional_fields() -> None:
    plain = Message("m-1", "c-1", USER, "text", "hi", 1_700_000_000_000)
    assert MessageOut.model_validate(plain.view()).client_message_id is None
    full = Message("m-2", "c-1", USER, "call", "call ended", 1, client_message_id="k-1", call=ENDED.view())
    assert MessageOut.model_validate(full.view()).call == ENDED.view()


def test_call_views_match_their_model_in_every_state() -> None:
    for call in (CALL, ENDED):
        CallOut.model_validate(call.view())
        RideCallOut.model_validate({**call.view(), "booking_code": BOOKING.booking_code})


def test_booking_and_ride_message_views_match_their_models() -> None:
    BookingOut.model_validate(BOOKING.view())
    message = Message("m-1", "c-1", OTHER, "text", "on my way", 1_700_000_000_000)
    assert RideMessageOut.model_validate(ride_message_view(BOOKING, message)).sender == "passenger"
