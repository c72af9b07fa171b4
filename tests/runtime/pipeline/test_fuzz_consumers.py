"""Property-based fuzzing of the S3-notification parser and both SQS consumers.

Whatever a queue delivers (S3's own notifications, its test event, another producer's
message, truncated or oversize JSON, keys in any encoding), the parser either returns objects
or raises ``BadRequestError``, and each consumer answers with a partial-batch response that
names only the records it could not handle: never an exception that would fail, and redeliver,
the whole batch.

Bounded for ``make test`` (derandomized); ``FUZZ_EXAMPLES`` raises it.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote_plus

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.common.errors import BadRequestError
from runtime.common.s3_events import parse_created_objects
from runtime.pipeline import orchestrator_handler
from runtime.realtime.connections import ConnectionRegistry
from runtime.uploads import completion_handler
from runtime.uploads.logic import SessionService
from tests.runtime.pipeline.test_consumers import sessions, state_machine  # noqa: F401 (fixtures)
from tests.support.events import S3_TEST_EVENT, lambda_context, s3_notification, sqs_event
from tests.support.sockets import RecordingConnections

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
keys = (
    st.text(max_size=80)
    | st.builds(lambda owner, name: f"uploads/{owner}/{name}", st.text(max_size=20), st.text(max_size=40))
    | st.builds(
        lambda s, n: f"session-uploads/{s}/image-{n}", st.uuids().map(str) | st.text(max_size=40), st.integers()
    )
    | st.text(min_size=1000, max_size=1100)
)


@st.composite
def notifications(draw: st.DrawFn) -> str:
    """S3-shaped bodies with any part missing, mistyped or out of range."""
    body = json.loads(s3_notification(draw(st.text(min_size=1, max_size=20)), quote_plus(draw(keys))))
    record = body["Records"][0]
    for path in draw(st.lists(st.sampled_from(["eventName", "s3", "s3.bucket", "s3.object", "s3.object.key"]))):
        parent, _, leaf = path.rpartition(".")
        target = record
        for part in parent.split(".") if parent else ():
            target = target.get(part) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target[leaf] = draw(json_values)
    body["Records"] = body["Records"] * draw(st.integers(0, 3))
    if draw(st.booleans()):
        body["Records"].append(draw(json_values))
    return json.dumps(body)


bodies = (
    notifications()
    | json_values.map(json.dumps)
    | st.text(max_size=200)
    | st.just(S3_TEST_EVENT)
    | notifications().map(lambda text: text[: len(text) // 2])
    | st.just(json.dumps({"Records": [{}] * 101}))
    | st.integers(256 * 1024 - 64, 256 * 1024).map(lambda n: json.dumps({"Records": "x" * n}))
)


@FUZZ
@given(body=bodies)
def test_the_parser_returns_objects_or_refuses_the_message(body: str) -> None:
    try:
        objects = parse_created_objects(body)
    except BadRequestError:
        return
    for obj in objects:
        assert obj.key
        assert obj.bucket


def _assert_partial(event: dict[str, Any], response: Any) -> None:
    ids = {record["messageId"] for record in event["Records"]}
    failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
    assert failed <= ids


def test_the_orchestrator_reports_bad_messages_instead_of_failing_the_batch(state_machine: str) -> None:  # noqa: F811
    @FUZZ
    @given(batch=st.lists(bodies, min_size=1, max_size=4))
    def check(batch: list[str]) -> None:
        event = sqs_event(batch)
        _assert_partial(event, orchestrator_handler.lambda_handler(event, lambda_context()))

    check()


def test_the_session_completion_reports_bad_messages_instead_of_failing_the_batch(
    sessions: tuple[SessionService, RecordingConnections, ConnectionRegistry],  # noqa: F811
) -> None:
    service, _, _ = sessions
    created = service.create()
    real = s3_notification("uploads", f"session-uploads/{created.sessionId}/image-1")

    @FUZZ
    @given(batch=st.lists(bodies | st.just(real), min_size=1, max_size=4))
    def check(batch: list[str]) -> None:
        event = sqs_event(batch)
        _assert_partial(event, completion_handler.lambda_handler(event, lambda_context()))

    check()
