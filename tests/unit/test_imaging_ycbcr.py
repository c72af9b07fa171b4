"""Colour JPEGs stay in YCbCr from decode to encode: when that path is taken, and that it
gives what the RGB path gives (dimensions, orientation, metadata, colours), to within rounding."""

from __future__ import annotations

import io
import math
import random
from collections.abc import Iterator

import pytest
from PIL import Image, ImageChops, ImageFilter, ImageStat

from runtime.pipeline.imaging import VariantSpec, WatermarkConfig, process_image, render
from runtime.pipeline.imaging.encode import encode_jpeg
from runtime.pipeline.imaging.render import fit_inside
from runtime.pipeline.imaging.watermark import apply_watermark
from tests.support import images

# Small boxes, so that a 1600 x 1200 photo is decoded at 1/2 scale as a 12 MP one is for the
# contract's variants.
SPECS = (VariantSpec("large", 640, 480), VariantSpec("medium", 400, 300), VariantSpec("small", 200, 150))


def photo(width: int = 1600, height: int = 1200, seed: int = 3) -> Image.Image:
    """Colour gradients under textured luminance and a few hard edges: enough detail for the
    two paths' differences to show, generated in a few milliseconds."""
    rng = random.Random(seed)
    base = Image.merge(
        "RGB",
        (
            Image.linear_gradient("L").resize((width, height)),
            Image.radial_gradient("L").resize((width, height)),
            Image.linear_gradient("L").rotate(90).resize((width, height)),
        ),
    )
    noise = Image.frombytes("L", (width // 4, height // 4), rng.randbytes(width * height // 16))
    texture = noise.resize((width, height), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(1))
    # Colours inside the gamut, as in photos: LANCZOS's overshoot at edges is then clipped
    # alike whether the resampling ran on RGB or on YCbCr.
    base = base.point(lambda value: 50 + value * 150 // 255)
    picture = ImageChops.add(base, Image.merge("RGB", (texture, texture, texture)), 2.0, -20)
    for _ in range(20):
        x, y = rng.randrange(width), rng.randrange(height)
        colour = (rng.randrange(60, 196), rng.randrange(60, 196), rng.randrange(60, 196))
        picture.paste(colour, (x, y, x + 90, y + 60))
    return picture


def psnr(first: bytes, second: bytes) -> float:
    a, b = (Image.open(io.BytesIO(data)).convert("RGB") for data in (first, second))
    assert a.size == b.size
    mse = sum(ImageStat.Stat(ImageChops.difference(a, b)).sum2) / (3 * a.width * a.height)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


@pytest.fixture
def ycbcr_renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the images that took the YCbCr path."""
    calls: list[int] = []
    original = render._render_ycbcr

    def spy(*args: object, **kwargs: object) -> Iterator[tuple[int, Image.Image]]:
        calls.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(render, "_render_ycbcr", spy)
    return calls


def rgb_path(monkeypatch: pytest.MonkeyPatch, source: bytes, **kwargs: object) -> list[bytes]:
    with monkeypatch.context() as patched:
        patched.setattr(render, "_stays_in_ycbcr", lambda image: False)
        return [variant.data for variant in process_image(source, **kwargs).variants]  # type: ignore[arg-type]


def test_a_colour_jpeg_takes_the_ycbcr_path(ycbcr_renders: list[int]) -> None:
    process_image(images.encode(photo(), "JPEG", quality=90), variants=SPECS)
    assert ycbcr_renders == [1]


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(images.encode(photo(400, 300), "JPEG", keep_rgb=True), id="rgb-coded-jpeg"),
        pytest.param(images.encode(Image.new("CMYK", (400, 300), (0, 255, 255, 0)), "JPEG"), id="cmyk-jpeg"),
        pytest.param(images.encode(photo(400, 300).convert("L"), "JPEG"), id="grey-jpeg"),
        pytest.param(
            images.encode(
                photo(400, 300),
                "JPEG",
                icc_profile=images.rgb_profile("Swapped", images.SRGB_GREEN, images.SRGB_RED, images.SRGB_BLUE),
            ),
            id="jpeg-in-another-colour-space",
        ),
        pytest.param(images.encode(photo(400, 300), "PNG"), id="png"),
    ],
)
def test_everything_else_keeps_the_rgb_path(ycbcr_renders: list[int], source: bytes) -> None:
    for variant in process_image(source, variants=SPECS).variants:
        assert Image.open(io.BytesIO(variant.data)).mode == "RGB"
    assert ycbcr_renders == []


def test_an_srgb_tagged_jpeg_stays_in_ycbcr_and_its_profile_is_dropped(ycbcr_renders: list[int]) -> None:
    profile = images.rgb_profile("sRGB IEC61966-2.1", images.SRGB_RED, images.SRGB_GREEN, images.SRGB_BLUE)
    result = process_image(images.encode(photo(), "JPEG", icc_profile=profile), variants=SPECS)
    assert ycbcr_renders == [1]
    assert all("icc_profile" not in Image.open(io.BytesIO(v.data)).info for v in result.variants)


def reference(source: bytes) -> list[bytes]:
    """What the variants approximate: a LANCZOS resize of the full-size decode, watermarked."""
    image = Image.open(io.BytesIO(source)).convert("RGB")
    out = []
    for spec in SPECS:
        variant = image.resize(fit_inside(*image.size, spec.max_width, spec.max_height), Image.Resampling.LANCZOS)
        apply_watermark(variant, WatermarkConfig())
        out.append(encode_jpeg(variant))
    return out


@pytest.mark.parametrize(
    ("size", "params"),
    [
        pytest.param((1600, 1200), {}, id="decoded-at-half-scale"),
        pytest.param((1600, 1200), {"subsampling": 0}, id="chroma-not-subsampled"),
        pytest.param((1600, 1200), {"subsampling": 1}, id="chroma-4-2-2"),
        pytest.param((2600, 1950), {}, id="decoded-at-quarter-scale"),
    ],
)
def test_ycbcr_variants_are_as_close_to_the_full_size_reference_as_the_rgb_paths(
    monkeypatch: pytest.MonkeyPatch, ycbcr_renders: list[int], size: tuple[int, int], params: dict[str, object]
) -> None:
    source = images.encode(photo(*size), "JPEG", quality=90, **params)
    ycbcr = [variant.data for variant in process_image(source, variants=SPECS).variants]
    assert ycbcr_renders == [1]
    rgb = rgb_path(monkeypatch, source, variants=SPECS)
    for ours, theirs, expected in zip(ycbcr, rgb, reference(source), strict=True):
        assert Image.open(io.BytesIO(ours)).size == Image.open(io.BytesIO(theirs)).size
        assert psnr(ours, expected) > psnr(theirs, expected) - 1.0
        assert psnr(ours, theirs) > 30  # the same picture


def test_a_jpeg_decoded_at_full_size_keeps_the_rgb_path(ycbcr_renders: list[int]) -> None:
    # Nothing to gain there: the RGB path resizes exactly what the reference resizes
    source = images.encode(photo(700, 520), "JPEG", quality=90)
    variants = process_image(source, variants=SPECS).variants
    assert ycbcr_renders == []
    assert psnr(variants[0].data, reference(source)[0]) > 60  # to a level here and there (bands)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_ycbcr_path_applies_the_orientation_and_strips_the_exif(
    monkeypatch: pytest.MonkeyPatch, ycbcr_renders: list[int], orientation: int
) -> None:
    picture = images.quadrants(1600, 1200)
    source = images.encode(picture, "JPEG", quality=95, exif=images.exif_with_gps(orientation))
    result = process_image(source, variants=SPECS)
    assert ycbcr_renders == [1]
    assert result.info.orientation == orientation
    rgb = rgb_path(monkeypatch, source, variants=SPECS)
    for variant, expected in zip(result.variants, rgb, strict=True):
        image = Image.open(io.BytesIO(variant.data))
        assert image.size == Image.open(io.BytesIO(expected)).size
        assert (variant.width > variant.height) == (orientation not in (6, 8))
        assert "exif" not in image.info
        assert not image.getexif()
        assert psnr(variant.data, expected) > 36


def test_bands_prefiltered_one_by_one_give_the_whole_image_filtered_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Noise is the worst case for the band edges: every row differs from its neighbours.
    source = Image.frombytes("YCbCr", (900, 700), random.Random(5).randbytes(900 * 700 * 3))
    kernels = (render._LUMA_AFTER_DCT_SCALING, render._CHROMA_NOT_UPSAMPLED)
    luma, blue, red = source.split()
    filtered = Image.merge("YCbCr", (luma.filter(kernels[0]), blue.filter(kernels[1]), red.filter(kernels[1])))
    monkeypatch.setattr(render, "_HORIZONTAL_BAND_ROWS", 64)
    for cpus in (1, 2):
        monkeypatch.setattr(render, "cpu_count", lambda cpus=cpus: cpus)
        passes = render._horizontal_passes(source, [600, 300], kernels)
        for width, image in passes.items():
            expected = filtered.resize((width, source.height), render.RESAMPLE)
            assert ImageChops.difference(image, expected).getbbox() is None


@pytest.mark.parametrize("config", [WatermarkConfig(), WatermarkConfig(color="#c03020", opacity=0.9)])
def test_the_watermark_blended_in_ycbcr_matches_the_rgb_blend(config: WatermarkConfig) -> None:
    picture = photo(800, 600)
    in_rgb, in_ycbcr = picture.copy(), picture.convert("YCbCr")
    apply_watermark(in_rgb, config)
    apply_watermark(in_ycbcr, config)
    difference = ImageChops.difference(in_rgb, in_ycbcr.convert("RGB"))
    # Each side rounds its own conversions: a few levels at most, and the same picture
    assert max(high for _, high in ImageStat.Stat(difference).extrema) <= 4
    assert ImageChops.difference(in_rgb, picture).getbbox() is not None


def test_a_ycbcr_image_is_encoded_as_is_not_converted_again() -> None:
    # libjpeg takes Pillow's YCbCr pixels as its own colour space: decoded back without
    # conversion, the planes come out as they went in (to quantization at quality 100).
    planes = photo(400, 300).convert("YCbCr")
    encoded = Image.open(io.BytesIO(images.encode(planes, "JPEG", quality=100, subsampling=0)))
    assert "jfif" in encoded.info
    encoded.draft("YCbCr", None)
    assert encoded.mode == "YCbCr"
    assert max(ImageStat.Stat(ImageChops.difference(encoded, planes)).mean) < 0.5
