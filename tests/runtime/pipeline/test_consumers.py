"""The two consumers of upload events, fed real SQS batches of S3 notifications against moto."""

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
from tests.support.events import S3_TEST_EVENT, lambda_context, s3_notification, sqs_event
from tests.support.qr import QrWorld, qr_world
from tests.support.sockets import RecordingConnections

DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


@pytest.fixture
def state_machine(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    role = "arn:aws:iam::123456789012:role/sfn"
    arn = sfn.create_state_machine(name="images", definition=DEFINITION, roleArn=role)["stateMachineArn"]
    monkeypatch.setenv(Env.STATE_MACHINE_ARN, arn)
    settings.reset()
    orchestrator_handler.orchestrator.cache_clear()
    yield arn
    orchestrator_handler.orchestrator.cache_clear()


def executions(arn: str) -> list[dict[str, Any]]:
    return boto3.client("stepfunctions", region_name="us-east-1").list_executions(stateMachineArn=arn)["executions"]


def test_an_upload_starts_one_execution_whatever_repeats(state_machine: str) -> None:
    image_id = str(uuid.uuid4())
    body = s3_notification("uploads", f"uploads/user 1/{image_id}.jpg")
    result = orchestrator_handler.lambda_handler(sqs_event([S3_TEST_EVENT, body, body]), lambda_context())
    assert result == {"batchItemFailures": []}
    (execution,) = executions(state_machine)
    assert execution["name"].startswith(image_id)
    described = boto3.client("stepfunctions", region_name="us-east-1").describe_execution(
        executionArn=execution["executionArn"]
    )
    assert json.loads(described["input"]) == {
        "bucket": "uploads",
        "key": f"uploads/user 1/{image_id}.jpg",
        "size": 1024,
        "owner_id": "user 1",
        "image_id": image_id,
    }
    # An SQS redelivery of the same event later starts nothing either.
    orchestrator_handler.lambda_handler(sqs_event([body]), lambda_context())
    assert len(executions(state_machine)) == 1


def test_a_poison_message_is_reported_and_the_rest_proceed(state_machine: str) -> None:
    good = s3_notification("uploads", f"uploads/u/{uuid.uuid4()}.png")
    event = sqs_event(["definitely not json", good])
    result = orchestrator_handler.lambda_handler(event, lambda_context())
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert len(executions(state_machine)) == 1


@pytest.fixture
def sessions(tables: dict[str, TableSpec], dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[QrWorld]:
    with qr_world(tables, dynamodb, monkeypatch) as world:
        yield world


def test_an_upload_completes_its_session_once_and_tells_the_page(
    sessions: tuple[SessionService, RecordingConnections, ConnectionRegistry],
) -> None:
    service, sockets, registry = sessions
    created = service.create()
    registry.add(
        Connection(connection_id="qr-page=", connected_at_ms=1, expires_at=2**31, session_id=created.sessionId)
    )
    registry.add(
        Connection(connection_id="gone-page=", connected_at_ms=1, expires_at=2**31, session_id=created.sessionId)
    )
    sockets.gone.add("gone-page=")
    key = f"session-uploads/{created.sessionId}/image-1795000000000"
    body = s3_notification("uploads", key)
    result = completion_handler.lambda_handler(sqs_event([body, body]), lambda_context())
    assert result == {"batchItemFailures": []}
    (frame,) = sockets.received("qr-page=", "UPLOAD_COMPLETED")
    assert frame["sessionId"] == created.sessionId
    assert frame["uploadKey"] == key
    assert isinstance(frame["timestamp"], int)
    view = service.view(created.sessionId)
    assert (view.status, view.uploadKey) == ("COMPLETED", key)
    assert registry.get("gone-page=") is None, "a page that went away is forgotten quietly"
    completion_handler.lambda_handler(sqs_event([body]), lambda_context())
    assert len(sockets.received("qr-page=", "UPLOAD_COMPLETED")) == 1
