"""Lambda entry points of the state machine's pixel steps: Validate, Resize, Watermark.

Step Functions invokes each with ``{"job": ..., ...}`` (see the stack's task payloads) and keeps
what it returns under the step's result path. A bad upload raises ``InvalidImageError``, which
the state machine catches without retrying; ``ThrottledError`` is retried with backoff. Record
and MarkFailed live in ``outcome_handler``, which does not import the image core.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from runtime import startup_complete
from runtime.common.observability import logger, metrics, tracer
from runtime.common.settings import load
from runtime.pipeline.image_steps import ImageSteps
from runtime.pipeline.imaging import ImagingSettings
from runtime.pipeline.step_events import run_step
from runtime.pipeline.storage import ObjectStore
from runtime.uploads.repository import ImageRepository


class StepSettings(ImagingSettings):
    images_table: str
    images_bucket: str


@cache
def _steps() -> ImageSteps:
    settings = load(StepSettings)
    return ImageSteps(
        records=ImageRepository(settings.images_table),
        objects=ObjectStore(),
        images_bucket=settings.images_bucket,
        limits=settings.limits,
        watermark=settings.watermark,
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def validate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_step("validate", event, lambda e: _steps().validate(e.job))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def resize(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_step("resize", event, lambda e: _steps().resize(e.job))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def watermark(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_step("watermark", event, lambda e: _steps().add_watermark(e.job, e.variants))


startup_complete()  # the last statement: see runtime/__init__.py
