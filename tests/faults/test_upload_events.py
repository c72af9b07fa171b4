"""Faults in the two SQS consumers of S3 events: QR session completion and the pipeline's orchestrator.

SQS is played as Lambda's event source mapping plays it: a record named in
``batchItemFailures`` (or every record, when the invocation raises) becomes visible again and
is redelivered; after ``maxReceiveCount`` (3, per the stack) it is parked in the DLQ. S3 itself
may send an event twice, and events of different objects in any order.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local.assembly import TableSpec
from runtime.common import settings
from runtime.common.names import Env
from runtime.pipeline import orchestrator_handler
from runtime.realtime.connections import ConnectionRegistry
from runtime.realtime.models import Connection
from runtime.uploads import completion_handler
from runtime.uploads.logic import SessionService
from tests.support.events import lambda_context, s3_notification, sqs_event
from tests.support.faults import FaultInjector, table
from tests.support.qr import QrWorld, qr_world
from tests.support.sockets import RecordingConnections

RECEIVE_LIMIT = 3  # maxReceiveCount of both queues (stacks/image_pipeline_stack.py)


def consume(handler: Any, bodies: list[str]) -> tuple[list[str], list[str]]:
    """Play SQS -> Lambda until every body succeeded or was received RECEIVE_LIMIT times: (done, parked)."""
    pending = {str(uuid.uuid4()): body for body in bodies}
    receives = dict.fromkeys(pending, 0)
    done: list[str] = []
    parked: list[str] = []
    while pending:
        event = sqs_event(list(pending.values()))
        ids = list(pending)
        for record, message_id in zip(event["Records"], ids, strict=True):
            record["messageId"] = message_id
            receives[message_id] += 1
            record["attributes"]["ApproximateReceiveCount"] = str(receives[message_id])
        try:
            failed = {f["itemIdentifier"] for f in handler(event, lambda_context())["batchItemFailures"]}
        except Exception:
            failed = set(ids)  # the invocation failed: nothing was deleted
        for message_id in ids:
            body = pending.pop(message_id)
            if message_id not in failed:
                done.append(body)
            elif receives[message_id] >= RECEIVE_LIMIT:
                parked.append(body)
            else:
                pending[message_id] = body
    return done, parked


@pytest.fixture
def qr(tables: dict[str, TableSpec], dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[QrWorld]:
    with qr_world(tables, dynamodb, monkeypatch) as world:
        yield world


def waiting_page(qr: tuple[SessionService, RecordingConnections, ConnectionRegistry]) -> tuple[str, str]:
    service, _, registry = qr
    session_id = service.create().sessionId
    registry.add(Connection(connection_id="qr-page=", connected_at_ms=1, expires_at=2**31, session_id=session_id))
    return session_id, f"session-uploads/{session_id}/image-1795000000000"


@pytest.mark.parametrize(
    ("operation", "which", "after"),
    [
        ("UpdateItem", "sessions", False),  # completing throttled: nothing changed
        ("UpdateItem", "sessions", True),  # completed, the answer lost
        ("Query", "connections", False),  # completed, then finding the page throttled
    ],
)
def test_a_failed_completion_is_redelivered_and_the_page_told(
    qr: tuple[SessionService, RecordingConnections, ConnectionRegistry],
    tables: dict[str, TableSpec],
    faults: FaultInjector,
    operation: str,
    which: str,
    after: bool,
) -> None:
    service, sockets, _ = qr
    session_id, key = waiting_page(qr)
    name = tables[Env.UPLOAD_SESSIONS_TABLE if which == "sessions" else Env.CONNECTIONS_TABLE].physical_name
    faults.fail("dynamodb", operation, "InternalServerError", calls=(1,), after=after, when=table(name))

    done, parked = consume(completion_handler.lambda_handler, [s3_notification("uploads", key)])

    assert (len(done), parked) == (1, [])
    assert service.view(session_id).status == "COMPLETED"
    (frame,) = sockets.received("qr-page=", "UPLOAD_COMPLETED")
    assert (frame["sessionId"], frame["uploadKey"]) == (session_id, key)


def test_completion_failing_every_time_is_parked_in_the_dlq_and_the_session_is_not_stuck(
    qr: tuple[SessionService, RecordingConnections, ConnectionRegistry],
    tables: dict[str, TableSpec],
    faults: FaultInjector,
) -> None:
    service, sockets, _ = qr
    session_id, key = waiting_page(qr)
    sessions = tables[Env.UPLOAD_SESSIONS_TABLE].physical_name
    faults.fail("dynamodb", "UpdateItem", calls=None, when=table(sessions))

    done, parked = consume(completion_handler.lambda_handler, [s3_notification("uploads", key)])

    assert (done, len(parked)) == ([], 1)
    # Never half-done: still waiting for its upload (the page may poll, or the user try again).
    assert service.view(session_id).status == "AWAITING_SCAN"
    assert sockets.received("qr-page=") == []


def test_duplicate_and_out_of_order_events_complete_once_with_the_first_upload(
    qr: tuple[SessionService, RecordingConnections, ConnectionRegistry],
) -> None:
    service, sockets, _ = qr
    session_id, first_key = waiting_page(qr)
    second_key = f"session-uploads/{session_id}/image-1795000009999"
    first, second = s3_notification("uploads", first_key), s3_notification("uploads", second_key)

    # S3 sends the first event twice; the second upload's event arrives in between and after.
    for batch in ([first, second, first], [second], [first]):
        done, parked = consume(completion_handler.lambda_handler, batch)
        assert (len(done), parked) == (len(batch), [])

    assert service.view(session_id).uploadKey == first_key
    assert [f["uploadKey"] for f in sockets.received("qr-page=", "UPLOAD_COMPLETED")] == [first_key]


# --- the orchestrator ---------------------------------------------------------------------------

DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


@pytest.fixture
def state_machine(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    arn = sfn.create_state_machine(name="images", definition=DEFINITION, roleArn="arn:aws:iam::123456789012:role/x")[
        "stateMachineArn"
    ]
    monkeypatch.setenv(Env.STATE_MACHINE_ARN, arn)
    settings.reset()
    orchestrator_handler.orchestrator.cache_clear()
    yield arn
    orchestrator_handler.orchestrator.cache_clear()


def executions(arn: str) -> list[str]:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    return sorted(e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"])


@pytest.mark.parametrize(("code", "after"), [("ThrottlingException", False), ("InternalServerError", True)])
def test_a_throttled_or_lost_start_is_redelivered_and_runs_once(
    state_machine: str, faults: FaultInjector, code: str, after: bool
) -> None:
    image = str(uuid.uuid4())
    body = s3_notification("uploads", f"uploads/user-1/{image}.jpg")
    faults.fail("stepfunctions", "StartExecution", code, calls=(1,), after=after)

    done, parked = consume(orchestrator_handler.lambda_handler, [body, body])

    assert (len(done), parked) == (2, [])
    (name,) = executions(state_machine)
    assert name.startswith(image)
