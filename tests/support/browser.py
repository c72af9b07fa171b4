"""Headless Chromium for the browser tests: Debian's own build, never a downloaded one.

`make test` installs Debian's `chromium` when it is missing and it can (root, apt-get); where it
cannot, the browser tests skip and say why instead of failing on a machine without a browser.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium keeps calling home, which on a machine with
# no route out costs retries and log noise; QUIC is off for the same reason.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium, or a skip that names what is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the Python package playwright is not installed (make install)")
    if not CHROMIUM.exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium when run as root with apt-get; "
            "elsewhere install it (or set CHROMIUM to a Chromium binary) to run the browser tests"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()
