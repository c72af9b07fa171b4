"""Lambda entry points of the image state machine: one function per step, one parse per event.

Step Functions invokes each with ``{"job": ..., ...}`` (see the stack's task payloads) and keeps
what it returns under the step's result path. A bad upload raises ``InvalidImageError``, which
the state machine catches without retrying; ``ThrottledError`` is retried with backoff.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from pydantic import BaseModel

from runtime import startup_complete
from runtime.common.dynamo import error_code
from runtime.common.errors import ThrottledError
from runtime.common.observability import logger, metrics, tracer
from runtime.common.settings import load
from runtime.pipeline.imaging import ImagingSettings
from runtime.pipeline.steps import ImageJob, PipelineSteps, StagedVariant
from runtime.pipeline.storage import ObjectStore
from runtime.uploads.repository import ImageRepository

_SNS_TRANSIENT = frozenset(
    {"Throttling", "ThrottlingException", "ThrottledException", "InternalError", "KMSThrottling"}
)


class StepSettings(ImagingSettings):
    images_table: str
    images_bucket: str
    notifications_topic_arn: str | None = None


class _Event(BaseModel):
    job: ImageJob
    variants: list[StagedVariant] = []
    metadata: dict[str, Any] = {}
    error: dict[str, Any] | None = None


class TopicAnnouncer:
    """Publishes results for other systems (analytics, moderation) to the pipeline's SNS topic."""

    def __init__(self, topic_arn: str | None, client: Any | None = None) -> None:
        self._topic = topic_arn
        self._client = client

    def image_processed(self, message: dict[str, Any]) -> None:
        if not self._topic:
            return
        client = self._client or boto3.client("sns")
        try:
            client.publish(
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


class _NoSockets:
    """Steps that never notify (Validate, Resize, Watermark) need no WebSocket settings."""

    def notify_user(self, user_id: str, frame: dict[str, Any]) -> int:
        return 0


@cache
def _steps(notifying: bool) -> PipelineSteps:
    settings = load(StepSettings)
    notifier: Any = _NoSockets()
    if notifying:
        from runtime.realtime.notify import notifier as realtime_notifier

        notifier = realtime_notifier()
    return PipelineSteps(
        records=ImageRepository(settings.images_table),
        objects=ObjectStore(),
        images_bucket=settings.images_bucket,
        limits=settings.limits,
        watermark=settings.watermark,
        notifier=notifier,
        announcer=TopicAnnouncer(settings.notifications_topic_arn),
    )


def _run(step: str, event: dict[str, Any], work: Callable[[_Event], dict[str, Any]]) -> dict[str, Any]:
    parsed = _Event.model_validate(event)
    logger.append_keys(image_id=parsed.job.image_id, owner_id=parsed.job.owner_id, step=step)
    started = time.perf_counter()
    try:
        return work(parsed)
    finally:
        elapsed_ms = (time.perf_counter() - started) * 1000
        metrics.add_dimension(name="Step", value=step)
        metrics.add_metric(name="ProcessingTime", unit=MetricUnit.Milliseconds, value=elapsed_ms)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def validate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _run("validate", event, lambda e: _steps(False).validate(e.job))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def resize(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _run("resize", event, lambda e: _steps(False).resize(e.job))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def watermark(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _run("watermark", event, lambda e: _steps(False).add_watermark(e.job, e.variants))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def record(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = _run("record", event, lambda e: _steps(True).record(e.job, e.metadata, e.variants))
    metrics.add_metric(name="ImagesProcessed", unit=MetricUnit.Count, value=1)
    return result


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def fail(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = _run("fail", event, lambda e: _steps(True).fail(e.job, e.error))
    metrics.add_metric(name="ProcessingErrors", unit=MetricUnit.Count, value=1)
    logger.warning("image processing failed", extra={"reason": result.get("error"), "error": event.get("error")})
    return result


startup_complete()  # the last statement: see runtime/__init__.py
