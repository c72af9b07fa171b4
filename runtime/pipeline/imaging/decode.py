"""Opening an upload with Pillow once the header probe has let it through.

``open_image`` parses headers only (no pixels); the caller decides how to decode: at a reduced
scale for the variants (``render.render_variants``), or as cheaply as possible for a
standalone integrity check (``check_integrity``). Every Pillow failure caused by the file
becomes an ``InvalidImageError`` with a reason the user can read; ``MemoryError`` and
anything else are left to propagate as transient.

What "integrity" covers: a file cut short (every byte of the first frame is decoded, so a
missing tail is found), broken headers and tables. Corrupt entropy-coded data inside a
complete JPEG is decoded the way browsers show it (libjpeg only warns, and Pillow does not
surface its warnings), so such a file passes with grey or smeared blocks.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from PIL import Image, ImageCms, UnidentifiedImageError

from runtime.pipeline.imaging.config import ImageLimits
from runtime.pipeline.imaging.exceptions import InvalidImageError
from runtime.pipeline.imaging.models import ImageInfo
from runtime.pipeline.imaging.probe import DAMAGED, ImageFormat, check_pixels, probe

_EXIF_ORIENTATION = 0x0112
# EXIF orientations that rotate by 90 or 270 degrees, so the displayed size is swapped.
SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})
# What decoders raise on bad input (Pillow's plugins are not consistent about it).
_DECODE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    struct.error,
    zlib.error,
)


@contextmanager
def refusing_bad_images() -> Iterator[None]:
    """Turn decoder failures into ``InvalidImageError``; bombs get their own reason."""
    try:
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS; ``ImageLimits`` is the bound that decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    except Image.DecompressionBombError as exc:
        raise InvalidImageError("the image is too large to process") from exc
    except MemoryError:
        raise  # not the file's fault: transient (retry with more memory)
    except _DECODE_ERRORS as exc:
        # A truncated file, a corrupt stream and a broken header all read the same to a user.
        raise InvalidImageError(DAMAGED) from exc


def open_image(data: bytes, limits: ImageLimits) -> tuple[Image.Image, ImageInfo]:
    """Header checks and Pillow's header parse; no pixel is decoded yet."""
    head = probe(data, limits)
    with refusing_bad_images():
        image = Image.open(io.BytesIO(data), formats=[head.format.value])
        # A GIF frame can overflow the logical screen the probe read; Pillow's size is final.
        check_pixels(*image.size, limits)
        # Looks for a second frame header without decoding it, and stays on the first frame.
        animated = bool(getattr(image, "is_animated", False))
    orientation = _orientation(image)
    width, height = image.size
    if orientation in SWAPPING_ORIENTATIONS:
        width, height = height, width
    info = ImageInfo(
        format=head.format,
        width=width,
        height=height,
        color_space=color_space(image),
        orientation=orientation,
        animated=animated,
    )
    return image, info


def check_integrity(image: Image.Image, info: ImageInfo) -> None:
    """Decode every byte of the (first) frame, as cheaply as the format allows.

    A JPEG is decoded at 1/8 scale (the entropy-coded data is still read to the end, which is
    what finds a truncated file); PNG and GIF have no reduced decode.
    """
    if info.format is ImageFormat.JPEG:
        image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
    with refusing_bad_images():
        image.load()


def color_space(image: Image.Image) -> str:
    if image.mode == "CMYK":
        return "CMYK"
    if image.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"):
        return "Gray"
    description = profile_description(image.info.get("icc_profile"))
    if description and "srgb" not in description.lower():
        return description
    return "sRGB"


@lru_cache(maxsize=32)
def profile_description(icc_profile: bytes | None) -> str | None:
    """The embedded ICC profile's name, or ``None`` if there is none or it cannot be read."""
    if not icc_profile:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return ImageCms.getProfileDescription(profile).strip() or None
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None


def _orientation(image: Image.Image) -> int:
    if image.format == ImageFormat.PNG.value and "exif" not in image.info:
        # Pillow would decode the whole PNG to look for an eXIf chunk after the pixels;
        # a PNG's orientation chunk, when there is one, comes before them in practice.
        return 1
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except _DECODE_ERRORS:
        return 1  # unreadable EXIF: the pixels are still good, shown as stored
    return value if isinstance(value, int) and 1 <= value <= 8 else 1
