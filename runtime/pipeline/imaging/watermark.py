"""The watermark: a line of text or a logo, blended into one region of each variant.

The mark is rendered once per (configuration, variant size) into a small mask the size of the
mark itself and cached for the container's life; applying it is one masked ``paste`` over that
region. A full-frame transparent layer composited over the whole image (the usual recipe)
gives the same pixels but touches every pixel of the image, three times per upload.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from runtime.common.errors import ConfigurationError
from runtime.pipeline.imaging.config import WatermarkConfig, WatermarkPosition

FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class Mark:
    """A rendered watermark: what to paint, through which mask, where."""

    fill: Image.Image | tuple[int, int, int]
    mask: Image.Image  # "L", opacity already applied
    position: tuple[int, int]


def apply_watermark(image: Image.Image, config: WatermarkConfig) -> None:
    """Blend the mark into ``image`` (an ``RGB`` or ``YCbCr`` variant) in place.

    Blending is linear and so is the step from RGB to JPEG's YCbCr, so blending the mark's
    YCbCr colour into a YCbCr image gives the RGB result's pixels (to within rounding).
    """
    mark = render_mark(config, image.size)
    fill = mark.fill
    if image.mode == "YCbCr":
        fill = fill.convert("YCbCr") if isinstance(fill, Image.Image) else _ycbcr(fill)
    image.paste(fill, (*mark.position, *_corner(mark.position, mark.mask.size)), mark.mask)


@lru_cache(maxsize=16)
def _ycbcr(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """A colour in JPEG's YCbCr (Pillow's conversion uses JFIF's coefficients, as libjpeg does)."""
    y, cb, cr = Image.new("RGB", (1, 1), rgb).convert("YCbCr").getpixel((0, 0))  # type: ignore[misc]
    return y, cb, cr


@lru_cache(maxsize=64)
def render_mark(config: WatermarkConfig, image_size: tuple[int, int]) -> Mark:
    """The mark for one variant size (cached: a container sees the same few sizes again and again)."""
    height = mark_height(config, image_size)
    if config.logo_path is not None:
        logo = _scaled_logo(config, height)
        fill: Image.Image | tuple[int, int, int] = logo.convert("RGB")
        coverage = logo.getchannel("A")
    else:
        font = load_font(config, height)
        left, top, right, bottom = font.getbbox(config.text)
        coverage = Image.new("L", (max(1, int(right - left)), max(1, int(bottom - top))), 0)
        ImageDraw.Draw(coverage).text((-left, -top), config.text, font=font, fill=255)
        fill = config.rgb
    mask = coverage.point([round(value * config.opacity) for value in range(256)])
    return Mark(fill=fill, mask=mask, position=mark_position(config, image_size, mask.size))


def mark_height(config: WatermarkConfig, image_size: tuple[int, int]) -> int:
    return max(1, round(config.size * min(image_size)))


def mark_position(config: WatermarkConfig, image_size: tuple[int, int], mark_size: tuple[int, int]) -> tuple[int, int]:
    """Top-left corner of the mark for the configured position and margin."""
    width, height = image_size
    mark_width, mark_height_px = mark_size
    margin = round(config.margin * min(image_size))
    left, right = margin, width - mark_width - margin
    top, bottom = margin, height - mark_height_px - margin
    position = config.position
    x = {
        WatermarkPosition.TOP_LEFT: left,
        WatermarkPosition.BOTTOM_LEFT: left,
        WatermarkPosition.TOP_RIGHT: right,
        WatermarkPosition.BOTTOM_RIGHT: right,
    }.get(position, (width - mark_width) // 2)
    y = {
        WatermarkPosition.TOP_LEFT: top,
        WatermarkPosition.TOP_RIGHT: top,
        WatermarkPosition.BOTTOM_LEFT: bottom,
        WatermarkPosition.BOTTOM_RIGHT: bottom,
    }.get(position, (height - mark_height_px) // 2)
    return x, y


def text_origin(config: WatermarkConfig, image_size: tuple[int, int]) -> tuple[FontType, tuple[int, int]]:
    """The font and the ``ImageDraw.text`` origin that draw the text mark where ``apply_watermark``
    puts it (the benchmark's full-frame baseline draws with these)."""
    font = load_font(config, mark_height(config, image_size))
    left, top, right, bottom = font.getbbox(config.text)
    x, y = mark_position(config, image_size, (max(1, int(right - left)), max(1, int(bottom - top))))
    return font, (int(x - left), int(y - top))


@lru_cache(maxsize=32)
def load_font(config: WatermarkConfig, size: int) -> FontType:
    if config.font_path is None:
        return ImageFont.load_default(size)
    try:
        return ImageFont.truetype(str(config.font_path), size)
    except OSError as exc:
        raise ConfigurationError(f"watermark font {config.font_path} cannot be loaded") from exc


@lru_cache(maxsize=32)
def _scaled_logo(config: WatermarkConfig, height: int) -> Image.Image:
    assert config.logo_path is not None
    try:
        with Image.open(config.logo_path) as source:
            logo = source.convert("RGBA")
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"watermark logo {config.logo_path} cannot be loaded") from exc
    width = max(1, round(logo.width * height / logo.height))
    return logo.resize((width, height), Image.Resampling.LANCZOS)


def _corner(position: tuple[int, int], size: tuple[int, int]) -> tuple[int, int]:
    return position[0] + size[0], position[1] + size[1]
