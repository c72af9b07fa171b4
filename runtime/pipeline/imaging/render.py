"""From an opened upload to the variants' pixels: decode once, at the smallest useful scale.

The costs that matter on a 12 MP photo, and what this module does about each:

- Decoding the full JPEG is the largest cost. ``Image.draft`` asks libjpeg to scale by 1/2,
  1/4 or 1/8 in the DCT domain while decoding, to the smallest scale that is still at least
  the largest variant, so a 4000x3000 photo decodes straight to 2000x1500.
- Every later step runs on that reduced image or smaller: one resample to the largest variant,
  then each smaller variant from the largest (not from the full image; from the largest rather
  than from the next larger one, which measured 0.6 dB closer to a full-image resize for
  "small" at 5 % more work), and the colour conversion and EXIF rotation on the largest
  variant only (mode conversion and transparency flattening run band by band on the way).
- Each resample is split into bands of rows resized on all vCPUs (``resample``).
- A colour JPEG that libjpeg scales in decoding stays in ``YCbCr``, its own colour space, from
  decode to encode (``_render_ycbcr``): no RGB round trip rounding every pixel twice, every
  variant resampled from the decoded image, and two small kernels that make up for what the
  reduced decode does differently from a full-size one. This costs more CPU than the path
  above (three resamples of the decoded image instead of one) and keeps every variant within
  44 dB of a LANCZOS resize of the full image after encoding, where the path above lost up
  to 1 dB more (docs/benchmarks.md).

Colour: embedded ICC profiles are converted to sRGB (CMYK included); images without one are
taken as sRGB, as browsers do. Transparency is flattened onto white. Only the first frame of
an animated GIF is used: a still variant of an animation is what the contract's JPEG outputs
can carry. No metadata (EXIF with its GPS position, XMP, comments, ICC) is copied to the
variants.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from itertools import pairwise

from PIL import Image, ImageCms, ImageFilter

from runtime.pipeline.imaging.config import VariantSpec
from runtime.pipeline.imaging.decode import SWAPPING_ORIENTATIONS, profile_description, refusing_bad_images
from runtime.pipeline.imaging.models import ImageInfo
from runtime.pipeline.imaging.probe import ImageFormat
from runtime.pipeline.imaging.workers import cpu_count, pool

# Downscaling filter. LANCZOS from the draft-decoded image stays within 47-51 dB of a LANCZOS
# resize of the full image before encoding; BICUBIC is ~20 % cheaper and 0.4-1.8 dB further
# off (docs/benchmarks.md).
RESAMPLE = Image.Resampling.LANCZOS
WHITE = (255, 255, 255)
# Colour JPEGs decoded at reduced scale take the YCbCr path (``_render_ycbcr``): within 44 dB
# of a LANCZOS resize of the full image on every variant, for ~50 % more CPU than the RGB
# path (~390 against ~580 ms of CPU for a 12 MP photo; docs/benchmarks.md). False sends them
# down the RGB path: cheaper, up to 1 dB further from that reference.
MATCH_FULL_SIZE_RESIZE = True

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
# Below this many rows per band, a thread costs more than it saves.
_MIN_BAND_ROWS = 128
# Rows cropped at once for the horizontal pass: bounds the copies held, keeps the cores busy.
_HORIZONTAL_BAND_ROWS = 256
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


def render_variants(
    image: Image.Image, info: ImageInfo, specs: Sequence[VariantSpec]
) -> Iterator[tuple[int, Image.Image]]:
    """Decode ``image`` (opened, not yet loaded) into one image per spec, yielded as
    ``(index in specs, image)`` as soon as each is final, so the caller can encode one variant
    while the next is being resampled. Each yielded image is the caller's to change.

    The images are ``RGB`` in sRGB, or ``YCbCr`` (JPEG's own colour space, see
    ``_stays_in_ycbcr``): both encode to the same kind of JPEG and take the watermark alike.
    """
    sizes = variant_sizes(info, specs)
    # Same aspect ratio throughout, so the variant with the most pixels contains every other.
    first = max(range(len(sizes)), key=lambda index: sizes[index][0] * sizes[index][1])
    width, height = sizes[first]
    first_stored = (height, width) if info.orientation in SWAPPING_ORIENTATIONS else (width, height)
    scale = 1
    if info.format is ImageFormat.JPEG:
        scale = _dct_scale(image.size, first_stored)
        ycbcr = MATCH_FULL_SIZE_RESIZE and scale > 1 and _stays_in_ycbcr(image)
        image.draft("YCbCr" if ycbcr else image.mode, first_stored)
    with refusing_bad_images():
        image.load()
    if image.mode == "YCbCr":
        yield from _render_ycbcr(image, info, sizes, first, scale)
        return
    icc_profile = image.info.get("icc_profile")
    largest = _to_srgb(resample(image, first_stored, prepare=_opaque), icc_profile)
    if info.orientation in _TRANSPOSE:
        largest = largest.transpose(_TRANSPOSE[info.orientation])
    largest.info = {}
    others = [index for index in range(len(sizes)) if index != first]
    # The smaller variants are still to be resampled from the largest: hand out a copy.
    yield first, (largest.copy() if others else largest)
    for index in others:
        yield index, resample(largest, sizes[index])


def _dct_scale(size: tuple[int, int], target: tuple[int, int]) -> int:
    """The 1/1, 1/2, 1/4 or 1/8 scale ``Image.draft`` has libjpeg decode at (Pillow's rule)."""
    ratio = min(size[0] // target[0], size[1] // target[1])
    return next(scale for scale in (8, 4, 2, 1) if ratio >= scale)


def _stays_in_ycbcr(image: Image.Image) -> bool:
    """Whether a JPEG can be decoded to, resampled in and encoded from ``YCbCr``.

    A colour JPEG stores ``YCbCr``; decoding it to ``RGB`` and encoding the variants back to
    ``YCbCr`` rounds every pixel twice, and JPEG quantization amplifies those sub-level
    differences (docs/benchmarks.md). Only for what needs no colour conversion: three
    components coded as ``YCbCr`` (libjpeg's rule: not an Adobe ``transform=0`` file, not
    components named R, G, B) and no embedded profile other than sRGB. Everything else (grey,
    CMYK, RGB-coded, other colour spaces) takes the ``RGB`` path and its ICC conversion, and
    so does a JPEG decoded at full size, for which the ``RGB`` path is already the reference
    (a LANCZOS resize of the full-size decode) to the bit.
    """
    if image.mode != "RGB" or getattr(image, "layers", 0) != 3:
        return False
    if image.info.get("adobe_transform", 1) == 0:
        return False
    if [component[0] for component in getattr(image, "layer", [])] == [ord("R"), ord("G"), ord("B")]:
        return False
    icc_profile = image.info.get("icc_profile")
    if icc_profile:
        description = profile_description(icc_profile)
        return description is not None and "srgb" in description.lower()
    return True


def _render_ycbcr(
    source: Image.Image, info: ImageInfo, sizes: list[tuple[int, int]], first: int, scale: int
) -> Iterator[tuple[int, Image.Image]]:
    """The variants of a ``YCbCr`` JPEG, each resampled from the decoded image itself.

    Not from the largest variant: resampling twice is softer than once, and the difference
    from one LANCZOS resize of the full image (the reference) costs ~1 dB after encoding.
    When libjpeg scaled the image in decoding, two 3x3 kernels bring the result closer to
    that reference: the DCT-scaled luma is a little softer than a LANCZOS reduction of the
    full image (sharpened slightly), and the chroma comes out at its stored resolution where
    the full-size decode first interpolates it (libjpeg's "fancy" upsampling; softened
    slightly, for 4:2:0 chroma). Both are applied band by band during the horizontal pass.
    """
    swap = info.orientation in SWAPPING_ORIENTATIONS
    stored = [(height, width) if swap else (width, height) for width, height in sizes]
    kernels = _prefilters(source, scale)
    widths = sorted({width for width, _ in stored}, reverse=True)
    passes = _horizontal_passes(source, widths, kernels)
    order = [first] + [index for index in range(len(sizes)) if index != first]
    for index in order:
        intermediate = passes[stored[index][0]]
        variant = _vertical(intermediate, stored[index])
        if variant is intermediate:
            variant = variant.copy()  # not resized vertically: another variant may share it
        if info.orientation in _TRANSPOSE:
            variant = variant.transpose(_TRANSPOSE[info.orientation])
        variant.info = {}
        yield index, variant


def _kernel(weight: float) -> ImageFilter.Kernel:
    """A separable 3x3 kernel ``[w, 1 - 2w, w]`` in both directions (w < 0 sharpens)."""
    taps = (weight, 1 - 2 * weight, weight)
    return ImageFilter.Kernel((3, 3), [row * column for row in taps for column in taps], scale=1)


# Fitted on the benchmark's photos against a LANCZOS resize of the full-size decode (the
# reference, docs/benchmarks.md): after encoding, all three variants 0.2-1.6 dB closer.
_LUMA_AFTER_DCT_SCALING = _kernel(-0.03)
_CHROMA_NOT_UPSAMPLED = _kernel(0.1)


def _prefilters(source: Image.Image, scale: int) -> tuple[ImageFilter.Kernel | None, ImageFilter.Kernel | None]:
    """The (luma, chroma) kernels for a JPEG decoded at 1/``scale``; ``None`` for none."""
    if scale < 2:
        return None, None  # decoded at full size: exactly what the reference resamples
    sampling = [component[1:3] for component in getattr(source, "layer", [])]
    chroma_420 = sampling == [(2, 2), (1, 1), (1, 1)]
    return _LUMA_AFTER_DCT_SCALING, (_CHROMA_NOT_UPSAMPLED if chroma_420 else None)


def _horizontal_passes(
    source: Image.Image,
    widths: Sequence[int],
    kernels: tuple[ImageFilter.Kernel | None, ImageFilter.Kernel | None],
) -> dict[int, Image.Image]:
    """``source`` resized to each of ``widths`` (full height), in bands of rows on all vCPUs;
    each band is cropped once, prefiltered once and resized to every width."""
    luma_kernel, chroma_kernel = kernels
    margin = 1 if luma_kernel or chroma_kernel else 0
    height = source.height

    def render(edges: tuple[int, int]) -> list[Image.Image]:
        top, bottom = edges
        # A kernel reads one row beyond each side of the band; Pillow's filter leaves an
        # image's outermost rows as they are, so the margin rows are cropped off again.
        above, below = max(0, top - margin), min(height, bottom + margin)
        band = source.crop((0, above, source.width, below))
        if margin:
            luma, blue, red = band.split()
            if luma_kernel:
                luma = luma.filter(luma_kernel)
            if chroma_kernel:
                blue, red = blue.filter(chroma_kernel), red.filter(chroma_kernel)
            band = Image.merge("YCbCr", (luma, blue, red)).crop((0, top - above, source.width, bottom - above))
        return [band.resize((width, bottom - top), RESAMPLE) if width != band.width else band for width in widths]

    bounds = [*range(0, height, _HORIZONTAL_BAND_ROWS), height]
    bands = pool().map(render, pairwise(bounds)) if cpu_count() > 1 else map(render, pairwise(bounds))
    passes = {width: Image.new(source.mode, (width, height)) for width in widths}
    for top, resized in zip(bounds, bands, strict=False):
        for width, band in zip(widths, resized, strict=True):
            passes[width].paste(band, (0, top))
    return passes


def resample(
    image: Image.Image, size: tuple[int, int], prepare: Callable[[Image.Image], Image.Image] | None = None
) -> Image.Image:
    """``image`` resized to ``size``: a horizontal pass, then a vertical one, each cut into
    bands of rows resized in parallel (Pillow releases the GIL while it resamples).

    ``prepare`` is a per-pixel conversion (mode, transparency) applied to each band before it
    is resized, so the converted image never exists at full size.

    The passes are run explicitly, in this order, because Pillow picks the order of a single
    ``resize`` by cost, which would differ between a band and the whole image (and rounding
    between the passes differs with the order). Bands of the horizontal pass are independent
    rows, cropped a few at a time (so no full-size copy is ever held); bands of the vertical
    pass are resized from a box of the whole intermediate image, so the filter reads across
    band edges exactly as it does for the whole image.
    """
    original = image
    convert = prepare or (lambda band: band)
    width = size[0]
    if image.width == width:
        image = convert(image)
    elif cpu_count() == 1 and _is_identity(convert, image):
        # One vCPU and nothing to convert: one horizontal pass, no bands to crop and assemble.
        image = image.resize((width, image.height), RESAMPLE)
    else:
        source = image
        band_mode = convert(source.crop((0, 0, 1, 1))).mode
        image = _in_bands(
            source.height,
            _HORIZONTAL_BAND_ROWS,
            lambda top, bottom: convert(source.crop((0, top, source.width, bottom))).resize(
                (width, bottom - top), RESAMPLE
            ),
            (width, source.height),
            band_mode,
        )
    image = _vertical(image, size)
    return image.copy() if image is original else image


def _vertical(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The vertical pass of ``resample`` (``image`` already has the final width): bands resized
    from a box of the whole image, so the filter reads across band edges."""
    width, height = size
    if image.height == height:
        return image
    scale = image.height / height
    return _in_bands(
        height,
        max(_MIN_BAND_ROWS, -(-height // cpu_count())),
        lambda top, bottom: image.resize(
            (width, bottom - top), RESAMPLE, box=(0.0, top * scale, float(width), bottom * scale)
        ),
        size,
        image.mode,
    )


def _is_identity(convert: Callable[[Image.Image], Image.Image], image: Image.Image) -> bool:
    corner = image.crop((0, 0, 1, 1))
    return convert(corner) is corner


def _in_bands(
    rows: int,
    band_rows: int,
    render_band: Callable[[int, int], Image.Image],
    size: tuple[int, int],
    mode: str,
) -> Image.Image:
    """Assemble an image of ``size`` from bands of ``band_rows`` rows, rendered in parallel
    (one after the other on a single vCPU: the same bands, the same pixels)."""
    if rows <= band_rows:
        return render_band(0, rows)
    bounds = [*range(0, rows, band_rows), rows]
    out = Image.new(mode, size)

    def render(edges: tuple[int, int]) -> Image.Image:
        return render_band(*edges)

    bands = pool().map(render, pairwise(bounds)) if cpu_count() > 1 else map(render, pairwise(bounds))
    for top, band in zip(bounds, bands, strict=False):
        out.paste(band, (0, top))
    return out


def _opaque(image: Image.Image) -> Image.Image:
    """``RGB``, ``L`` or ``CMYK``: palettes expanded (Pillow would only resample them
    nearest-neighbour), deep greys scaled to 8 bits, transparency flattened onto white."""
    mode = image.mode
    has_key = image.info.get("transparency") is not None
    if mode == "P":
        image = image.convert("RGBA" if has_key else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    elif mode == "1":
        image = image.convert("L")
    elif mode in _HIGH_DEPTH_MODES:
        # 16-bit grey: keep the top 8 bits (Pillow's own conversion clips instead of scaling).
        image = image.point(lambda value: value / 256).convert("L") if mode != "F" else image.convert("L")
    elif mode in ("L", "RGB") and has_key:
        image = image.convert("LA" if mode == "L" else "RGBA")
    elif mode not in ("L", "LA", "RGB", "RGBA", "CMYK"):
        image = image.convert("RGB")
    if image.mode in ("LA", "RGBA"):
        return _flatten(image)
    return image


def _flatten(image: Image.Image) -> Image.Image:
    flat_mode = image.mode[:-1]
    flat = Image.new(flat_mode, image.size, 255 if flat_mode == "L" else WHITE)
    flat.paste(image.convert(flat_mode), mask=image.getchannel("A"))
    return flat


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """``RGB`` in sRGB: grey expanded, CMYK converted, embedded ICC profiles applied."""
    if image.mode == "CMYK":
        transform = _transform(icc_profile, "CMYK") if icc_profile else None
        return transform.apply(image) if transform else image.convert("RGB")
    if image.mode != "RGB":
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
