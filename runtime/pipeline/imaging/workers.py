"""The threads the image core spreads its work over.

Pillow releases the GIL while it resamples and while libjpeg encodes into a file descriptor,
so plain threads use every vCPU the function has (Lambda gives one vCPU per 1,769 MB; two from
3,008 MB). One pool per container, created at first use, never at import.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache


def cpu_count() -> int:
    """vCPUs this process may run on (Lambda's, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


@cache
def pool() -> ThreadPoolExecutor:
    # Three encodes may run at once whatever the vCPU count; extra threads cost nothing idle.
    return ThreadPoolExecutor(max_workers=max(3, cpu_count()), thread_name_prefix="imaging")
