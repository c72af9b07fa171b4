"""SQS -> orchestrator: each message is an S3 notification; failures are reported per message."""

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
from runtime.pipeline.orchestrator import Orchestrator, StepFunctionsStarter


class OrchestratorSettings(FunctionSettings):
    state_machine_arn: str


@cache
def orchestrator() -> Orchestrator:
    return Orchestrator(starter=StepFunctionsStarter(load(OrchestratorSettings).state_machine_arn))


# A batch whose every record failed is reported record by record too, never raised: an exception
# would fail the invocation, which SQS treats the same but logs as a function error (found by
# tests/runtime/pipeline/test_fuzz_consumers.py).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    objects = parse_created_objects(record.body)
    started = orchestrator().handle(objects)
    if started:
        metrics.add_metric(name="ExecutionsStarted", unit=MetricUnit.Count, value=len(started))
    logger.info("upload events handled", extra={"objects": len(objects), "started": started})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


startup_complete()  # the last statement: see runtime/__init__.py
