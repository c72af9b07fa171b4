"""Image files built in code for the image-core tests: each one a case an upload can be."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image


def encode(image: Image.Image, image_format: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


def jpeg(width: int = 640, height: int = 480, color: tuple[int, ...] = (90, 140, 200), **params: object) -> bytes:
    return encode(Image.new("RGB", (width, height), color), "JPEG", quality=90, **params)


def png(width: int = 640, height: int = 480, color: tuple[int, ...] = (90, 140, 200), mode: str = "RGB") -> bytes:
    return encode(Image.new(mode, (width, height), color), "PNG")


def quadrants(width: int, height: int) -> Image.Image:
    """Red top-left, green top-right, blue bottom-left, white bottom-right: shows any rotation."""
    image = Image.new("RGB", (width, height))
    half_w, half_h = width // 2, height // 2
    image.paste((255, 0, 0), (0, 0, half_w, half_h))
    image.paste((0, 255, 0), (half_w, 0, width, half_h))
    image.paste((0, 0, 255), (0, half_h, half_w, height))
    image.paste((255, 255, 255), (half_w, half_h, width, height))
    return image


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: orientation, camera, and where the photo was taken."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 22.0, 5.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (4.0, 53.0, 12.0)
    return exif


def animated_gif(frames: list[tuple[int, int, int]], size: tuple[int, int] = (120, 80)) -> bytes:
    images = [Image.new("RGB", size, color) for color in frames]
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of ``width`` x ``height``, all black: tiny on disk.

    Written by hand because Pillow would need the whole canvas in memory (one byte per pixel
    even in mode "1") to save it. The pixel rows are deflated in blocks that each end with a
    full flush, so one compressed block can be repeated instead of compressing 300 MB of rows.
    """
    row = b"\x00" + bytes((width + 7) // 8)  # filter type 0, then the packed row
    rows_per_block = max(1, (1 << 22) // len(row))
    full_blocks, rest = divmod(height, rows_per_block)
    block, tail = row * rows_per_block, row * rest
    checksum = 1
    for _ in range(full_blocks):
        checksum = zlib.adler32(block, checksum)
    checksum = zlib.adler32(tail, checksum)
    stream = (
        b"\x78\xda"
        + _raw_deflate(block) * full_blocks
        + (_raw_deflate(tail) if rest else b"")
        + zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # the final, empty block
        + struct.pack(">I", checksum)
    )
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b"")


def _raw_deflate(data: bytes) -> bytes:
    """Deflate without history from earlier blocks and ending byte-aligned: safe to repeat."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# sRGB's primaries adapted to D50, as ICC profiles store them (IEC 61966-2-1).
SRGB_RED = (0.4360747, 0.2225045, 0.0139322)
SRGB_GREEN = (0.3850649, 0.7168786, 0.0971045)
SRGB_BLUE = (0.1430804, 0.0606169, 0.7141733)
D50 = (0.9642, 1.0, 0.8249)


def rgb_profile(
    description: str,
    red: tuple[float, float, float],
    green: tuple[float, float, float],
    blue: tuple[float, float, float],
    gamma: float = 2.2,
) -> bytes:
    """A minimal ICC v2 matrix/TRC display profile (what a camera's "Adobe RGB" or a phone's
    "Display P3" is, structurally), so colour management can be tested without profile files."""
    ascii_text = description.encode("ascii") + b"\x00"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(ascii_text)) + ascii_text + bytes(4 + 4 + 2 + 1 + 67)
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256)) + bytes(2)
    tags = [
        (b"desc", desc),
        (b"cprt", b"text" + bytes(4) + b"none\x00"),
        (b"wtpt", _xyz(D50)),
        (b"rXYZ", _xyz(red)),
        (b"gXYZ", _xyz(green)),
        (b"bXYZ", _xyz(blue)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = [], b""
    for signature, body in tags:
        padded = body + bytes(-len(body) % 4)
        table.append(struct.pack(">4sII", signature, offset + len(data), len(body)))
        data += padded
    body = struct.pack(">I", len(tags)) + b"".join(table) + data
    size = 128 + len(body)
    header = (
        struct.pack(">I4sI4s4s4s", size, b"lcms", 0x02100000, b"mntr", b"RGB ", b"XYZ ")
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + bytes(4 + 4 + 4 + 4 + 8)
        + struct.pack(">I", 0)
        + b"".join(_s15(v) for v in D50)
        + b"test"
    )
    header += bytes(128 - len(header))
    return header + body


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(xyz: tuple[float, float, float]) -> bytes:
    return b"XYZ " + bytes(4) + b"".join(_s15(v) for v in xyz)
