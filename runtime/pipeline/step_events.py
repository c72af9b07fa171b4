"""What every step function shares: the event Step Functions sends it, and the timing around it.

Lambda-side (logger, metrics) but free of the image core, so that both handler modules
(``steps_handler`` for the pixel steps, ``outcome_handler`` for Record and MarkFailed) use it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from runtime.common.observability import logger, metrics
from runtime.pipeline.steps import ImageJob, StagedVariant


class StepEvent(BaseModel):
    """``{"job": ..., ...}``: the task payloads the state machine definition builds."""

    job: ImageJob
    variants: list[StagedVariant] = []
    metadata: dict[str, Any] = {}
    error: dict[str, Any] | None = None


def run_step(step: str, event: dict[str, Any], work: Callable[[StepEvent], dict[str, Any]]) -> dict[str, Any]:
    """Parse the event, tag the log lines with the image, and time the step as ProcessingTime."""
    parsed = StepEvent.model_validate(event)
    logger.append_keys(image_id=parsed.job.image_id, owner_id=parsed.job.owner_id, step=step)
    started = time.perf_counter()
    try:
        return work(parsed)
    finally:
        elapsed_ms = (time.perf_counter() - started) * 1000
        metrics.add_dimension(name="Step", value=step)
        metrics.add_metric(name="ProcessingTime", unit=MetricUnit.Milliseconds, value=elapsed_ms)
