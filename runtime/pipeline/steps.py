"""The state machine's work, step by step, free of Lambda: S3 keys in, S3 keys and records out.

This module holds what every step shares and the two outcome steps (Record and MarkFailed),
which never touch pixels; ``image_steps`` holds the three that do, so only their functions
import Pillow and the image core at a cold start.

Steps share nothing but S3 and the image record. Validate reads the upload, Resize writes the
variants' pixels (un-watermarked, not yet encoded: ``imaging.staged``) under ``processing/`` in
the uploads bucket, Watermark encodes the final variants under ``variants/`` in the images
bucket (the only place clients get URLs for), and Record marks the image COMPLETED and tells
its owner. A failure anywhere is caught by the state machine and handed to ``fail``, which
marks the image FAILED with a reason a user can read and removes any variant already written,
so nothing lands in the output bucket for a failure.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, Field

from runtime.common.errors import ConflictError
from runtime.pipeline.storage import ObjectStore, variant_key
from runtime.uploads.models import ImageStatus

GENERIC_FAILURE = "the image could not be processed"
# The error name Step Functions reports for ``imaging.InvalidImageError`` (a test pins the two
# together): the outcome steps read it without importing the image core.
INVALID_IMAGE_ERROR = "InvalidImageError"
VARIANT_SIZES = ("small", "medium", "large")


class ImageJob(BaseModel):
    """The execution input the orchestrator starts every run with."""

    bucket: str
    key: str
    owner_id: str
    image_id: str
    size: int = 0


class StagedVariant(BaseModel):
    size: str
    width: int
    height: int
    key: str
    file_size: int = Field(default=0, ge=0)


class ImageRecords(Protocol):
    def update_status(
        self,
        owner_id: str,
        image_id: str,
        *,
        status: ImageStatus,
        expected: tuple[ImageStatus, ...],
        attributes: dict[str, Any] | None = None,
        remove: tuple[str, ...] = (),
    ) -> dict[str, Any]: ...


class OwnerNotifier(Protocol):
    def notify_user(self, user_id: str, frame: dict[str, Any]) -> int: ...


class Announcer(Protocol):
    def image_processed(self, message: dict[str, Any]) -> None: ...


@dataclass
class OutcomeSteps:
    """Record and MarkFailed: the image record, the variants' removal on failure, the owner told."""

    records: ImageRecords
    objects: ObjectStore
    images_bucket: str
    notifier: OwnerNotifier
    announcer: Announcer
    clock: Callable[[], float] = time.time

    def record(self, job: ImageJob, metadata: dict[str, Any], variants: list[StagedVariant]) -> dict[str, Any]:
        now = int(self.clock())
        # COMPLETED too: a retry of this step after its write committed (the answer lost, or the
        # notification after it failed) writes the same result again instead of failing the image.
        self.records.update_status(
            job.owner_id,
            job.image_id,
            status=ImageStatus.COMPLETED,
            expected=(ImageStatus.PROCESSING, ImageStatus.COMPLETED),
            attributes={
                "metadata": metadata,
                "variants": [v.model_dump() for v in variants],
                "completed_at": now,
            },
        )
        self._tell(job, ImageStatus.COMPLETED)
        return {"status": ImageStatus.COMPLETED.value}

    def fail(self, job: ImageJob, error: dict[str, Any] | None) -> dict[str, Any]:
        reason = user_reason(error)
        # The record first: a COMPLETED image (Record committed, then its step failed) keeps its
        # variants; FAILED is accepted again so that a retry of this step finishes the clean-up.
        try:
            self.records.update_status(
                job.owner_id,
                job.image_id,
                status=ImageStatus.FAILED,
                expected=(ImageStatus.UPLOADED, ImageStatus.PROCESSING, ImageStatus.FAILED),
                attributes={"error": reason, "failed_at": int(self.clock())},
                remove=("ttl",),
            )
        except ConflictError:
            # No record (it expired unclaimed) or it already finished: nothing of the user's to mark.
            return {"status": ImageStatus.FAILED.value, "error": reason, "recorded": False}
        self.objects.delete(self.images_bucket, [variant_key(job.owner_id, job.image_id, s) for s in VARIANT_SIZES])
        self._tell(job, ImageStatus.FAILED)
        return {"status": ImageStatus.FAILED.value, "error": reason, "recorded": True}

    def _tell(self, job: ImageJob, status: ImageStatus) -> None:
        frame = {"action": "IMAGE_PROCESSED", "imageId": job.image_id, "status": status.value}
        self.notifier.notify_user(job.owner_id, frame)
        self.announcer.image_processed({**frame, "ownerId": job.owner_id})


def user_reason(error: dict[str, Any] | None) -> str:
    """What the user is told: our own validation message, never an internal error's text."""
    if not error:
        return GENERIC_FAILURE
    if error.get("Error") != INVALID_IMAGE_ERROR:
        return GENERIC_FAILURE
    try:
        cause = json.loads(error.get("Cause") or "{}")
    except ValueError:
        return GENERIC_FAILURE
    message = cause.get("errorMessage") if isinstance(cause, dict) else None
    return str(message)[:300] if message else GENERIC_FAILURE
