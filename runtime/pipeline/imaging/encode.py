"""JPEG encoding of the variants, in parallel.

Pillow releases the GIL while libjpeg compresses only when it writes to a real file
descriptor (``encode_to_file``); into a ``BytesIO`` it encodes chunk by chunk holding the GIL,
so threads would take turns. Each variant is therefore encoded into an anonymous in-memory
file (``memfd``; a ``/tmp`` temporary file where there is none) and read back: the three
encodes then really run side by side on the function's vCPUs, and beside the resampling of
the variants still to come.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import Future
from typing import IO

from PIL import Image

from runtime.pipeline.imaging.config import JPEG_QUALITY
from runtime.pipeline.imaging.workers import pool

# The contract's encoding: quality 85, progressive (which implies optimized Huffman tables).
JPEG_OPTIONS = {"quality": JPEG_QUALITY, "progressive": True, "optimize": True}


def encode_jpeg(image: Image.Image) -> bytes:
    with _scratch_file() as scratch:
        image.save(scratch, "JPEG", **JPEG_OPTIONS)
        scratch.seek(0)
        return scratch.read()


def encode_later(image: Image.Image) -> Future[bytes]:
    """Encode on the pool while the caller goes on (resampling the next variant)."""
    return pool().submit(encode_jpeg, image)


def _scratch_file() -> IO[bytes]:
    if hasattr(os, "memfd_create"):
        return os.fdopen(os.memfd_create("variant", os.MFD_CLOEXEC), "w+b")
    return tempfile.TemporaryFile()
