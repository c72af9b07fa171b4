"""Validate + resize + watermark of one photo: the project's image core against two baselines.

Run: ``.venv/bin/python bench/images.py [--rounds N] [--markdown]`` (``make bench`` runs it with
the defaults, about a minute and a half on 2 cores; ``--ablation`` and ``--floor`` run the 12 MP
studies in docs/benchmarks.md).

Methods, side by side in one process on the same generated 2, 12 and 24 MP photo-like JPEGs:

- ``naive``: the textbook Pillow recipe: open, decode the full image, for each variant resize
  with LANCZOS from the full image, draw the watermark on a full-frame RGBA layer and
  ``alpha_composite`` it, save to memory (quality 85, progressive).
- ``pyvips``: libvips through pyvips (the engine behind serverless-image-handler's Sharp),
  the issue's recipe exactly as written: ``thumbnail_buffer`` once to the largest variant
  (shrink-on-load), ``thumbnail_image`` for the smaller ones, the same watermark composited,
  the three saves in parallel threads. With libvips 8.18 this fails in most rounds ("out of
  order read"): ``thumbnail`` loads sequentially, and the three saves read the one thumbnail
  pipeline out of order. Its failures are counted, its times are those of the rounds that ran.
- ``pyvips+copy_memory``: the same, with the thumbnail rendered into memory once
  (``copy_memory``) before the three saves read it: the smallest change that makes the recipe
  run every time, and the stronger (faster) pyvips reference.
- ``project``: what the deployed state machine computes, its three steps one after the other
  (without S3 and the Step Functions transitions between them): ``validate_image``, then
  ``resize_image`` (pixels, staged for the next step), then ``watermark_variant`` for the three
  variants in parallel threads, as the Watermark function runs them.
- ``project, one pass``: ``process_image``, the same three steps in one process on one decode,
  each variant encoded while the next is resampled (what one function doing all three would
  take). Its JPEGs are the steps' to the bit.

Reported per method and image: the median wall time over the rounds (methods interleaved, so
a busy neighbour slows all of them alike), the ratio to naive, and the PSNR of each variant
against naive's variant (both decoded from their JPEGs; RGB over all three channels, and luma
alone). Then, per method in a fresh subprocess, the peak resident memory processing one
image (``VmHWM`` from ``/proc/self/status``, total and above the RSS right before; the same
counter for all three methods, as tracemalloc would not see libvips's own allocations); and,
in one more subprocess pinned to one CPU (``sched_setaffinity``; what a Lambda function gets
at 1,769 MB), the methods' median times, interleaved again. Ends with
``resize speedup: <x>x`` (project against naive, 12 MP).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageStat

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from runtime.pipeline.imaging import (  # noqa: E402
    VARIANTS,
    WatermarkConfig,
    process_image,
    resize_image,
    validate_image,
    watermark_variant,
)
from runtime.pipeline.imaging.render import fit_inside  # noqa: E402
from runtime.pipeline.imaging.watermark import render_mark, text_origin  # noqa: E402

R = Image.Resampling
SEED = 20261122
# Bump when photo_like changes, so cached inputs are regenerated.
GENERATOR_VERSION = 4
SIZES = {"2 MP": (1632, 1224), "12 MP": (4000, 3000), "24 MP": (6000, 4000)}
HEADLINE = "12 MP"
SUBPROCESS_IMAGES = ("12 MP", "24 MP")
PINNED_ROUNDS = 5
WATERMARK = WatermarkConfig()
SAVE = {"quality": 85, "progressive": True, "optimize": True}

Method = Callable[[bytes], list[bytes]]


# ---------------------------------------------------------------------------------------------
# Inputs


def _field(rng: random.Random, size: tuple[int, int], grid: int, amplitude: int, mode: str = "RGB") -> Image.Image:
    """A smooth random field: a coarse random grid upsampled, values in [0, 2 * amplitude]."""
    grid_w, grid_h = max(2, size[0] // grid), max(2, size[1] // grid)
    raw = Image.frombytes(mode, (grid_w, grid_h), rng.randbytes(grid_w * grid_h * len(mode)))
    field = raw.point(lambda v: v * 2 * amplitude // 255).resize(size, R.BICUBIC)
    return field if mode == "RGB" else Image.merge("RGB", (field, field, field))


def photo_like(width: int, height: int, seed: int = SEED) -> Image.Image:
    """Deterministic photo-like content: a graded sky-to-ground background; texture at five
    scales with less energy the finer it gets, coloured at coarse scales and luminance-only at
    fine ones (as in natural images, whose colour varies slowly: why JPEG subsamples chroma); a
    few hundred objects with hard edges; softened by a 2x upsample (the lens); then sensor
    grain, mostly in luminance."""
    rng = random.Random(seed)
    half = (max(1, width // 2), max(1, height // 2))
    grad = Image.linear_gradient("L").resize(half, R.BILINEAR)
    canvas = Image.merge(
        "RGB",
        (
            grad.point(lambda v: 70 + v * 110 // 255),
            grad.point(lambda v: 120 + v * 60 // 255),
            grad.point(lambda v: 200 - v * 120 // 255),
        ),
    )
    octaves = ((max(half) // 6, 40, "RGB"), (128, 22, "RGB"), (32, 12, "L"), (8, 6, "L"), (2, 4, "L"))
    for grid, amplitude, mode in octaves:
        canvas = ImageChops.add(canvas, _field(rng, half, grid, amplitude, mode), 1.0, -amplitude)
    draw = ImageDraw.Draw(canvas)
    half_w, half_h = half
    for i in range(250):
        divisor = 4 if i < 40 else 15
        w = rng.randrange(half_w // 60 + 1, half_w // divisor + 2)
        h = rng.randrange(half_h // 60 + 1, half_h // divisor + 2)
        x0, y0 = rng.randrange(-w // 2, half_w), rng.randrange(-h // 2, half_h)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        kind = rng.randrange(3)
        if kind == 0:
            draw.ellipse((x0, y0, x0 + w, y0 + h), fill=colour)
        elif kind == 1:
            draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
        else:
            draw.polygon([(x0 + rng.randrange(w), y0 + rng.randrange(h)) for _ in range(4)], fill=colour)
    canvas = ImageChops.add(canvas, _field(rng, half, 4, 6, "L"), 1.0, -6)
    photo = canvas.resize((width, height), R.BICUBIC)
    luma = Image.frombytes("L", (width, height), rng.randbytes(width * height)).point(lambda v: v * 6 // 255)
    chroma = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3)).point(lambda v: v * 2 // 255)
    photo = ImageChops.add(photo, Image.merge("RGB", (luma, luma, luma)), 1.0, -3)
    return ImageChops.add(photo, chroma, 1.0, -1)


def inputs() -> dict[str, bytes]:
    """The test photos as JPEG (quality 90), generated once and cached in the temp directory."""
    cache = Path(tempfile.gettempdir()) / "messaging-bench-images"
    cache.mkdir(exist_ok=True)
    out = {}
    for name, (width, height) in SIZES.items():
        path = cache / f"photo-v{GENERATOR_VERSION}-{SEED}-{width}x{height}.jpg"
        if not path.exists():
            buffer = io.BytesIO()
            photo_like(width, height).save(buffer, "JPEG", quality=90)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(buffer.getvalue())
            tmp.replace(path)
        out[name] = path.read_bytes()
    return out


# ---------------------------------------------------------------------------------------------
# Methods


def _targets(width: int, height: int) -> list[tuple[int, int]]:
    return [fit_inside(width, height, spec.max_width, spec.max_height) for spec in VARIANTS]


def naive(data: bytes) -> list[bytes]:
    image = Image.open(io.BytesIO(data))
    image.load()
    outputs = []
    for size in _targets(*image.size):
        variant = image.resize(size, R.LANCZOS).convert("RGBA")
        layer = Image.new("RGBA", size, (0, 0, 0, 0))
        font, origin = text_origin(WATERMARK, size)
        alpha = round(255 * WATERMARK.opacity)
        ImageDraw.Draw(layer).text(origin, WATERMARK.text, font=font, fill=(*WATERMARK.rgb, alpha))
        marked = Image.alpha_composite(variant, layer).convert("RGB")
        buffer = io.BytesIO()
        marked.save(buffer, "JPEG", **SAVE)
        outputs.append(buffer.getvalue())
    return outputs


_POOL = ThreadPoolExecutor(max_workers=3, thread_name_prefix="bench")


def make_pyvips(copy_memory: bool = False) -> Method:
    import pyvips  # type: ignore[import-untyped]

    overlays: dict[tuple[int, int], tuple[pyvips.Image, tuple[int, int]]] = {}

    def overlay(size: tuple[int, int]) -> tuple[pyvips.Image, tuple[int, int]]:
        # The same mark as the other methods, as an RGBA tile (cached, as the project caches it).
        if size not in overlays:
            mark = render_mark(WATERMARK, size)
            tile = Image.new("RGBA", mark.mask.size, (*WATERMARK.rgb, 0))
            tile.putalpha(mark.mask)
            vips_tile = pyvips.Image.new_from_memory(tile.tobytes(), tile.width, tile.height, 4, "uchar")
            overlays[size] = (vips_tile.copy(interpretation="srgb"), mark.position)
        return overlays[size]

    def save(image: pyvips.Image) -> bytes:
        tile, (x, y) = overlay((image.width, image.height))
        marked = image.composite2(tile, "over", x=x, y=y).extract_band(0, n=3).cast("uchar")
        return marked.jpegsave_buffer(Q=85, interlace=True, optimize_coding=True, keep="none")

    def run(data: bytes) -> list[bytes]:
        header = pyvips.Image.new_from_buffer(data, "", access="sequential")
        sizes = _targets(header.width, header.height)
        large = pyvips.Image.thumbnail_buffer(data, sizes[0][0], height=sizes[0][1], size="force")
        if copy_memory:
            # Rendered once: the three saves then read it in parallel, out of order.
            large = large.copy_memory()
        images = [large] + [large.thumbnail_image(w, height=h, size="force") for w, h in sizes[1:]]
        return list(_POOL.map(save, images))

    return run


def project(data: bytes) -> list[bytes]:
    validate_image(data)
    return watermark_all([variant.data for variant in resize_image(data).variants])


def watermark_all(staged: list[bytes]) -> list[bytes]:
    """The Watermark step's work: the three staged variants marked and encoded on three threads."""
    return list(_POOL.map(lambda data: watermark_variant(data, WATERMARK), staged))


