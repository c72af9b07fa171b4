"""The first look at an upload: its real type and its dimensions, read from the header bytes.

This runs before any decoder sees the file, so a decompression bomb (a few kilobytes that
claim 50,000 x 50,000 pixels) is refused by arithmetic on two header fields, and a text file
named ``photo.jpg`` never reaches Pillow. The declared name and content type are ignored: the
magic numbers decide, so a PNG renamed ``.jpg`` is processed as the PNG it is.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import StrEnum

from runtime.pipeline.imaging.config import ImageLimits
from runtime.pipeline.imaging.exceptions import InvalidImageError

NOT_AN_IMAGE = "the file is not a JPEG, PNG or GIF image"
DAMAGED = "the image is damaged or incomplete"
EMPTY = "the file is empty"


class ImageFormat(StrEnum):
    """The formats the contract accepts, named as Pillow names them."""

    JPEG = "JPEG"
    PNG = "PNG"
    GIF = "GIF"

    @property
    def content_type(self) -> str:
        return f"image/{self.value.lower()}"


@dataclass(frozen=True)
class Probe:
    format: ImageFormat
    width: int
    height: int


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers carry the dimensions; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
# Markers without a length field.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_JPEG_SOS = 0xDA
_JPEG_EOI = 0xD9


def sniff_format(data: bytes) -> ImageFormat | None:
    if data.startswith(b"\xff\xd8\xff"):
        return ImageFormat.JPEG
    if data.startswith(_PNG_SIGNATURE):
        return ImageFormat.PNG
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return ImageFormat.GIF
    return None


def probe(data: bytes, limits: ImageLimits) -> Probe:
    """Type, size and pixel count checks that cost microseconds; raises ``InvalidImageError``."""
    if not data:
        raise InvalidImageError(EMPTY)
    if len(data) > limits.max_bytes:
        raise InvalidImageError(f"the file is larger than {_megabytes(limits.max_bytes)}")
    image_format = sniff_format(data)
    if image_format is None:
        raise InvalidImageError(NOT_AN_IMAGE)
    reader = {ImageFormat.JPEG: _jpeg_size, ImageFormat.PNG: _png_size, ImageFormat.GIF: _gif_size}[image_format]
    size = reader(data)
    if size is None or size[0] <= 0 or size[1] <= 0:
        raise InvalidImageError(DAMAGED)
    width, height = size
    check_pixels(width, height, limits)
    return Probe(image_format, width, height)


def check_pixels(width: int, height: int, limits: ImageLimits) -> None:
    if width * height > limits.max_pixels:
        raise InvalidImageError(
            f"the image is too large: {width} x {height} pixels, "
            f"at most {limits.max_pixels / 1e6:g} megapixels are accepted"
        )


def _megabytes(count: int) -> str:
    return f"{count / (1024 * 1024):g} MB"


def _png_size(data: bytes) -> tuple[int, int] | None:
    # Signature, then the IHDR chunk: length (13), type, width, height.
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _gif_size(data: bytes) -> tuple[int, int] | None:
    # The logical screen; Pillow enlarges the canvas if a frame overflows it, and that size is
    # checked again after Pillow has read the first frame's header.
    if len(data) < 10:
        return None
    width, height = struct.unpack("<HH", data[6:10])
    return width, height


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Walk the marker segments to the first start-of-frame; ``None`` if there is none."""
    pos, end = 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_STANDALONE:
            pos += 2
            continue
        if marker in (_JPEG_SOS, _JPEG_EOI):
            return None
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _JPEG_SOF:
            if pos + 9 > end:
                return None
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None
