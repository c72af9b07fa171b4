"""Property-based fuzzing of the WebSocket router (`$default`) and the stream processor.

Whatever a client sends, `$default` answers 200 with one JSON frame (an ``error`` frame for
anything it cannot serve) and never raises: an exception would be a 500 from the integration
and, for API Gateway, a broken route response. Whatever a stream batch holds, the processor
returns a partial-batch response and never raises: an exception would fail (and retry) the
whole batch, re-delivering every good record with it.

Bounded for ``make test`` (derandomized, a few dozen examples); ``FUZZ_EXAMPLES`` raises it.
"""

from __future__ import annotations

import json
import os
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.realtime import handler
from runtime.realtime.frames import MAX_FRAME_BYTES
from tests.runtime.realtime.conftest import RecordingConnections, World
from tests.support.events import lambda_context, ws_connection_id, ws_event

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

ACTIONS = ["sendMessage", "subscribe", "unsubscribe", "signal", "ping", "typing", "", "$default", "SENDMESSAGE"]
FIELDS = ["conversation_id", "content", "client_message_id", "call_id", "signal_type", "payload", "request_id"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
frames = st.fixed_dictionaries(
    {"action": st.sampled_from(ACTIONS) | st.text(max_size=20) | json_values},
    optional={name: json_values | st.text(max_size=60) for name in FIELDS},
)
oversize = st.integers(MAX_FRAME_BYTES - 16, MAX_FRAME_BYTES * 2).map(
    lambda n: json.dumps({"action": "sendMessage", "conversation_id": "c", "content": "x" * n})
)
bodies = (
    frames.map(json.dumps)
    | json_values.map(json.dumps)
    | st.text(max_size=200)
    | st.text(alphabet=string.printable, max_size=60).map(lambda t: '{"action": "' + t)
    | oversize
)


def assert_one_frame(response: dict[str, Any]) -> dict[str, Any]:
    assert response["statusCode"] == 200
    frame: dict[str, Any] = json.loads(response["body"])
    assert isinstance(frame.get("action"), str)
    return frame


def test_default_route_answers_any_frame_with_a_frame(world: World, sockets: RecordingConnections) -> None:
    alice = world.connected("alice")
    conversation_id = world.conversation(["alice", "bob"])

    @FUZZ
    @given(body=bodies, known_conversation=st.booleans(), base64=st.booleans())
    def check(body: str, known_conversation: bool, base64: bool) -> None:
        if known_conversation:
            body = body.replace('"conversation_id": "c"', f'"conversation_id": "{conversation_id}"')
        event = ws_event("$default", alice, raw_body=body, is_base64=base64)
        frame = assert_one_frame(handler.default_handler(event, lambda_context()))
        if base64:
            assert frame["action"] == "error"

    check()


def test_default_route_on_a_connection_it_does_not_know(world: World, sockets: RecordingConnections) -> None:
    """A frame racing `$disconnect` (or a forged id): an error frame, never a crash."""

    @FUZZ
    @given(body=frames.map(json.dumps))
    def check(body: str) -> None:
        event = ws_event("$default", ws_connection_id(), raw_body=body)
        assert_one_frame(handler.default_handler(event, lambda_context()))

    check()


# --- the stream processor ----------------------------------------------------------------

attribute_values = st.recursive(
    st.builds(lambda s: {"S": s}, st.text(max_size=30))
    | st.builds(lambda n: {"N": str(n)}, st.integers(-(10**15), 10**15))
    | st.builds(lambda b: {"BOOL": b}, st.booleans())
    | st.just({"NULL": True}),
    lambda children: (
        st.builds(lambda xs: {"L": xs}, st.lists(children, max_size=3))
        | st.builds(lambda m: {"M": m}, st.dictionaries(st.text(max_size=12), children, max_size=3))
    ),
    max_leaves=8,
)
KEYS = st.sampled_from(["CONV#c1", "CALL#k1", "USER#u1", "BOOKING#t#b", "", "CONV#"])
SORT_KEYS = st.sampled_from(["META", "CALL", "MSG#0000000000001#m1", "MSG#", "CONV#c1", "ACTIVECALL#k1", ""])
ITEM_FIELDS = [
    "message_id",
    "conversation_id",
    "sender_id",
    "type",
    "content",
    "created_at_ms",
    "participant_ids",
    "tenant_id",
    "call_id",
    "status",
    "caller_id",
    "call",
]


@st.composite
def images(draw: st.DrawFn) -> dict[str, Any]:
    image: dict[str, Any] = {"pk": {"S": draw(KEYS)}, "sk": {"S": draw(SORT_KEYS)}}
    for name in draw(st.lists(st.sampled_from(ITEM_FIELDS), max_size=len(ITEM_FIELDS), unique=True)):
        image[name] = draw(attribute_values)
    return image


@st.composite
def stream_records(draw: st.DrawFn) -> dict[str, Any]:
    event_name = draw(st.sampled_from(["INSERT", "MODIFY", "REMOVE"]))
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": 1_795_000_000,
        "SequenceNumber": str(draw(st.integers(1, 10**20))),
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    new, old = draw(images()), draw(images())
    body["Keys"] = {"pk": new["pk"], "sk": new["sk"]}
    if event_name != "REMOVE" and draw(st.booleans()):
        body["NewImage"] = new
    if event_name != "INSERT" and draw(st.booleans()):
        body["OldImage"] = old
    return {
        "eventID": draw(st.text(alphabet=string.hexdigits, min_size=8, max_size=32)),
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": body,
    }


def test_stream_processor_reports_bad_records_instead_of_failing_the_batch(
    world: World, sockets: RecordingConnections
) -> None:
    @FUZZ
    @given(records=st.lists(stream_records(), min_size=1, max_size=5))
    def check(records: list[dict[str, Any]]) -> None:
        event = {"Records": [{**r, "eventSourceARN": world.stream_arn} for r in records]}
        response = handler.stream_handler(event, lambda_context())
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        assert failed <= {r["dynamodb"]["SequenceNumber"] for r in records}

    check()
