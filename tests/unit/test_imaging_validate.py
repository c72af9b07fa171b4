"""Validate: what the image core refuses, with which reason, and what it learns about the rest."""

from __future__ import annotations

import tracemalloc

import pytest
from PIL import Image

from runtime.common.errors import DomainError
from runtime.pipeline.imaging import (
    ImageFormat,
    ImageLimits,
    InvalidImageError,
    process_image,
    resize_image,
    validate_image,
)
from tests.support import images

NOT_AN_IMAGE = "the file is not a JPEG, PNG or GIF image"
DAMAGED = "the image is damaged or incomplete"


def refused(data: bytes, limits: ImageLimits | None = None) -> str:
    """The reason every entry point gives for refusing ``data`` (they must agree)."""
    reasons = set()
    for entry in (validate_image, process_image, resize_image):
        with pytest.raises(InvalidImageError) as caught:
            entry(data, limits) if limits else entry(data)
        reasons.add(caught.value.message)
    assert len(reasons) == 1, reasons
    return reasons.pop()


def test_invalid_image_is_a_domain_error_the_api_maps_to_422() -> None:
    # Permanent and shown to the user; anything else escaping the core is transient.
    assert issubclass(InvalidImageError, DomainError)
    assert InvalidImageError("x").status == 422


def test_empty_object_is_refused() -> None:
    assert refused(b"") == "the file is empty"


def test_text_file_is_refused_whatever_it_is_called() -> None:
    assert refused(b"hello, this is not a photo\n" * 40) == NOT_AN_IMAGE


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"%PDF-1.7\n" + bytes(2000), id="pdf"),
        pytest.param(b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(100), id="webp"),
        pytest.param(b"BM" + bytes(100), id="bmp"),
        pytest.param(b"\xff\xd8", id="two-byte-jpeg-start"),
    ],
)
def test_other_formats_are_refused(data: bytes) -> None:
    assert refused(data) in (NOT_AN_IMAGE, DAMAGED)


def test_png_renamed_jpg_is_processed_as_the_png_it_is() -> None:
    # Given a PNG uploaded as "photo.jpg" with Content-Type image/jpeg (neither reaches the core)
    data = images.png(300, 200)
    # Then the bytes decide
    info = validate_image(data)
    assert info.format is ImageFormat.PNG
    assert info.content_type == "image/png"
    assert [v.dimensions for v in process_image(data).variants] == ["300x200"] * 3


