"""From an opened upload to the variants' pixels: decode once, at the smallest useful scale.

The costs that matter on a 12 MP photo, and what this module does about each:

- Decoding the full JPEG is the largest cost. ``Image.draft`` asks libjpeg to scale by 1/2,
  1/4 or 1/8 in the DCT domain while decoding, to the smallest scale that is still at least
  the largest variant, so a 4000x3000 photo decodes straight to 2000x1500.
- Every later step runs on that reduced image or smaller: one resample to the largest variant,
  then each smaller variant from the one before it (not from the full image), and the colour
  conversion, transparency flattening and EXIF rotation on the largest variant only.

Colour: embedded ICC profiles are converted to sRGB (CMYK included); images without one are
taken as sRGB, as browsers do. Transparency is flattened onto white. Only the first frame of
an animated GIF is used: a still variant of an animation is what the contract's JPEG outputs
can carry. No metadata (EXIF with its GPS position, XMP, comments, ICC) is copied to the
variants.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import lru_cache

from PIL import Image, ImageCms

from runtime.pipeline.imaging.config import VariantSpec
from runtime.pipeline.imaging.decode import SWAPPING_ORIENTATIONS, profile_description, refusing_bad_images
from runtime.pipeline.imaging.models import ImageInfo
from runtime.pipeline.imaging.probe import ImageFormat

# Downscaling filter. LANCZOS from the draft-decoded image matches a LANCZOS resize of the
# full image to ~45 dB PSNR (see docs/benchmarks.md).
RESAMPLE = Image.Resampling.LANCZOS
WHITE = (255, 255, 255)

# Transposition that displays an image stored with a given EXIF orientation upright.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_GRAY_MODES = frozenset({"1", "L", "LA"})
_HIGH_DEPTH_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


def fit_inside(width: int, height: int, box_width: int, box_height: int) -> tuple[int, int]:
    """The largest size with the same aspect that fits the box; never larger than the original."""
    if width <= box_width and height <= box_height:
        return width, height
    scale = min(box_width / width, box_height / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def variant_sizes(info: ImageInfo, specs: Sequence[VariantSpec]) -> list[tuple[int, int]]:
    """Each variant's size as displayed (after the EXIF orientation)."""
    return [fit_inside(info.width, info.height, spec.max_width, spec.max_height) for spec in specs]


def render_variants(image: Image.Image, info: ImageInfo, specs: Sequence[VariantSpec]) -> list[Image.Image]:
    """Decode ``image`` (opened, not yet loaded) and return one sRGB ``RGB`` image per spec.

    ``specs`` must be ordered largest first.
    """
    sizes = variant_sizes(info, specs)
    swapped = info.orientation in SWAPPING_ORIENTATIONS
    first_stored = (sizes[0][1], sizes[0][0]) if swapped else sizes[0]
    if info.format is ImageFormat.JPEG:
        image.draft(image.mode, first_stored)
    with refusing_bad_images():
        image.load()
    icc_profile = image.info.get("icc_profile")
    largest = _resample(_resizable(image), first_stored)
    largest = _to_srgb(largest, icc_profile)
    if info.orientation in _TRANSPOSE:
        largest = largest.transpose(_TRANSPOSE[info.orientation])
    largest.info = {}
    images = [largest]
    for size in sizes[1:]:
        images.append(_resample(images[-1], size))
    return images


def _resample(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image.copy()
    return image.resize(size, RESAMPLE)


def _resizable(image: Image.Image) -> Image.Image:
    """A mode Pillow resamples properly (palette images would only get nearest-neighbour)."""
    mode = image.mode
    has_key = image.info.get("transparency") is not None
    if mode == "P":
        return image.convert("RGBA" if has_key else "RGB")
    if mode == "PA":
        return image.convert("RGBA")
    if mode == "1":
        return image.convert("L")
    if mode in _HIGH_DEPTH_MODES:
        # 16-bit grey: keep the top 8 bits (Pillow's own conversion clips instead of scaling).
        return image.point(lambda value: value / 256).convert("L") if mode != "F" else image.convert("L")
    if mode in ("L", "RGB") and has_key:
        return image.convert("LA" if mode == "L" else "RGBA")
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return image
    return image.convert("RGB")


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """``RGB`` in sRGB: alpha flattened onto white, grey expanded, ICC profiles applied."""
    if image.mode in ("LA", "RGBA"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", image.size, WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    if image.mode == "CMYK":
        transform = _transform(icc_profile, "CMYK") if icc_profile else None
        return transform.apply(image) if transform else image.convert("RGB")
    if image.mode in _GRAY_MODES:
        return image.convert("RGB")
    description = profile_description(icc_profile)
    if icc_profile and description and "srgb" not in description.lower():
        transform = _transform(icc_profile, "RGB")
        if transform is not None:
            return transform.apply(image)
    return image


@lru_cache(maxsize=16)
def _transform(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """A cached profile-to-sRGB transform; ``None`` if the embedded profile is unusable."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return ImageCms.buildTransform(source, _srgb(), mode, "RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None


@lru_cache(maxsize=1)
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
