"""Lambda entry points of the state machine's outcome steps: Record and MarkFailed.

Step Functions invokes each with ``{"job": ..., ...}``; Record gets the metadata and the final
variants, MarkFailed the caught ``{Error, Cause}``. Neither touches pixels, so this module does
not import Pillow or the image core (``steps_handler`` does, for the other three steps).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from runtime import startup_complete
from runtime.common.dynamo import error_code
from runtime.common.errors import ThrottledError
from runtime.common.observability import logger, metrics, tracer
from runtime.common.settings import FunctionSettings, load
from runtime.pipeline.step_events import run_step
from runtime.pipeline.steps import OutcomeSteps
from runtime.pipeline.storage import ObjectStore
from runtime.realtime.notify import notifier
from runtime.uploads.repository import ImageRepository

_SNS_TRANSIENT = frozenset(
    {"Throttling", "ThrottlingException", "ThrottledException", "InternalError", "KMSThrottling"}
)


class TopicAnnouncer:
    """Publishes results for other systems (analytics, moderation) to the pipeline's SNS topic."""

    def __init__(self, topic_arn: str | None, client: Any | None = None) -> None:
        self._topic = topic_arn
        self._client = client

    def image_processed(self, message: dict[str, Any]) -> None:
        if not self._topic:
            return
        if self._client is None:
            self._client = boto3.client("sns")  # once per container, on the first publish
        try:
            self._client.publish(
                TopicArn=self._topic,
                Message=json.dumps(message),
                MessageAttributes={"status": {"DataType": "String", "StringValue": str(message.get("status"))}},
            )
        except ClientError as error:
            # Throttled or a 5xx: the state machine retries ThrottledError, and the step is idempotent.
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if error_code(error) in _SNS_TRANSIENT or status >= 500:
                raise ThrottledError("notifications are busy, retrying") from error
            raise


class OutcomeSettings(FunctionSettings):
    images_table: str
    images_bucket: str
    notifications_topic_arn: str | None = None


@cache
def _steps() -> OutcomeSteps:
    settings = load(OutcomeSettings)
    return OutcomeSteps(
        records=ImageRepository(settings.images_table),
        objects=ObjectStore(),
        images_bucket=settings.images_bucket,
        notifier=notifier(),
        announcer=TopicAnnouncer(settings.notifications_topic_arn),
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def record(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = run_step("record", event, lambda e: _steps().record(e.job, e.metadata, e.variants))
    metrics.add_metric(name="ImagesProcessed", unit=MetricUnit.Count, value=1)
    return result


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def fail(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = run_step("fail", event, lambda e: _steps().fail(e.job, e.error))
    metrics.add_metric(name="ProcessingErrors", unit=MetricUnit.Count, value=1)
    logger.warning("image processing failed", extra={"reason": result.get("error"), "error": event.get("error")})
    return result


startup_complete()  # the last statement: see runtime/__init__.py