def test_truncated_jpeg_is_refused_with_a_clear_reason() -> None:
    data = images.encode(images.quadrants(1600, 1200), "JPEG", quality=90)
    for cut in (len(data) // 3, len(data) * 2 // 3, len(data) - 100):
        assert refused(data[:cut]) == DAMAGED


def test_jpeg_cut_inside_its_header_is_refused() -> None:
    data = images.jpeg(200, 100)
    assert refused(data[:20]) == DAMAGED


def test_truncated_png_is_refused() -> None:
    data = images.encode(images.quadrants(800, 600).effect_spread(3), "PNG")
    assert refused(data[: len(data) // 2]) == DAMAGED


@pytest.mark.parametrize(
    ("segment", "offset", "value"),
    [
        pytest.param(b"\xff\xc0", 4, 13, id="unsupported-precision"),
        pytest.param(b"\xff\xc0", 9, 0, id="no-components"),
        pytest.param(b"\xff\xc4", 5, 0xFF, id="broken-huffman-table"),
    ],
)
def test_corrupt_jpeg_header_is_refused(segment: bytes, offset: int, value: int) -> None:
    data = bytearray(images.jpeg(400, 300))
    data[data.index(segment) + offset] = value
    assert refused(bytes(data)) == DAMAGED


def test_decompression_bomb_is_refused_without_decoding_it() -> None:
    # Given a valid 50,000 x 50,000 PNG (2.5 gigapixels) that weighs ~300 KB
    bomb = images.png_bomb(50_000, 50_000)
    assert len(bomb) < 400_000
    # When it is validated, Then it is refused from its header, allocating next to nothing
    tracemalloc.start()
    try:
        reason = refused(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "too large" in reason
    assert "50000 x 50000" in reason
    assert peak < 2_000_000


def test_pillows_own_bomb_guard_still_holds_if_the_limit_is_raised() -> None:
    # Given a deployment that raised the pixel limit far too high
    generous = ImageLimits(max_pixels=10**10)
    bomb = images.png_bomb(50_000, 50_000)
    # Then Pillow's DecompressionBombError (at 2 x MAX_IMAGE_PIXELS) still refuses it at open
    with pytest.raises(InvalidImageError, match="too large"):
        validate_image(bomb, generous)


def test_file_over_the_size_limit_is_refused() -> None:
    data = images.jpeg(200, 100)
    assert refused(data, ImageLimits(max_bytes=len(data) - 1)).startswith("the file is larger than")


def test_image_over_the_pixel_limit_is_refused() -> None:
    data = images.jpeg(1000, 1000)
    reason = refused(data, ImageLimits(max_pixels=999_999))
    assert reason == "the image is too large: 1000 x 1000 pixels, at most 0.999999 megapixels are accepted"


def test_gif_frame_larger_than_its_screen_is_checked_after_pillow_reads_it() -> None:
    # A GIF whose logical screen claims 10x10 but whose first frame is 2000 x 2000
    frame = images.encode(Image.new("P", (2000, 2000)), "GIF")
    data = frame[:6] + (10).to_bytes(2, "little") * 2 + frame[10:]
    with pytest.raises(InvalidImageError, match="too large"):
        validate_image(data, ImageLimits(max_pixels=1_000_000))


def test_metadata_has_the_contract_shape() -> None:
    info = validate_image(images.jpeg(640, 480))
    assert info.metadata.model_dump() == {"width": 640, "height": 480, "format": "JPEG", "colorSpace": "sRGB"}
    assert info.content_type == "image/jpeg"
    assert info.animated is False


def test_metadata_reports_the_displayed_size_of_a_rotated_photo() -> None:
    # Stored landscape, EXIF says "rotate 90 degrees clockwise to display"
    data = images.encode(images.quadrants(400, 300), "JPEG", exif=images.exif_with_gps(orientation=6))
    info = validate_image(data)
    assert (info.width, info.height, info.orientation) == (300, 400, 6)


@pytest.mark.parametrize(
    ("data", "color_space"),
    [
        pytest.param(images.encode(Image.new("CMYK", (64, 64), (0, 200, 200, 0)), "JPEG"), "CMYK", id="cmyk"),
        pytest.param(images.png(64, 64, (128,), mode="L"), "Gray", id="gray"),
        pytest.param(images.png(64, 64, (1, 2, 3, 4), mode="RGBA"), "sRGB", id="untagged-rgba"),
        pytest.param(
            images.encode(
                Image.new("RGB", (64, 64)),
                "JPEG",
                icc_profile=images.rgb_profile("Wide Test RGB", images.SRGB_GREEN, images.SRGB_RED, images.SRGB_BLUE),
            ),
            "Wide Test RGB",
            id="tagged-non-srgb",
        ),
        pytest.param(
            images.encode(
                Image.new("RGB", (64, 64)),
                "JPEG",
                icc_profile=images.rgb_profile(
                    "sRGB IEC61966-2.1", images.SRGB_RED, images.SRGB_GREEN, images.SRGB_BLUE
                ),
            ),
            "sRGB",
            id="tagged-srgb",
        ),
    ],
)
def test_metadata_names_the_colour_space(data: bytes, color_space: str) -> None:
    assert validate_image(data).color_space == color_space


def test_animated_gif_is_valid_and_flagged() -> None:
    info = validate_image(images.animated_gif([(255, 0, 0), (0, 0, 255)]))
    assert info.format is ImageFormat.GIF
    assert info.animated is True


def test_unreadable_exif_does_not_condemn_good_pixels() -> None:
    # Given a JPEG whose APP1 segment says "Exif" but holds garbage
    data = images.jpeg(320, 240)
    app1 = b"Exif\x00\x00" + b"\xde\xad" * 40
    broken = data[:2] + b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1 + data[2:]
    info = validate_image(broken)
    assert (info.width, info.height, info.orientation) == (320, 240, 1)
