"""A variant's pixels on their way from the Resize step to the Watermark step.

The two steps are separate Lambda functions that share only S3. Handing a variant over as a
JPEG meant a second JPEG generation: Watermark decoded it, drew the mark and encoded it again,
which cost 3 to 5 dB against a LANCZOS resize of the full image (12 MP: 41.5 / 40.9 / 39.5
against the one-pass render's 45.2 / 45.0 / 44.1 dB, docs/benchmarks.md) and a second decode of
every variant. The pixels go over as they are instead: a 13-byte header and Pillow's raw bytes
(at most 1920 x 1080 x 3, 6.2 MB), so each variant is encoded once, in Watermark, and is
bit-identical to the one-pass render's.

``RGB`` or ``YCbCr`` (the image core keeps colour JPEGs in JPEG's own colour space from decode
to encode): both encode to the same kind of JPEG.
"""

from __future__ import annotations

import struct

from PIL import Image

from runtime.pipeline.imaging.config import VARIANTS

_MAGIC = b"MSGPIX\x00\x01"
# magic, mode, width, height (big-endian)
_HEADER = struct.Struct(">8sBHH")
_MODES = ("RGB", "YCbCr")
_MAX_WIDTH = max(spec.max_width for spec in VARIANTS)
_MAX_HEIGHT = max(spec.max_height for spec in VARIANTS)
# The largest object ``pack`` writes: what the Watermark step may read.
MAX_BYTES = _HEADER.size + _MAX_WIDTH * _MAX_HEIGHT * 3
CONTENT_TYPE = "application/octet-stream"


def pack(image: Image.Image) -> bytes:
    """``image`` (``RGB`` or ``YCbCr``, at most the largest variant's box) as staged bytes."""
    if image.mode not in _MODES:
        raise ValueError(f"only {' and '.join(_MODES)} variants are staged, not {image.mode}")
    if not (0 < image.width <= _MAX_WIDTH and 0 < image.height <= _MAX_HEIGHT):
        raise ValueError(f"a {image.width}x{image.height} image is no variant")
    return _HEADER.pack(_MAGIC, _MODES.index(image.mode), image.width, image.height) + image.tobytes()


def unpack(data: bytes) -> Image.Image:
    """The image ``pack`` wrote; ``ValueError`` for anything else (a truncated or foreign object)."""
    if len(data) < _HEADER.size:
        raise ValueError("not a staged variant: too short")
    magic, mode, width, height = _HEADER.unpack_from(data)
    if magic != _MAGIC or mode >= len(_MODES):
        raise ValueError("not a staged variant")
    if not (0 < width <= _MAX_WIDTH and 0 < height <= _MAX_HEIGHT):
        raise ValueError(f"not a staged variant: {width}x{height}")
    if len(data) != _HEADER.size + width * height * 3:
        raise ValueError("not a staged variant: wrong length")
    return Image.frombytes(_MODES[mode], (width, height), data[_HEADER.size :])
