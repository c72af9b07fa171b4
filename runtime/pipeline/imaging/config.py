"""What the image core is configured with: limits, the variants, the watermark.

The variants and the JPEG encoding are the client contract (CONTRACT.md, "Images") and so are
constants; the limits and the watermark are deployment choices, read from the environment by
``ImagingSettings`` (``IMAGE_MAX_BYTES``, ``IMAGE_MAX_PIXELS``, and ``WATERMARK`` as one JSON
object, e.g. ``{"text": "© Acme", "position": "top-left", "opacity": 0.4}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from PIL import ImageColor
from pydantic import BaseModel, ConfigDict, Field, field_validator

from runtime.common.settings import FunctionSettings

# The contract's upload limit (the presigned POST enforces the same number in S3).
MAX_IMAGE_BYTES = 10 * 1024 * 1024
# 50 MP holds every phone and most cameras; decoding one costs ~150 MB for a PNG, far less for
# a JPEG (decoded at a reduced scale). Anything larger is refused before a pixel is decoded.
MAX_IMAGE_PIXELS = 50_000_000

JPEG_QUALITY = 85


@dataclass(frozen=True)
class VariantSpec:
    """A box the image is fitted inside (aspect kept, never upscaled)."""

    name: str
    max_width: int
    max_height: int


# Largest first: each smaller variant is derived from the one before it.
VARIANTS: tuple[VariantSpec, ...] = (
    VariantSpec("large", 1920, 1080),
    VariantSpec("medium", 1200, 900),
    VariantSpec("small", 800, 600),
)


class ImageLimits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_bytes: int = Field(default=MAX_IMAGE_BYTES, gt=0)
    max_pixels: int = Field(default=MAX_IMAGE_PIXELS, gt=0)


class WatermarkPosition(StrEnum):
    TOP_LEFT = "top-left"
    TOP_RIGHT = "top-right"
    BOTTOM_LEFT = "bottom-left"
    BOTTOM_RIGHT = "bottom-right"
    CENTER = "center"


class WatermarkConfig(BaseModel):
    """How variants are marked: a line of text, or a logo image when ``logo_path`` is set.

    Sizes are fractions of the variant's shorter side, so the mark looks the same on every
    variant whatever its pixel size.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(default="© Messaging", min_length=1, max_length=200)
    # A TrueType/OpenType file; by default Pillow's bundled font (no file to ship).
    font_path: Path | None = None
    # An image (PNG with transparency works best) drawn instead of the text.
    logo_path: Path | None = None
    color: str = "#ffffff"
    opacity: float = Field(default=0.6, gt=0, le=1)
    position: WatermarkPosition = WatermarkPosition.BOTTOM_RIGHT
    # Text height (font size), or logo height, as a fraction of the shorter side.
    size: float = Field(default=0.04, gt=0, le=0.5)
    # Distance from the edges, as a fraction of the shorter side.
    margin: float = Field(default=0.02, ge=0, le=0.25)

    @field_validator("color")
    @classmethod
    def _known_color(cls, value: str) -> str:
        try:
            ImageColor.getrgb(value)
        except ValueError as exc:
            raise ValueError(f"not a colour Pillow understands: {value!r}") from exc
        return value

    @property
    def rgb(self) -> tuple[int, int, int]:
        red, green, blue = ImageColor.getrgb(self.color)[:3]
        return red, green, blue


class ImagingSettings(FunctionSettings):
    """The environment of the functions that run the image core."""

    image_max_bytes: int = Field(default=MAX_IMAGE_BYTES, gt=0)
    image_max_pixels: int = Field(default=MAX_IMAGE_PIXELS, gt=0)
    watermark: WatermarkConfig = WatermarkConfig()

    @property
    def limits(self) -> ImageLimits:
        return ImageLimits(max_bytes=self.image_max_bytes, max_pixels=self.image_max_pixels)
