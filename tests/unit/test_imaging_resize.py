"""Resize: the contract's variants, their encoding, their colours, and what they must not carry."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageChops, ImageStat
from PIL.JpegImagePlugin import JpegImageFile

from runtime.pipeline.imaging import (
    JPEG_QUALITY,
    VARIANTS,
    EncodedVariant,
    VariantSpec,
    process_image,
    render,
)
from runtime.pipeline.imaging.render import fit_inside
from tests.support import images
from tests.support.imaging import rendered


def decoded(variant: EncodedVariant) -> JpegImageFile:
    image = Image.open(io.BytesIO(variant.data))
    assert isinstance(image, JpegImageFile)
    assert image.size == (variant.width, variant.height)
    return image


def mean_color(image: Image.Image, box: tuple[int, int, int, int] | None = None) -> tuple[float, ...]:
    region = image.convert("RGB").crop(box) if box else image.convert("RGB")
    return tuple(round(v) for v in ImageStat.Stat(region).mean)


def close(actual: tuple[float, ...], expected: tuple[int, ...], tolerance: int = 8) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def by_name(variants: tuple[EncodedVariant, ...]) -> dict[str, EncodedVariant]:
    return {variant.name: variant for variant in variants}


def test_contract_variants_fit_inside_their_boxes_keeping_the_aspect() -> None:
    assert [(v.name, v.max_width, v.max_height) for v in VARIANTS] == [
        ("large", 1920, 1080),
        ("medium", 1200, 900),
        ("small", 800, 600),
    ]
    result = rendered(images.jpeg(4000, 3000))
    assert {v.name: v.dimensions for v in result.variants} == {
        "large": "1440x1080",
        "medium": "1200x900",
        "small": "800x600",
    }
    panorama = by_name(rendered(images.jpeg(6000, 1000)).variants)
    assert panorama["large"].dimensions == "1920x320"
    assert panorama["small"].dimensions == "800x133"


@pytest.mark.parametrize(
    ("size", "box", "expected"),
    [
        ((4000, 3000), (1920, 1080), (1440, 1080)),
        ((3000, 4000), (1920, 1080), (810, 1080)),
        ((1000, 500), (1920, 1080), (1000, 500)),
        ((30000, 10), (800, 600), (800, 1)),
    ],
)
def test_fit_inside(size: tuple[int, int], box: tuple[int, int], expected: tuple[int, int]) -> None:
    assert fit_inside(*size, *box) == expected


def test_variants_come_back_in_the_order_asked_for() -> None:
    specs = (VariantSpec("thumb", 100, 100), VariantSpec("big", 400, 400))
    result = rendered(images.jpeg(800, 800), variants=specs)
    assert [(v.name, v.width) for v in result.variants] == [("thumb", 100), ("big", 400)]


def test_small_images_are_never_upscaled() -> None:
    result = process_image(images.jpeg(300, 200))
    assert [(v.width, v.height) for v in result.variants] == [(300, 200)] * 3
    # 900 wide fits "large" and "medium" untouched, and only "small" shrinks
    sizes = by_name(process_image(images.png(900, 900)).variants)
    assert (sizes["large"].dimensions, sizes["medium"].dimensions, sizes["small"].dimensions) == (
        "900x900",
        "900x900",
        "600x600",
    )


def test_output_is_progressive_jpeg_at_quality_85() -> None:
    reference = JpegImageFile(io.BytesIO(images.encode(Image.new("RGB", (64, 64)), "JPEG", quality=JPEG_QUALITY)))
    for variant in process_image(images.jpeg(2000, 1500)).variants:
        image = decoded(variant)
        assert image.info.get("progressive") == 1
        assert image.mode == "RGB"
        assert image.quantization == reference.quantization  # the tables of quality 85
        assert variant.file_size == len(variant.data) > 0


def test_exif_gps_and_other_metadata_never_reach_the_variants() -> None:
    # Given a photo carrying EXIF with a GPS position, XMP, a comment and an ICC profile
    source = images.encode(
        images.quadrants(1600, 1200),
        "JPEG",
        exif=images.exif_with_gps(),
        xmp=b"<x:xmpmeta><exif:GPSLatitude>52,22.08N</exif:GPSLatitude></x:xmpmeta>",
        comment=b"taken at home",
        icc_profile=images.rgb_profile("sRGB IEC61966-2.1", images.SRGB_RED, images.SRGB_GREEN, images.SRGB_BLUE),
    )
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(0x8825)  # the input does have GPS
    for variant in process_image(source).variants:
        image = decoded(variant)
        assert not image.getexif()
        assert not set(image.info) & {"exif", "xmp", "comment", "icc_profile"}
        # Only the JFIF header: no APP1 (EXIF/XMP), APP2 (ICC) or APP13 (IPTC) segments at all
        assert [marker for marker, _ in image.applist] == ["APP0"]
        assert b"GPS" not in variant.data
        assert b"home" not in variant.data


def test_exif_orientation_is_applied_to_the_pixels() -> None:
    # Given a landscape photo stored with "rotate 90 degrees clockwise" (EXIF orientation 6)
    source = images.encode(images.quadrants(4000, 3000), "JPEG", quality=95, exif=images.exif_with_gps(6))
    result = process_image(source)
    # Then the variants are portrait, dimensions swapped
    assert {v.name: v.dimensions for v in result.variants} == {
        "large": "810x1080",
        "medium": "675x900",
        "small": "450x600",
    }
    # And the stored top-left quadrant (red) is displayed top-right, bottom-left (blue) top-left
    small = decoded(by_name(result.variants)["small"])
    assert close(mean_color(small, (300, 50, 420, 250)), (255, 0, 0))
    assert close(mean_color(small, (30, 50, 150, 250)), (0, 0, 255))
    assert close(mean_color(small, (30, 350, 150, 450)), (255, 255, 255))


@pytest.mark.parametrize(
    ("orientation", "top_left_shows"),
    [(1, (255, 0, 0)), (2, (0, 255, 0)), (3, (255, 255, 255)), (8, (0, 255, 0)), (5, (255, 0, 0))],
)
def test_every_orientation_displays_upright(orientation: int, top_left_shows: tuple[int, int, int]) -> None:
    source = images.encode(images.quadrants(400, 300), "JPEG", quality=95, exif=images.exif_with_gps(orientation))
    small = decoded(by_name(rendered(source).variants)["small"])
    assert close(mean_color(small, (10, 10, 60, 60)), top_left_shows, tolerance=12)


def test_animated_gif_becomes_its_first_frame() -> None:
    result = process_image(images.animated_gif([(255, 0, 0), (0, 0, 255), (0, 255, 0)]))
    assert result.info.animated is True
    for variant in result.variants:
        assert close(mean_color(decoded(variant), (0, 0, 60, 40)), (255, 0, 0))


def test_cmyk_jpeg_is_converted_to_srgb() -> None:
    # Given a CMYK JPEG (as print workflows export them), magenta + yellow ink = red
    source = images.encode(Image.new("CMYK", (1200, 900), (0, 255, 255, 0)), "JPEG", quality=95)
    result = rendered(source)
    assert result.info.color_space == "CMYK"
    for variant in result.variants:
        image = decoded(variant)
        assert image.mode == "RGB"
        assert close(mean_color(image), (255, 0, 0))


def test_embedded_icc_profile_is_converted_to_srgb() -> None:
    # Given pixels tagged with a profile whose "red" channel is sRGB's green primary (and back)
    profile = images.rgb_profile("Swapped Test RGB", images.SRGB_GREEN, images.SRGB_RED, images.SRGB_BLUE)
    source = images.encode(Image.new("RGB", (1600, 1200), (200, 30, 30)), "PNG", icc_profile=profile)
    # Then the variants show the colour the profile means, in sRGB: green, untagged
    for variant in rendered(source).variants:
        image = decoded(variant)
        assert close(mean_color(image), (30, 200, 30), tolerance=12)
        assert "icc_profile" not in image.info


def test_srgb_tagged_image_keeps_its_colours() -> None:
    profile = images.rgb_profile("sRGB IEC61966-2.1", images.SRGB_RED, images.SRGB_GREEN, images.SRGB_BLUE)
    source = images.encode(Image.new("RGB", (400, 300), (200, 30, 30)), "PNG", icc_profile=profile)
    assert close(mean_color(decoded(rendered(source).variants[0])), (200, 30, 30))


def test_broken_icc_profile_is_ignored_and_the_image_taken_as_srgb() -> None:
    source = images.encode(Image.new("RGB", (400, 300), (200, 30, 30)), "PNG", icc_profile=b"not a profile" * 10)
    result = rendered(source)
    assert result.info.color_space == "sRGB"
    assert close(mean_color(decoded(result.variants[0])), (200, 30, 30))


def palette_image() -> Image.Image:
    """Every pixel is palette entry 1 (red), which the PNG's tRNS chunk marks transparent."""
    image = Image.new("P", (2400, 1800), 1)
    image.putpalette([0, 0, 0, 255, 0, 0])
    return image


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(images.png(2400, 1800, (255, 0, 0, 0), mode="RGBA"), id="rgba-transparent"),
        pytest.param(images.png(2400, 1800, (0, 0), mode="LA"), id="la-transparent"),
        pytest.param(
            images.encode(Image.new("P", (2400, 1800), 3), "GIF", transparency=3),
            id="gif-transparent-index",
        ),
        pytest.param(
            images.encode(Image.new("RGB", (2400, 1800), (10, 20, 30)), "PNG", transparency=(10, 20, 30)),
            id="rgb-transparent-colour-key",
        ),
        pytest.param(images.encode(palette_image(), "PNG", transparency=1), id="png-palette-transparent-index"),
    ],
)
@pytest.mark.parametrize("cpus", [1, 2])
def test_transparency_is_flattened_on_white(monkeypatch: pytest.MonkeyPatch, source: bytes, cpus: int) -> None:
    monkeypatch.setattr(render, "cpu_count", lambda: cpus)
    for variant in rendered(source).variants:
        assert close(mean_color(decoded(variant)), (255, 255, 255), tolerance=2)


