"""The image core's entry points: the three steps separately, or all of them in one pass.

Steps in separate Lambda functions share nothing but S3, so every entry point takes bytes and
returns bytes (what ``get_object``/``put_object`` deal in):

- ``validate_image(data)`` -> ``ImageInfo`` (decodes every byte once, at the cheapest scale);
- ``resize_image(data)`` -> the variants' pixels, un-watermarked and not yet encoded
  (``staged``: a second JPEG generation in Watermark cost 3-5 dB);
- ``watermark_variant(staged)`` -> that variant watermarked and encoded: the output JPEG.

``process_image(data)`` does all three in one process on one decode, encoding each variant
while the next is resampled. The two steps give exactly its bytes (a test pins that), so it is
also what the benchmark and the tests take as the image core's result. Every function raises
``InvalidImageError`` for a bad upload and lets anything else (transient) propagate.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future

from PIL import Image

from runtime.pipeline.imaging import staged
from runtime.pipeline.imaging.config import VARIANTS, ImageLimits, VariantSpec, WatermarkConfig
from runtime.pipeline.imaging.decode import check_integrity, open_image
from runtime.pipeline.imaging.encode import encode_jpeg, encode_later
from runtime.pipeline.imaging.models import EncodedVariant, ImageInfo, PixelVariant, ProcessedImage, ResizedImage
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
    """Validate, resize and watermark in one process on one decode, each variant encoded while
    the next is resampled: the steps' result (to the bit) at the cost of a single function."""
    image, info = open_image(data, limits)
    pending: dict[int, tuple[Image.Image, Future[bytes]]] = {}
    with image:
        for index, variant in render_variants(image, info, variants):
            apply_watermark(variant, watermark)
            pending[index] = (variant, encode_later(variant))
    encoded = []
    for index, spec in enumerate(variants):
        variant, jpeg = pending[index]
        encoded.append(EncodedVariant(spec.name, variant.width, variant.height, jpeg.result()))
    return ProcessedImage(info=info, variants=tuple(encoded))


def resize_image(
    data: bytes, limits: ImageLimits = _DEFAULT_LIMITS, variants: Sequence[VariantSpec] = VARIANTS
) -> ResizedImage:
    """The Resize step on its own: the validated variants' pixels, staged for Watermark."""
    image, info = open_image(data, limits)
    rendered: dict[int, PixelVariant] = {}
    with image:
        for index, variant in render_variants(image, info, variants):
            rendered[index] = PixelVariant(variants[index].name, variant.width, variant.height, staged.pack(variant))
    return ResizedImage(info=info, variants=tuple(rendered[index] for index in range(len(variants))))


def watermark_variant(data: bytes, watermark: WatermarkConfig = _DEFAULT_WATERMARK) -> bytes:
    """The Watermark step on its own: one staged variant in (``resize_image``), the output JPEG out."""
    image = staged.unpack(data)
    apply_watermark(image, watermark)
    return encode_jpeg(image)
