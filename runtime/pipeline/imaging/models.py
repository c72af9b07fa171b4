"""What the image core hands back: the contract's metadata, and the encoded variants."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from runtime.pipeline.imaging.probe import ImageFormat


class ImageMetadata(BaseModel):
    """``metadata`` of ``GET /images/{imageId}``: the original's size as displayed (EXIF
    orientation applied), its real format, and its colour space (``sRGB``, ``Gray``, ``CMYK``,
    or the embedded profile's name for other RGB spaces, e.g. ``Display P3``)."""

    model_config = ConfigDict(frozen=True, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    width: int = Field(gt=0)
    height: int = Field(gt=0)
    format: ImageFormat
    color_space: str = Field(alias="colorSpace")


@dataclass(frozen=True)
class ImageInfo:
    """Everything Validate learns about an upload; ``metadata`` is the part clients see."""

    format: ImageFormat
    width: int  # as displayed, after the EXIF orientation
    height: int
    color_space: str
    # EXIF orientation 1-8 (1 = as stored); 5-8 swap width and height.
    orientation: int
    # Only the first frame of an animated GIF (or APNG) becomes the variants.
    animated: bool

    @property
    def content_type(self) -> str:
        return self.format.content_type

    @property
    def metadata(self) -> ImageMetadata:
        return ImageMetadata(width=self.width, height=self.height, format=self.format, color_space=self.color_space)


@dataclass(frozen=True)
class EncodedVariant:
    """One output JPEG: the contract's ``{size, dimensions, fileSize}`` plus its bytes."""

    name: str
    width: int
    height: int
    data: bytes

    @property
    def file_size(self) -> int:
        return len(self.data)

    @property
    def dimensions(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class ProcessedImage:
    info: ImageInfo
    variants: tuple[EncodedVariant, ...]


@dataclass(frozen=True)
class PixelVariant:
    """One variant between the Resize and Watermark steps: its size and its staged pixels
    (``staged.pack``), not yet watermarked or encoded."""

    name: str
    width: int
    height: int
    data: bytes


@dataclass(frozen=True)
class ResizedImage:
    info: ImageInfo
    variants: tuple[PixelVariant, ...]
