"""The three steps that work on pixels, free of Lambda (see ``steps`` for the other two)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runtime.pipeline.imaging import (
    ImageLimits,
    PixelVariant,
    WatermarkConfig,
    resize_image,
    staged,
    validate_image,
)
from runtime.pipeline.imaging import watermark_variant as apply_watermark_to
from runtime.pipeline.imaging.workers import pool
from runtime.pipeline.steps import ImageJob, ImageRecords, StagedVariant
from runtime.pipeline.storage import ObjectStore, staging_key, variant_key
from runtime.uploads.models import ImageStatus


@dataclass
class ImageSteps:
    """Validate, Resize and Watermark: upload bytes in, staged and then final variants out."""

    records: ImageRecords
    objects: ObjectStore
    images_bucket: str
    limits: ImageLimits
    watermark: WatermarkConfig
    clock: Callable[[], float] = time.time

    def validate(self, job: ImageJob) -> dict[str, Any]:
        # Any earlier state may precede a run: a re-upload to the same key reprocesses the image.
        self.records.update_status(
            job.owner_id,
            job.image_id,
            status=ImageStatus.PROCESSING,
            expected=tuple(ImageStatus),
            attributes={"processing_started_at": int(self.clock())},
            remove=("ttl", "error"),
        )
        info = validate_image(self._read(job), self.limits)
        return {"metadata": info.metadata.model_dump(mode="json", by_alias=True), "animated": info.animated}

    def resize(self, job: ImageJob) -> dict[str, Any]:
        resized = resize_image(self._read(job), self.limits)

        def hand_over(variant: PixelVariant) -> StagedVariant:
            key = staging_key(job.owner_id, job.image_id, variant.name)
            self.objects.put_staged(job.bucket, key, variant.data, staged.CONTENT_TYPE)
            return StagedVariant(size=variant.name, width=variant.width, height=variant.height, key=key)

        # ~9 MB of pixels for a 12 MP photo: the three writes run side by side.
        handed_over = list(pool().map(hand_over, resized.variants))
        return {"variants": [v.model_dump() for v in handed_over]}

    def add_watermark(self, job: ImageJob, handed_over: list[StagedVariant]) -> dict[str, Any]:
        # The variants are independent: each is read, marked, encoded and written on a thread of
        # its own, so S3's round trips overlap the encoding (and the encodes share the vCPUs).
        final = list(pool().map(lambda variant: self._finish(job, variant), handed_over))
        self.objects.delete(job.bucket, [v.key for v in handed_over])
        return {"variants": [v.model_dump() for v in final]}

    def _finish(self, job: ImageJob, variant: StagedVariant) -> StagedVariant:
        pixels = self.objects.get(job.bucket, variant.key, max_bytes=staged.MAX_BYTES)
        jpeg = apply_watermark_to(pixels, self.watermark)
        key = variant_key(job.owner_id, job.image_id, variant.size)
        self.objects.put_jpeg(self.images_bucket, key, jpeg)
        return variant.model_copy(update={"key": key, "file_size": len(jpeg)})

    def _read(self, job: ImageJob) -> bytes:
        # One byte past the limit is enough to know the upload is too large.
        return self.objects.get(job.bucket, job.key, max_bytes=self.limits.max_bytes)
