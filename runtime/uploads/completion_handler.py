"""SQS -> QR session completion: objects under ``session-uploads/`` finish their session once."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from runtime import startup_complete
from runtime.common.observability import logger, metrics, tracer
from runtime.common.s3_events import parse_created_objects
from runtime.common.settings import FunctionSettings, load
from runtime.realtime.notify import notifier
from runtime.uploads.logic import SessionCompletion
from runtime.uploads.repository import SessionRepository


class CompletionSettings(FunctionSettings):
    upload_sessions_table: str


@cache
def completion() -> SessionCompletion:
    return SessionCompletion(
        store=SessionRepository(load(CompletionSettings).upload_sessions_table), notifier=notifier()
    )


# A batch whose every record failed is reported record by record too, never raised: an exception
# would fail the invocation, which SQS treats the same but logs as a function error (found by
# tests/runtime/pipeline/test_fuzz_consumers.py).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    for obj in parse_created_objects(record.body):
        done = completion().complete(obj.key)
        if done is None:
            logger.info("nothing to complete", extra={"key": obj.key})
            continue
        if not done.repeated:  # a redelivery only retells the page: counted once
            metrics.add_metric(name="UploadsCompleted", unit=MetricUnit.Count, value=1)
            metrics.add_metric(name="SessionDuration", unit=MetricUnit.Seconds, value=done.duration_seconds)
        logger.info(
            "upload session completed",
            extra={
                "session_id": done.session_id,
                "upload_key": done.upload_key,
                "delivered": done.delivered,
                "repeated": done.repeated,
            },
        )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


startup_complete()  # the last statement: see runtime/__init__.py