def test_half_transparent_pixels_blend_with_white() -> None:
    source = images.png(500, 400, (0, 0, 0, 128), mode="RGBA")
    assert close(mean_color(decoded(rendered(source).variants[0])), (127, 127, 127), tolerance=3)


def test_sixteen_bit_greyscale_png_keeps_its_tones() -> None:
    # Mid-grey in 16 bits (0x8000); a naive conversion clips it to white
    source = images.encode(Image.new("I;16", (400, 300), 0x8000), "PNG")
    assert close(mean_color(decoded(rendered(source).variants[0])), (128, 128, 128), tolerance=3)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(images.png(400, 300, (90,), mode="L"), id="grey"),
        pytest.param(images.encode(Image.new("1", (400, 300), 1), "PNG"), id="one-bit"),
        pytest.param(images.encode(Image.new("RGB", (400, 300), (90, 90, 90)).quantize(8), "PNG"), id="palette"),
    ],
)
def test_grey_and_palette_images_become_rgb(source: bytes) -> None:
    for variant in rendered(source).variants:
        assert decoded(variant).mode == "RGB"


def test_downscaled_content_matches_the_source() -> None:
    # A reduced-scale decode must not shift or distort the picture
    source_image = images.quadrants(4000, 3000)
    result = rendered(images.encode(source_image, "JPEG", quality=95))
    for variant in result.variants:
        expected = source_image.resize((variant.width, variant.height), Image.Resampling.LANCZOS)
        difference = ImageStat.Stat(ImageChops.difference(decoded(variant).convert("RGB"), expected)).mean
        assert max(difference) < 2.0