def one_pass(data: bytes) -> list[bytes]:
    return [variant.data for variant in process_image(data, watermark=WATERMARK).variants]


METHODS: dict[str, Callable[[], Method]] = {
    "naive": lambda: naive,
    "pyvips": make_pyvips,
    "pyvips+copy_memory": lambda: make_pyvips(copy_memory=True),
    "project": lambda: project,
    "project, one pass": lambda: one_pass,
}
# Methods that run every time (the fresh-process measurements need one full run).
RELIABLE = ("naive", "pyvips+copy_memory", "project")
VIPS_REFERENCE = "pyvips+copy_memory"


# ---------------------------------------------------------------------------------------------
# Measurements


def psnr(a: bytes, b: bytes, luma: bool = False) -> float:
    mode = "L" if luma else "RGB"
    first, second = (Image.open(io.BytesIO(x)).convert(mode) for x in (a, b))
    if first.size != second.size:
        return float("nan")
    stats = ImageStat.Stat(ImageChops.difference(first, second))
    mse = sum(stats.sum2) / (len(stats.sum2) * first.width * first.height)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def child(method_name: str, path: str) -> None:
    """In this fresh process: process one image twice with one method (or one of the project's
    steps, ``step:NAME``: they run in separate functions, so each has its own peak); print the
    RSS before the first run and the peak RSS (MiB)."""
    data = Path(path).read_bytes()
    method = STEPS[method_name.removeprefix("step:")] if method_name.startswith("step:") else METHODS[method_name]()
    if method_name == "step:watermark":
        data = _split(data)  # type: ignore[assignment]
    before = _status_mib("VmRSS")
    for _ in range(2):
        method(data)
    print(json.dumps({"before": before, "peak": _status_mib("VmHWM")}))


