"""Client frames: what parses, what is refused (with a message a client can act on)."""

from __future__ import annotations

import json

import pytest

from runtime.realtime import frames
from runtime.realtime.exceptions import FrameError


def test_send_message_defaults_to_text_and_trims() -> None:
    frame = frames.parse_frame(json.dumps({"action": "sendMessage", "conversation_id": "c-1", "content": " hi "}))
    assert isinstance(frame, frames.SendMessage)
    assert (frame.type, frame.content, frame.client_message_id) == ("text", "hi", None)


def test_signal_accepts_an_sdp_string_or_an_ice_object() -> None:
    for payload in ("v=0\r\n", {"candidate": "candidate:1 1 UDP 2122 192.0.2.1 5000 typ host", "sdpMid": "0"}):
        frame = frames.parse_frame(
            json.dumps({"action": "signal", "call_id": "k", "signal_type": "ice", "payload": payload})
        )
        assert isinstance(frame, frames.Signal)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "empty frame"),
        ("", "empty frame"),
        ("{", "not valid JSON"),
        ('"ping"', "JSON object"),
        ('{"action": 7}', "expected action"),
        ('{"action": "sendMessage", "conversation_id": "a b", "content": "x"}', "conversation_id"),
        ('{"action": "sendMessage", "conversation_id": "c", "content": "x", "type": "system"}', "type"),
        ('{"action": "ping", "sneaky": true}', "sneaky"),
        (json.dumps({"action": "ping", "pad": "x" * frames.MAX_FRAME_BYTES}), "too large"),
    ],
)
def test_refusals(body: str | None, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        frames.parse_frame(body)


def test_content_over_the_limit_is_refused() -> None:
    body = {"action": "sendMessage", "conversation_id": "c", "content": "x" * (frames.MAX_CONTENT_CHARS + 1)}
    with pytest.raises(FrameError, match="content"):
        frames.parse_frame(json.dumps(body))


def test_an_oversize_signal_payload_is_refused() -> None:
    payload = {"sdp": "x" * (frames.MAX_SIGNAL_PAYLOAD_BYTES + 10)}
    with pytest.raises(FrameError, match="payload is too large"):
        frames.parse_frame(json.dumps({"action": "signal", "call_id": "k", "signal_type": "offer", "payload": payload}))


def test_ack_serializes_for_as_the_field_name_and_drops_empty_fields() -> None:
    ack = frames.AckFrame(for_action="subscribe", conversation_id="c")
    assert json.loads(ack.encode()) == {"action": "ack", "for": "subscribe", "conversation_id": "c"}


def test_request_id_is_recovered_from_an_invalid_frame() -> None:
    assert frames.request_id_of('{"action": "nope", "request_id": "r-7"}') == "r-7"
    assert frames.request_id_of("garbage") is None
