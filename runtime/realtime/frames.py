"""What travels over the socket: inbound frames (validated) and outbound frames (built here only).

Inbound frames are a union discriminated by ``action``; anything that does not parse, is too
large or names an unknown action becomes an ``error`` frame and the connection stays open.
Outbound frames are small pydantic models serialized once per fan-out, so every connection of
a delivery receives the same bytes.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from runtime.realtime.exceptions import FrameError

# API Gateway splits WebSocket messages into 32 KB frames; one client frame is all we accept.
MAX_FRAME_BYTES = 32 * 1024
# Message content limit, in characters (assumption shared with the HTTP route; see docs/realtime.md).
MAX_CONTENT_CHARS = 4000
# A WebRTC offer with many codecs is a few KB; anything near the frame size is not signalling.
MAX_SIGNAL_PAYLOAD_BYTES = 24 * 1024

_Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]


class _Inbound(BaseModel):
    # Frames build their validators on first use: only `$default` reads inbound ones.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True)

    # Echoed back on the ack / error so a client can match answers to requests.
    request_id: Annotated[str, Field(max_length=128)] | None = None


class SendMessage(_Inbound):
    action: Literal["sendMessage"]
    conversation_id: _Id
    content: Annotated[str, Field(min_length=1, max_length=MAX_CONTENT_CHARS)]
    client_message_id: _Id | None = None
    type: Literal["text"] = "text"


class Subscribe(_Inbound):
    action: Literal["subscribe"]
    conversation_id: _Id


class Unsubscribe(_Inbound):
    action: Literal["unsubscribe"]
    conversation_id: _Id


class Signal(_Inbound):
    action: Literal["signal"]
    call_id: _Id
    signal_type: Literal["offer", "answer", "ice"]
    payload: dict[str, Any] | str

    def payload_size(self) -> int:
        return len(json.dumps(self.payload, separators=(",", ":")).encode())


class Ping(_Inbound):
    action: Literal["ping"]


InboundFrame = Annotated[SendMessage | Subscribe | Unsubscribe | Signal | Ping, Field(discriminator="action")]
_inbound = TypeAdapter[InboundFrame](InboundFrame, config=ConfigDict(defer_build=True))
ACTIONS = ("sendMessage", "subscribe", "unsubscribe", "signal", "ping")


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:3]:
        location = ".".join(str(p) for p in item["loc"] if p not in ACTIONS)
        parts.append(f"{location}: {item['msg']}" if location else str(item["msg"]))
    return "; ".join(parts) or "frame is not valid"


def parse_frame(body: str | None) -> InboundFrame:
    """The frame a client sent, or a ``FrameError`` whose message the client may see."""
    if not body:
        raise FrameError("empty frame; send JSON with an action")
    if len(body.encode()) > MAX_FRAME_BYTES:
        raise FrameError(f"frame is too large (at most {MAX_FRAME_BYTES} bytes)")
    try:
        data = json.loads(body)
    except ValueError:
        raise FrameError("frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise FrameError("frame must be a JSON object with an action")
    action = data.get("action")
    if action not in ACTIONS:
        shown = action if isinstance(action, str) and len(action) <= 64 else None
        known = ", ".join(ACTIONS)
        raise FrameError(
            f"unknown action {shown!r}; expected one of: {known}" if shown else f"expected action: {known}"
        )
    try:
        frame = _inbound.validate_python(data)
    except ValidationError as error:
        raise FrameError(_describe(error)) from None
    if isinstance(frame, Signal) and frame.payload_size() > MAX_SIGNAL_PAYLOAD_BYTES:
        raise FrameError(f"signal payload is too large (at most {MAX_SIGNAL_PAYLOAD_BYTES} bytes)")
    return frame


def request_id_of(body: str | None) -> str | None:
    """Best effort: the request_id of a frame that failed validation, so its error can echo it."""
    try:
        data = json.loads(body or "")
    except ValueError:
        return None
    value = data.get("request_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and len(value) <= 128 else None


# --- outbound ---------------------------------------------------------------------------------


class _Outbound(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, defer_build=True)

    def encode(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()


class MessageFrame(_Outbound):
    action: Literal["message"] = "message"
    message: dict[str, Any]


class CallFrame(_Outbound):
    action: Literal["call"] = "call"
    call: dict[str, Any]


class AckFrame(_Outbound):
    action: Literal["ack"] = "ack"
    for_action: str = Field(serialization_alias="for")
    request_id: str | None = None
    conversation_id: str | None = None
    call_id: str | None = None
    client_message_id: str | None = None
    message: dict[str, Any] | None = None
    delivered: int | None = None


class SignalFrame(_Outbound):
    action: Literal["signal"] = "signal"
    call_id: str
    signal_type: str
    payload: dict[str, Any] | str
    from_user_id: str


class PongFrame(_Outbound):
    action: Literal["pong"] = "pong"
    request_id: str | None = None
    timestamp: int


class ErrorFrame(_Outbound):
    action: Literal["error"] = "error"
    error: str
    request_id: str | None = None
