"""Event sources: S3 -> SQS -> function, partial failures to the DLQ, streams, Step Functions."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.e2e.conftest import Runtime, wait_for

pytestmark = pytest.mark.slow


def item(runtime: Runtime, table: str, pk: str) -> dict | None:
    found: dict | None = runtime.aws("dynamodb").get_item(TableName=table, Key={"pk": {"S": pk}}).get("Item")
    return found


def test_an_s3_upload_reaches_the_function_through_sqs(
    fixture_runtime: Runtime, fixture_outputs: dict[str, str]
) -> None:
    key = f"uploads/{uuid.uuid4()}/photo one.png"
    fixture_runtime.aws("s3").put_object(Bucket=fixture_outputs["BucketName"], Key=key, Body=b"12345")
    stored = wait_for(lambda: item(fixture_runtime, fixture_outputs["ResultsTable"], f"upload#{key}"))
    assert stored["size"] == {"N": "5"}
    # Outside the notification's prefix: no event.
    other = f"other/{uuid.uuid4()}.png"
    fixture_runtime.aws("s3").put_object(Bucket=fixture_outputs["BucketName"], Key=other, Body=b"1")
    time.sleep(2)
    assert item(fixture_runtime, fixture_outputs["ResultsTable"], f"upload#{other}") is None


def test_a_reported_failure_is_retried_then_parked_in_the_dlq(
    fixture_runtime: Runtime, fixture_outputs: dict[str, str]
) -> None:
    sqs = fixture_runtime.aws("sqs")
    marker = str(uuid.uuid4())
    sqs.send_message(QueueUrl=fixture_outputs["QueueUrl"], MessageBody=json.dumps({"fail": True, "id": marker}))

    def parked() -> list[dict]:
        response = sqs.receive_message(QueueUrl=fixture_outputs["DlqUrl"], MaxNumberOfMessages=10, WaitTimeSeconds=1)
        return [m for m in response.get("Messages", []) if marker in m["Body"]]

    moved = wait_for(parked, timeout=30)
    assert json.loads(moved[0]["Body"])["id"] == marker
    attempts = [r for r in fixture_runtime.invocations() if r["trigger"].startswith("sqs ")]
    assert len(attempts) >= 2


def test_a_stream_record_reaches_its_processor_through_the_filter(
    fixture_runtime: Runtime, fixture_outputs: dict[str, str]
) -> None:
    dynamodb = fixture_runtime.aws("dynamodb")
    key = str(uuid.uuid4())
    dynamodb.put_item(TableName=fixture_outputs["SourceTable"], Item={"pk": {"S": key}, "kind": {"S": "a"}})
    stored = wait_for(lambda: item(fixture_runtime, fixture_outputs["ResultsTable"], f"change#{key}"))
    assert stored["event"] == {"S": "INSERT"}
    # The mapping's filter lets only INSERTs through: a MODIFY does not reach the function.
    dynamodb.delete_item(TableName=fixture_outputs["ResultsTable"], Key={"pk": {"S": f"change#{key}"}})
    dynamodb.put_item(TableName=fixture_outputs["SourceTable"], Item={"pk": {"S": key}, "kind": {"S": "b"}})
    time.sleep(2)
    assert item(fixture_runtime, fixture_outputs["ResultsTable"], f"change#{key}") is None


def execute(runtime: Runtime, arn: str, payload: dict) -> dict:
    stepfunctions = runtime.aws("stepfunctions")
    execution = stepfunctions.start_execution(stateMachineArn=arn, name=str(uuid.uuid4()), input=json.dumps(payload))

    def finished() -> dict | None:
        described = stepfunctions.describe_execution(executionArn=execution["executionArn"])
        return described if described["status"] != "RUNNING" else None

    result: dict = wait_for(finished, timeout=30)
    return result


def test_the_state_machine_runs_its_synthesized_definition(
    fixture_runtime: Runtime, fixture_outputs: dict[str, str]
) -> None:
    done = execute(fixture_runtime, fixture_outputs["StateMachineArn"], {"size": 100})
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"size": 100, "valid": True, "resized": [50, 25]}
    triggers = [r["function"] for r in fixture_runtime.invocations()]
    assert "ValidateStep" in triggers
    assert "ResizeStep" in triggers


def test_a_failing_step_takes_the_catch_path(fixture_runtime: Runtime, fixture_outputs: dict[str, str]) -> None:
    done = execute(fixture_runtime, fixture_outputs["StateMachineArn"], {"size": 0})
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"status": "FAILED", "error": "ValueError"}


def test_an_s3_notification_can_invoke_a_function_directly(
    fixture_runtime: Runtime, fixture_outputs: dict[str, str]
) -> None:
    key = f"direct/{uuid.uuid4()}.txt"
    fixture_runtime.aws("s3").put_object(Bucket=fixture_outputs["BucketName"], Key=key, Body=b"1")
    stored = wait_for(lambda: item(fixture_runtime, fixture_outputs["ResultsTable"], f"direct#{key}"))
    assert stored["bucket"] == {"S": fixture_outputs["BucketName"]}


def test_a_topic_delivers_to_its_subscribed_function(fixture_runtime: Runtime, fixture_outputs: dict[str, str]) -> None:
    message = str(uuid.uuid4())
    fixture_runtime.aws("sns").publish(TopicArn=fixture_outputs["TopicArn"], Message=message, Subject="hello")
    stored = wait_for(lambda: item(fixture_runtime, fixture_outputs["ResultsTable"], f"sns#{message}"))
    assert stored["topic"] == {"S": fixture_outputs["TopicArn"]}
    assert stored["subject"] == {"S": "hello"}


def test_a_stream_batch_that_keeps_failing_goes_to_the_on_failure_queue(
    fixture_runtime: Runtime, fixture_outputs: dict[str, str]
) -> None:
    key = str(uuid.uuid4())
    fixture_runtime.aws("dynamodb").put_item(
        TableName=fixture_outputs["SourceTable"], Item={"pk": {"S": key}, "poison": {"BOOL": True}}
    )
    sqs = fixture_runtime.aws("sqs")

    def parked() -> list[dict]:
        response = sqs.receive_message(
            QueueUrl=fixture_outputs["StreamDlqUrl"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        return [json.loads(m["Body"]) for m in response.get("Messages", [])]

    failure = wait_for(parked, timeout=30)[0]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 2
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    # The shard moves on: a later record is processed.
    later = str(uuid.uuid4())
    fixture_runtime.aws("dynamodb").put_item(TableName=fixture_outputs["SourceTable"], Item={"pk": {"S": later}})
    wait_for(lambda: item(fixture_runtime, fixture_outputs["ResultsTable"], f"change#{later}"))