def _joined(parts: list[bytes]) -> bytes:
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def _split(blob: bytes) -> list[bytes]:
    parts, offset = [], 0
    while offset < len(blob):
        size = int.from_bytes(blob[offset : offset + 4], "big")
        parts.append(blob[offset + 4 : offset + 4 + size])
        offset += 4 + size
    return parts


# The deployed steps one by one, for their peak memory (what sizes each function).
STEPS: dict[str, Callable[[Any], object]] = {
    "validate": validate_image,
    "resize": resize_image,
    "watermark": watermark_all,
}


def step_memory(data: bytes) -> tuple[str, dict[str, Any]]:
    """The project's steps each in a fresh process; the one with the highest peak."""
    staged = _joined([variant.data for variant in resize_image(data).variants])
    peaks = {
        "validate": in_subprocess(data, "--child", "step:validate", "{path}"),
        "resize": in_subprocess(data, "--child", "step:resize", "{path}"),
        "watermark": in_subprocess(staged, "--child", "step:watermark", "{path}"),
    }
    return max(peaks.items(), key=lambda item: float(item[1]["peak"]))


def pinned(path: str, rounds: int) -> None:
    """In this fresh process pinned to one CPU: every method on one image, interleaved (after
    a warm-up); print each method's median time (ms)."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    runners = {name: METHODS[name]() for name in RELIABLE}  # libvips sizes its threads now
    data = Path(path).read_bytes()
    times: dict[str, list[float]] = {name: [] for name in runners}
    for runner in runners.values():
        runner(data)
    for _ in range(rounds):
        for name, runner in runners.items():
            start = time.perf_counter()
            runner(data)
            times[name].append((time.perf_counter() - start) * 1000)
    print(json.dumps({name: statistics.median(values) for name, values in times.items()}))


def _status_mib(field: str) -> float:
    """A field of /proc/self/status. VmHWM is this process's peak RSS since its exec (the
    ``ru_maxrss`` of a subprocess also counts the parent's RSS at fork, so it cannot be used)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def in_subprocess(data: bytes, *args: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".jpg") as source:
        source.write(data)
        source.flush()
        result = subprocess.run(
            [sys.executable, __file__, *[source.name if arg == "{path}" else arg for arg in args]],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown",
    )
    mem_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    import PIL

    try:
        import pyvips

        vips = f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"
    except ImportError:  # pragma: no cover - requirements-dev pins it
        vips = "libvips not installed"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "ram": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "python": platform.python_version(),
        "versions": f"Pillow {PIL.__version__}, {vips}",
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def ablation(data: bytes, rounds: int) -> None:
    """The project's one-pass path with its optimizations switched off one by one (12 MP)."""
    from runtime.pipeline.imaging import encode, pipeline, render

    def bytesio_encode(image: Image.Image) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", **encode.JPEG_OPTIONS)
        return buffer.getvalue()

    def at_once(image: Image.Image) -> Future[bytes]:
        done: Future[bytes] = Future()
        done.set_result(encode.encode_jpeg(image))
        return done

    encoders: dict[str, Callable[[Image.Image], Future[bytes]]] = {
        "serial": at_once,
        "threads+BytesIO": lambda image: encode.pool().submit(bytesio_encode, image),
        "threads+memfd": encode.encode_later,
    }
    cpu_count, prefilters = render.cpu_count, render._prefilters

    def variant(bands: bool, encoder: str, ycbcr: bool = True, prefiltered: bool = True) -> Method:
        def run(data: bytes) -> list[bytes]:
            render.cpu_count = cpu_count if bands else (lambda: 1)
            render.MATCH_FULL_SIZE_RESIZE = ycbcr
            render._prefilters = prefilters if prefiltered else (lambda source, scale: (None, None))
            pipeline.encode_later = encoders[encoder]  # type: ignore[assignment]
            try:
                return one_pass(data)
            finally:
                render.cpu_count, pipeline.encode_later = cpu_count, encode.encode_later
                render.MATCH_FULL_SIZE_RESIZE, render._prefilters = True, prefilters

        return run

    runners = {
        "RGB path: draft decode + LANCZOS, chained, one thread": variant(False, "serial", ycbcr=False),
        "+ encodes in threads, into BytesIO": variant(False, "threads+BytesIO", ycbcr=False),
        "+ encodes in threads, into memfd, beside the resampling": variant(False, "threads+memfd", ycbcr=False),
        "+ resampling in bands on all CPUs (the project before YCbCr)": variant(True, "threads+memfd", ycbcr=False),
        "YCbCr path, each variant from the decode, no prefilters": variant(True, "threads+memfd", prefiltered=False),
        "+ luma and chroma prefilters (= project)": variant(True, "threads+memfd"),
        "project on one thread": variant(False, "serial"),
        "pyvips+copy_memory": make_pyvips(copy_memory=True),
        "naive": naive,
    }
    outputs = {name: runner(data) for name, runner in runners.items()}
    times: dict[str, list[float]] = {name: [] for name in runners}
    cpu: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name, runner in runners.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            runner(data)
            times[name].append((time.perf_counter() - start) * 1000)
            cpu[name].append((time.process_time() - start_cpu) * 1000)
    print("| 12 MP | median ms | best ms | CPU ms (all threads) | PSNR vs naive, dB: L / M / S (RGB) |")
    print("|---|---:|---:|---:|---|")
    for name in runners:
        pairs = zip(outputs[name], outputs["naive"], strict=True)
        quality = " / ".join(f"{psnr(a, b):.1f}" for a, b in pairs) if name != "naive" else "(reference)"
        print(
            f"| {name} | {statistics.median(times[name]):.0f} | {min(times[name]):.0f} "
            f"| {statistics.median(cpu[name]):.0f} | {quality} |"
        )
    print(f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def floor(data: bytes, rounds: int) -> None:
    """The least wall time each way of resampling could reach on 2 CPUs (12 MP): its decode,
    kernels (the 44 dB path's), resamples and encodes timed one by one on one thread, then the
    decode (which nothing can overlap) plus everything else spread perfectly over both CPUs,
    with the rest of the project's work (splitting into bands, assembling, validation) counted
    as free. Beside it, in the same rounds, naive and pyvips+copy_memory as in the main table."""
    from runtime.pipeline.imaging import render
    from runtime.pipeline.imaging.encode import encode_jpeg
    from runtime.pipeline.imaging.watermark import apply_watermark

    sizes = _targets(*Image.open(io.BytesIO(data)).size)
    ways = {
        "YCbCr, each variant from the decode, LANCZOS, with the two kernels (the >= 44 dB path)": (
            "YCbCr",
            False,
            R.LANCZOS,
        ),
        "RGB, smaller variants from the largest, LANCZOS (the cheaper path)": ("RGB", True, R.LANCZOS),
        "RGB, smaller variants from the largest, BICUBIC (the issue's Pillow recipe)": ("RGB", True, R.BICUBIC),
    }

    def resize(image: Image.Image, size: tuple[int, int], method: R) -> Image.Image:
        if image.width != size[0]:
            image = image.resize((size[0], image.height), method)
        return image.resize(size, method) if image.height != size[1] else image.copy()

    def prefiltered(image: Image.Image) -> Image.Image:
        """The project's two kernels over the whole decode (the project runs them band by band)."""
        luma_kernel, chroma_kernel = render._prefilters(image, 2)
        luma, blue, red = image.split()
        if luma_kernel:
            luma = luma.filter(luma_kernel)
        if chroma_kernel:
            blue, red = blue.filter(chroma_kernel), red.filter(chroma_kernel)
        return Image.merge("YCbCr", (luma, blue, red))

    def run(mode: str, chained: bool, method: R) -> tuple[dict[str, float], list[bytes]]:
        spent = {"decode": 0.0, "kernels": 0.0, "resample": 0.0, "encode": 0.0}
        start = time.perf_counter()
        decoded = Image.open(io.BytesIO(data))
        decoded.draft(mode, sizes[0])
        decoded.load()
        spent["decode"] = time.perf_counter() - start
        image: Image.Image = decoded
        if mode == "YCbCr":
            start = time.perf_counter()
            image = prefiltered(decoded)
            spent["kernels"] = time.perf_counter() - start
        outputs, source = [], image
        for size in sizes:
            start = time.perf_counter()
            variant = resize(source, size, method)
            if chained and source is image:
                source, variant = variant, variant.copy()  # the smaller ones come from the unmarked largest
            apply_watermark(variant, WATERMARK)
            spent["resample"] += time.perf_counter() - start
            start = time.perf_counter()
            outputs.append(encode_jpeg(variant))
            spent["encode"] += time.perf_counter() - start
        return {key: value * 1000 for key, value in spent.items()}, outputs

    baselines: dict[str, Method] = {"naive": naive, "pyvips+copy_memory": make_pyvips(copy_memory=True)}
    reference = naive(data)
    quality = {name: [psnr(a, b) for a, b in zip(run(*way)[1], reference, strict=True)] for name, way in ways.items()}
    spent: dict[str, list[dict[str, float]]] = {name: [] for name in ways}
    walls: dict[str, list[float]] = {name: [] for name in baselines}
    for _ in range(rounds):
        for name, way in ways.items():
            spent[name].append(run(*way)[0])
        for name, method in baselines.items():
            start = time.perf_counter()
            method(data)
            walls[name].append((time.perf_counter() - start) * 1000)
    naive_ms, vips_ms = (statistics.median(walls[name]) for name in baselines)
    print(f"12 MP, {rounds} interleaved rounds: naive {naive_ms:.0f} ms, pyvips+copy_memory {vips_ms:.0f} ms (medians)")
    print(
        "| way | decode ms | kernels ms | resample + mark ms | encode ms | floor on 2 CPUs ms | vs naive"
        " | vs pyvips+copy_memory | PSNR vs naive, dB: L / M / S |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for name in ways:
        decode, kernels, resampled, encoded = (statistics.median(r[key] for r in spent[name]) for key in spent[name][0])
        least = decode + (kernels + resampled + encoded) / 2
        print(
            f"| {name} | {decode:.0f} | {kernels:.0f} | {resampled:.0f} | {encoded:.0f} | {least:.0f}"
            f" | {naive_ms / least:.2f}x | {vips_ms / least:.2f}x"
            f" | {' / '.join(f'{value:.1f}' for value in quality[name])} |"
        )
    print(f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="timed rounds per method and image (after a warm-up)")
    parser.add_argument("--markdown", action="store_true", help="also print the tables as Markdown")
    parser.add_argument("--ablation", action="store_true", help="only the 12 MP ablation of the project's path")
    parser.add_argument(
        "--floor", action="store_true", help="only the 12 MP floor: the least each way of resampling could take"
    )
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--pinned", nargs=2, metavar=("PATH", "ROUNDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.pinned:
        pinned(args.pinned[0], int(args.pinned[1]))
        return

    started = time.perf_counter()
    info = machine()
    photos = inputs()
    if args.ablation:
        ablation(photos[HEADLINE], args.rounds)
        return
    if args.floor:
        floor(photos[HEADLINE], args.rounds)
        return
    runners = {name: factory() for name, factory in METHODS.items()}
    print(
        f"{info['date']} | {info['cpus']} CPUs, {info['cpu']}, {info['ram']} | Python {info['python']}, "
        f"{info['versions']} | load {info['load']}"
    )
    print("inputs: " + ", ".join(f"{name} {len(data) / 1e6:.1f} MB" for name, data in photos.items()))

    # Warm-up (imports, caches, thread pools), then rounds with the methods interleaved. A
    # method that fails (the literal pyvips recipe) has its failures counted, not timed.
    outputs: dict[tuple[str, str], list[bytes] | None] = {}
    failures: dict[tuple[str, str], int] = {}
    errors: dict[str, str] = {}

    def attempt(name: str, photo: str) -> tuple[list[bytes] | None, float]:
        start = time.perf_counter()
        try:
            result = runners[name](photos[photo])
        except Exception as exc:  # pyvips.Error: reported, not hidden
            failures[(name, photo)] = failures.get((name, photo), 0) + 1
            errors[name] = str(exc).strip().splitlines()[-1].strip()
            return None, math.nan
        return result, (time.perf_counter() - start) * 1000

    for name in runners:
        for photo in photos:
            # Up to five tries for a first output to compare (only the literal recipe needs them).
            for _ in range(5):
                outputs[(name, photo)] = attempt(name, photo)[0]
                if outputs[(name, photo)] is not None:
                    break
    warmup_failures = dict(failures)
    failures.clear()
    times: dict[tuple[str, str], list[float]] = {key: [] for key in outputs}
    for _ in range(args.rounds):
        for photo in photos:
            for name in runners:
                elapsed = attempt(name, photo)[1]
                if not math.isnan(elapsed):
                    times[(name, photo)].append(elapsed)
    medians = {key: statistics.median(values) if values else math.nan for key, values in times.items()}

    def timing(name: str, photo: str) -> tuple[float, float, float, str]:
        """Median, best, ratio to naive, and a note on failed rounds."""
        values, failed = times[(name, photo)], failures.get((name, photo), 0)
        note = f"{failed}/{args.rounds} rounds failed" if failed else ""
        if not values:
            return math.nan, math.nan, math.nan, note
        median = medians[(name, photo)]
        return median, min(values), medians[("naive", photo)] / median, note

    rows = []
    for photo in photos:
        for name in runners:
            quality = ""
            reference, output = outputs[("naive", photo)], outputs[(name, photo)]
            if name != "naive" and output is not None and reference is not None:
                pairs = list(zip(output, reference, strict=True))
                rgb = " / ".join(f"{psnr(a, b):.1f}" for a, b in pairs)
                luma = " / ".join(f"{psnr(a, b, luma=True):.1f}" for a, b in pairs)
                quality = f"{rgb} (Y {luma})"
            elif output is None:
                quality = "(no output to compare: the warm-up's tries all failed)"
            rows.append((photo, name, *timing(name, photo), quality))

    # Fresh processes: peak memory per method, then the methods interleaved on one CPU (what a
    # Lambda function gets at 1,769 MB); only the methods that run every time.
    memory: dict[tuple[str, str], dict[str, Any]] = {}
    for p in SUBPROCESS_IMAGES:
        for m in RELIABLE:
            if m == "project":
                step, memory[(p, m)] = step_memory(photos[p])
                memory[(p, m)]["label"] = f"project (largest step: {step})"
            else:
                memory[(p, m)] = in_subprocess(photos[p], "--child", m, "{path}")
    one_cpu = {p: in_subprocess(photos[p], "--pinned", "{path}", str(PINNED_ROUNDS)) for p in SUBPROCESS_IMAGES}

    width = max(len(name) for name in runners)
    print()
    header = f"{'image':6} {'method':{width}} {'median ms':>10} {'best ms':>8} {'vs naive':>9}"
    print(f"{header}  PSNR vs naive, dB: L / M / S")
    for photo, name, ms, best, ratio, note, quality in rows:
        print(f"{photo:6} {name:{width}} {ms:10.1f} {best:8.1f} {ratio:8.2f}x  {quality} {note}".rstrip())
    print()
    print(f"{'image':6} {'method':{width}} {'peak RSS MiB':>13} {'above start':>12} {'1 CPU ms':>9}")
    for (photo, name), result in memory.items():
        single = one_cpu[photo][name]
        above = result["peak"] - result["before"]
        print(f"{photo:6} {result.get('label', name):{width}} {result['peak']:13.1f} {above:12.1f} {single:9.1f}")
    print()
    print(
        "pyvips (the issue's recipe as written): "
        + ", ".join(
            f"{photo} failed {failures.get(('pyvips', photo), 0)}/{args.rounds} rounds"
            f" (+{warmup_failures.get(('pyvips', photo), 0)} in the warm-up)"
            for photo in photos
        )
        + (f"; {errors['pyvips']}" if "pyvips" in errors else "")
    )

    if args.markdown:
        print()
        print("| image | method | median ms | best ms | vs naive | PSNR vs naive, dB: L / M / S, RGB (luma) |")
        print("|---|---|---:|---:|---:|---|")
        for photo, name, ms, best, ratio, note, quality in rows:
            timed = f"{ms:.0f} | {best:.0f} | {ratio:.2f}x" if not math.isnan(ms) else "- | - | -"
            label = f"{name} ({note})" if note else name
            print(f"| {photo} | {label} | {timed} | {quality or '(reference)'} |")
        print()
        print("| image | method | peak RSS MiB | above start MiB | 1 CPU median ms |")
        print("|---|---|---:|---:|---:|")
        for (photo, name), result in memory.items():
            single = one_cpu[photo][name]
            print(
                f"| {photo} | {result.get('label', name)} | {result['peak']:.0f}"
                f" | {result['peak'] - result['before']:.0f} | {single:.0f} |"
            )

    project_ms = medians[("project", HEADLINE)]
    headline = medians[("naive", HEADLINE)] / project_ms
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print()
    print(
        f"{HEADLINE}: project {medians[(VIPS_REFERENCE, HEADLINE)] / project_ms:.2f}x {VIPS_REFERENCE}, "
        + (
            f"{medians[('pyvips', HEADLINE)] / project_ms:.2f}x pyvips as written (its successful rounds only); "
            if not math.isnan(medians[("pyvips", HEADLINE)])
            else "pyvips as written never ran to the end; "
        )
        + f"load {load}; bench took {time.perf_counter() - started:.0f} s"
    )
    print(f"resize speedup: {headline:.2f}x")


if __name__ == "__main__":
    main()
