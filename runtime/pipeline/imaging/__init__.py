"""The image core of the pipeline: pure Pillow, bytes in and bytes out, no AWS.

See ``pipeline`` for the entry points and how they map onto Step Functions tasks.
"""

from runtime.pipeline.imaging.config import (
    JPEG_QUALITY,
    VARIANTS,
    ImageLimits,
    ImagingSettings,
    VariantSpec,
    WatermarkConfig,
    WatermarkPosition,
)
from runtime.pipeline.imaging.exceptions import InvalidImageError
from runtime.pipeline.imaging.models import (
    EncodedVariant,
    ImageInfo,
    ImageMetadata,
    PixelVariant,
    ProcessedImage,
    ResizedImage,
)
from runtime.pipeline.imaging.pipeline import process_image, resize_image, validate_image, watermark_variant
from runtime.pipeline.imaging.probe import ImageFormat

__all__ = [
    "JPEG_QUALITY",
    "VARIANTS",
    "EncodedVariant",
    "ImageFormat",
    "ImageInfo",
    "ImageLimits",
    "ImageMetadata",
    "ImagingSettings",
    "InvalidImageError",
    "PixelVariant",
    "ProcessedImage",
    "ResizedImage",
    "VariantSpec",
    "WatermarkConfig",
    "WatermarkPosition",
    "process_image",
    "resize_image",
    "validate_image",
    "watermark_variant",
]
