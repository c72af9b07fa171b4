"""Watermark: configured text or logo, where it was asked for, and the steps run separately."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat
from pydantic import ValidationError

from runtime.common.errors import ConfigurationError
from runtime.common.names import Env
from runtime.common.settings import load, reset
from runtime.pipeline.imaging import (
    ImagingSettings,
    WatermarkConfig,
    WatermarkPosition,
    process_image,
    resize_image,
    validate_image,
    watermark_variant,
)
from runtime.pipeline.imaging.watermark import apply_watermark, render_mark
from tests.support import images
from tests.support.imaging import rendered

GREY = (90, 90, 90)
CORNERS = {
    WatermarkPosition.TOP_LEFT: (0, 0),
    WatermarkPosition.TOP_RIGHT: (1, 0),
    WatermarkPosition.BOTTOM_LEFT: (0, 1),
    WatermarkPosition.BOTTOM_RIGHT: (1, 1),
}


def changed_quarters(before: Image.Image, after: Image.Image, threshold: float = 1.0) -> set[tuple[int, int]]:
    """Which quarters of the image differ (mean absolute difference over ``threshold``)."""
    width, height = before.size
    changed = set()
    for qx in (0, 1):
        for qy in (0, 1):
            box = (qx * width // 2, qy * height // 2, (qx + 1) * width // 2, (qy + 1) * height // 2)
            diff = ImageChops.difference(before.crop(box).convert("RGB"), after.crop(box).convert("RGB"))
            if max(ImageStat.Stat(diff).mean) > threshold:
                changed.add((qx, qy))
    return changed


def brightest(band: Image.Image) -> int:
    _, high = band.getextrema()
    assert isinstance(high, int)
    return high


@pytest.mark.parametrize("position", list(CORNERS))
def test_watermark_changes_pixels_only_in_the_configured_corner(position: WatermarkPosition) -> None:
    config = WatermarkConfig(position=position)
    canvas = Image.new("RGB", (1200, 900), GREY)
    marked = canvas.copy()
    apply_watermark(marked, config)
    assert changed_quarters(canvas, marked, threshold=0.05) == {CORNERS[position]}
    # The mark itself: white text at 60 % over grey lightens the pixels it covers
    mark = render_mark(config, canvas.size)
    x, y = mark.position
    region = (x, y, x + mark.mask.width, y + mark.mask.height)
    assert brightest(marked.crop(region).convert("L")) > 180


def test_centered_watermark_sits_in_the_middle() -> None:
    config = WatermarkConfig(position=WatermarkPosition.CENTER, size=0.1)
    canvas = Image.new("RGB", (1200, 900), GREY)
    marked = canvas.copy()
    apply_watermark(marked, config)
    bbox = ImageChops.difference(canvas, marked).getbbox()
    assert bbox is not None
    center = ((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2)
    assert abs(center[0] - 600) < 30
    assert abs(center[1] - 450) < 30


def test_watermark_reaches_the_encoded_variants_in_their_corner() -> None:
    source = images.jpeg(2400, 1800, GREY)
    plain = {v.name: v for v in rendered(source).variants}
    for variant in process_image(source, watermark=WatermarkConfig(color="#ff0000", opacity=1.0)).variants:
        before = Image.open(io.BytesIO(plain[variant.name].data))
        after = Image.open(io.BytesIO(variant.data))
        assert changed_quarters(before, after, threshold=0.3) == {(1, 1)}
        # Red text at full opacity: the reddest pixel of the bottom-right quarter is red
        quarter = after.crop((after.width // 2, after.height // 2, after.width, after.height))
        assert brightest(quarter.getchannel("R")) > 220


def test_watermark_scales_with_the_variant() -> None:
    config = WatermarkConfig()
    small = render_mark(config, (800, 600)).mask
    large = render_mark(config, (1440, 1080)).mask
    assert large.height == pytest.approx(small.height * 1.8, rel=0.15)


def test_opacity_controls_how_strong_the_mark_is() -> None:
    faint, strong = (
        render_mark(WatermarkConfig(opacity=opacity), (1200, 900)).mask.getextrema()[1] for opacity in (0.2, 1.0)
    )
    assert faint == round(255 * 0.2)
    assert strong == 255


def test_logo_watermark(tmp_path: Path) -> None:
    # Given a logo: a blue square with a transparent border
    logo = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    logo.paste((0, 0, 255, 255), (20, 20, 80, 80))
    logo_path = tmp_path / "logo.png"
    logo.save(logo_path)
    config = WatermarkConfig(logo_path=logo_path, opacity=1.0, position=WatermarkPosition.TOP_LEFT, size=0.1)
    canvas = Image.new("RGB", (1000, 800), GREY)
    marked = canvas.copy()
    apply_watermark(marked, config)
    # The logo is 80 px tall (10 % of 800), 16 px margin, its opaque centre is blue
    assert marked.getpixel((16 + 40, 16 + 40)) == (0, 0, 255)
    assert marked.getpixel((16 + 5, 16 + 5)) == GREY  # its transparent border lets the photo through
    assert changed_quarters(canvas, marked, threshold=0.05) == {(0, 0)}


def test_unloadable_font_or_logo_is_a_configuration_error_not_the_uploads_fault(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"not an image")
    for config in (
        WatermarkConfig(font_path=tmp_path / "missing.ttf"),
        WatermarkConfig(logo_path=tmp_path / "missing.png"),
        WatermarkConfig(logo_path=tmp_path / "broken.png"),
    ):
        with pytest.raises(ConfigurationError, match="cannot be loaded"):
            render_mark(config, (800, 600))


def test_mark_larger_than_a_tiny_image_is_clipped_not_an_error() -> None:
    result = process_image(images.jpeg(12, 9), watermark=WatermarkConfig(size=0.5))
    assert [v.dimensions for v in result.variants] == ["12x9"] * 3


@pytest.mark.parametrize(
    "bad",
    [
        {"color": "not-a-colour"},
        {"opacity": 0},
        {"opacity": 1.5},
        {"position": "upper-left"},
        {"text": ""},
        {"size": 0},
        {"surprise": True},
    ],
)
def test_watermark_configuration_is_validated(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        WatermarkConfig.model_validate(bad)


def test_settings_read_the_watermark_and_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The names the stacks set (runtime.common.names.Env) are the settings' fields
    assert {name.upper() for name in ImagingSettings.model_fields} - {"STAGE"} == {
        Env.IMAGE_MAX_BYTES,
        Env.IMAGE_MAX_PIXELS,
        Env.WATERMARK,
    }
    monkeypatch.setenv(Env.WATERMARK, json.dumps({"text": "© Acme", "position": "top-left", "opacity": 0.4}))
    monkeypatch.setenv(Env.IMAGE_MAX_PIXELS, "24000000")
    reset()
    try:
        settings = load(ImagingSettings)
    finally:
        reset()
    assert settings.watermark == WatermarkConfig(text="© Acme", position=WatermarkPosition.TOP_LEFT, opacity=0.4)
    assert settings.limits.max_pixels == 24_000_000
    assert settings.limits.max_bytes == 10 * 1024 * 1024


def test_steps_run_separately_give_the_one_pass_result() -> None:
    # Validate -> Resize -> Watermark as three Lambda steps, each from bytes to bytes: the
    # pixels go from Resize to Watermark as they are, so each variant is encoded once, exactly
    # as the one pass encodes it (a JPEG handed over was a second generation, 3-5 dB off).
    photo = images.encode(images.quadrants(3000, 2000), "JPEG", quality=92, exif=images.exif_with_gps(6))
    for source in (photo, images.png(1000, 700)):
        info = validate_image(source)
        resized = resize_image(source)
        stepwise = {v.name: watermark_variant(v.data) for v in resized.variants}
        one_pass = {v.name: v.data for v in process_image(source).variants}
        assert info == resized.info
        assert stepwise == one_pass
    unmarked = Image.open(io.BytesIO(rendered(photo).variants[0].data))
    marked = Image.open(io.BytesIO(watermark_variant(resize_image(photo).variants[0].data)))
    assert changed_quarters(unmarked, marked) == {(1, 1)}


def test_watermark_step_takes_only_staged_variants() -> None:
    for data in (images.png(100, 100), images.jpeg(100, 100), b"", b"MSGPIX\x00\x01" + bytes(20)):
        with pytest.raises(ValueError, match="not a staged variant"):
            watermark_variant(data)
