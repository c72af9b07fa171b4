"""The image core's entry points: the three steps separately, or all of them in one pass.

Steps in separate Lambda functions share nothing but S3, so every entry point takes the
object's bytes and returns bytes (what ``get_object``/``put_object`` deal in):

- ``validate_image(data)`` -> ``ImageInfo`` (decodes every byte once, at the cheapest scale);
- ``resize_image(data)`` -> the variants, un-watermarked;
- ``watermark_variant(jpeg)`` -> that variant watermarked (a second JPEG generation, at the
  same quality and quantization tables, so the loss is small but not zero).

``process_image(data)`` does all three on one decode, which is the fast path: the image is
decoded once at reduced scale, and the watermark is drawn into the variants before their
only encoding. Every function raises ``InvalidImageError`` for a bad upload and lets
anything else (transient) propagate.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from concurrent.futures import Future

from PIL import Image

from runtime.pipeline.imaging.config import VARIANTS, ImageLimits, VariantSpec, WatermarkConfig
from runtime.pipeline.imaging.decode import check_integrity, open_image, refusing_bad_images
from runtime.pipeline.imaging.encode import encode_jpeg, encode_later
from runtime.pipeline.imaging.models import EncodedVariant, ImageInfo, ProcessedImage
from runtime.pipeline.imaging.probe import ImageFormat, probe
from runtime.pipeline.imaging.render import render_variants
from runtime.pipeline.imaging.watermark import apply_watermark

_DEFAULT_LIMITS = ImageLimits()
_DEFAULT_WATERMARK = WatermarkConfig()


def validate_image(data: bytes, limits: ImageLimits = _DEFAULT_LIMITS) -> ImageInfo:
    """The Validate step: type, size, dimensions, integrity and metadata."""
    image, info = open_image(data, limits)
    with image:
        check_integrity(image, info)
    return info


def process_image(
    data: bytes,
    limits: ImageLimits = _DEFAULT_LIMITS,
    watermark: WatermarkConfig = _DEFAULT_WATERMARK,
    variants: Sequence[VariantSpec] = VARIANTS,
) -> ProcessedImage:
    """Validate, resize and watermark in one pass: the hot path."""
    return _process(data, limits, watermark, variants)


def resize_image(
    data: bytes, limits: ImageLimits = _DEFAULT_LIMITS, variants: Sequence[VariantSpec] = VARIANTS
) -> ProcessedImage:
    """The Resize step on its own: validated variants without the watermark."""
    return _process(data, limits, None, variants)


def watermark_variant(data: bytes, watermark: WatermarkConfig = _DEFAULT_WATERMARK) -> bytes:
    """The Watermark step on its own: one JPEG variant in, the same variant watermarked out."""
    head = probe(data, ImageLimits())
    if head.format is not ImageFormat.JPEG:
        raise ValueError("watermark_variant takes a variant produced by resize_image (a JPEG)")
    with refusing_bad_images(), Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
        image.load()
        rgb = image.convert("RGB")
    apply_watermark(rgb, watermark)
    return encode_jpeg(rgb)


def _process(
    data: bytes, limits: ImageLimits, watermark: WatermarkConfig | None, variants: Sequence[VariantSpec]
) -> ProcessedImage:
    image, info = open_image(data, limits)
    pending: dict[int, tuple[Image.Image, Future[bytes]]] = {}
    with image:
        for index, variant in render_variants(image, info, variants):
            if watermark is not None:
                apply_watermark(variant, watermark)
            pending[index] = (variant, encode_later(variant))
    encoded = []
    for index, spec in enumerate(variants):
        variant, jpeg = pending[index]
        encoded.append(EncodedVariant(spec.name, variant.width, variant.height, jpeg.result()))
    return ProcessedImage(info=info, variants=tuple(encoded))