@pytest.mark.parametrize("parts", [2, 3])
@pytest.mark.parametrize("size", [(720, 540), (333, 257), (1000, 400), (500, 750)])
def test_resampling_in_parallel_bands_matches_one_thread(
    monkeypatch: pytest.MonkeyPatch, parts: int, size: tuple[int, int]
) -> None:
    # Bands are resized on several threads; their seams must not show. Noise is the worst
    # case: every pixel differs from its neighbours.
    source = Image.frombytes("RGB", (1000, 750), random.Random(7).randbytes(1000 * 750 * 3))
    monkeypatch.setattr(render, "cpu_count", lambda: 1)
    one_thread = render.resample(source, size)
    monkeypatch.setattr(render, "cpu_count", lambda: parts)
    monkeypatch.setattr(render, "_MIN_BAND_ROWS", 16)
    monkeypatch.setattr(render, "_HORIZONTAL_BAND_ROWS", 100)
    difference = ImageChops.difference(render.resample(source, size), one_thread)
    # Band edges fall on fractional source rows, given to Pillow as 32-bit floats: a filter
    # centre may move by ~1e-5 px and round one level differently, and nothing more.
    assert max(high for _, high in ImageStat.Stat(difference).extrema) <= 1
    assert ImageStat.Stat(difference).sum == pytest.approx([0, 0, 0], abs=size[0])
    # And the two passes give what a single resize gives, to rounding, on a real picture
    picture = images.quadrants(1000, 750)
    expected = picture.resize(size, render.RESAMPLE)
    assert max(ImageStat.Stat(ImageChops.difference(render.resample(picture, size), expected)).mean) < 0.1


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(images.png(1, 1), ["1x1"] * 3, id="one-pixel"),
        pytest.param(images.jpeg(30000, 10), ["1920x1", "1200x1", "800x1"], id="thin-strip"),
        pytest.param(images.png(10, 30000), ["1x1080", "1x900", "1x600"], id="tall-strip"),
    ],
)
def test_extreme_shapes_still_give_every_variant(source: bytes, expected: list[str]) -> None:
    assert [v.dimensions for v in process_image(source).variants] == expected
