"""The Resize step's output as a client would see it without the watermark."""

from __future__ import annotations

from typing import Any

from runtime.pipeline.imaging import EncodedVariant, ProcessedImage, resize_image, staged
from runtime.pipeline.imaging.encode import encode_jpeg


def rendered(data: bytes, *args: Any, **kwargs: Any) -> ProcessedImage:
    """``resize_image``'s staged pixels encoded as the Watermark step encodes them, minus the mark:
    what resizing alone puts into the output JPEGs."""
    resized = resize_image(data, *args, **kwargs)
    variants = tuple(
        EncodedVariant(v.name, v.width, v.height, encode_jpeg(staged.unpack(v.data))) for v in resized.variants
    )
    return ProcessedImage(info=resized.info, variants=variants)
