"""The pixels Resize hands to Watermark: back exactly as they went, and nothing else accepted."""

from __future__ import annotations

import random

import pytest
from PIL import Image

from runtime.pipeline.imaging import staged


def noise(mode: str, size: tuple[int, int]) -> Image.Image:
    rng = random.Random(7)
    return Image.frombytes(mode, size, rng.randbytes(size[0] * size[1] * 3))


@pytest.mark.parametrize("mode", ["RGB", "YCbCr"])
@pytest.mark.parametrize("size", [(1, 1), (800, 600), (1920, 1080), (607, 1080)])
def test_pixels_come_back_exactly(mode: str, size: tuple[int, int]) -> None:
    image = noise(mode, size)
    back = staged.unpack(staged.pack(image))
    assert (back.mode, back.size) == (mode, size)
    assert back.tobytes() == image.tobytes()


def test_the_largest_variant_fits_the_read_limit() -> None:
    assert len(staged.pack(noise("RGB", (1920, 1080)))) == staged.MAX_BYTES


@pytest.mark.parametrize(
    "image",
    [Image.new("L", (10, 10)), Image.new("RGBA", (10, 10)), Image.new("RGB", (1921, 10)), Image.new("RGB", (10, 1081))],
)
def test_only_variants_are_packed(image: Image.Image) -> None:
    with pytest.raises(ValueError, match=r"staged|no variant"):
        staged.pack(image)


def test_anything_but_a_whole_staged_variant_is_refused() -> None:
    good = staged.pack(noise("RGB", (40, 30)))
    header = good[:13]
    for bad in (
        b"",
        good[:12],
        good[:-1],
        good + b"\x00",
        b"\xff\xd8\xff" + good[3:],  # another magic (a JPEG's start)
        header[:8] + b"\x02" + header[9:] + good[13:],  # unknown mode
        header[:9] + b"\x00\x00" + header[11:] + good[13:],  # zero width
        header[:9] + b"\x07\x81" + header[11:] + good[13:],  # wider than any variant
    ):
        with pytest.raises(ValueError, match="not a staged variant"):
            staged.unpack(bad)
