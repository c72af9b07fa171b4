"""Cold start: import every deployed handler in a fresh interpreter, against boto3's own cost.

Handlers come from the synthesized templates (`Handler` of every function whose code is the
`runtime` package), so a new function is measured without touching this file. Each sample is a
fresh `python -c` that imports the handler module and creates one boto3 client (every handler
creates at least one on its first request); the baseline does `import boto3;
boto3.client("dynamodb")`, i.e. the floor any Python Lambda that talks to AWS pays. Timing
starts inside the fresh interpreter, so its own start-up is left out of both sides.

Ends with `coldstart worst ratio: <ratio>x` (target: every handler at most 1.5x the baseline).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from local.assembly import CloudAssembly, synthesize  # noqa: E402

RUNS = int(os.environ.get("COLDSTART_RUNS", "7"))
TARGET = 1.5

_PROBE = """
import time
t = time.perf_counter()
{body}
print(time.perf_counter() - t)
"""


def _sample(body: str) -> float:
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "POWERTOOLS_SERVICE_NAME": "bench",
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        "PYTHONDONTWRITEBYTECODE": "0",
    }
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(body=body)],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def _median(body: str) -> float:
    _sample(body)  # warm the OS page cache and .pyc files; Lambda's are warm too
    return statistics.median(_sample(body) for _ in range(RUNS))


def deployed_handlers() -> list[str]:
    with tempfile.TemporaryDirectory() as outdir:
        assembly = CloudAssembly.load(synthesize("local", Path(outdir)))
    handlers = {
        resource["Properties"]["Handler"]
        for _, _, resource in assembly.resources("AWS::Lambda::Function")
        if str(resource.get("Properties", {}).get("Handler", "")).startswith("runtime.")
    }
    return sorted(handlers)


def main() -> int:
    started = time.perf_counter()
    handlers = deployed_handlers()
    client = 'import boto3; boto3.client("dynamodb")'
    baseline = _median(client)
    print(f"baseline (import boto3 + one client): {baseline * 1000:.0f} ms (median of {RUNS})")
    worst = 0.0
    for handler in handlers:
        module, _, attribute = handler.rpartition(".")
        cost = _median(f"import {module} as m; m.{attribute}; {client}")
        ratio = cost / baseline
        worst = max(worst, ratio)
        flag = "" if ratio <= TARGET else "  <- over target"
        print(f"{handler:60s} {cost * 1000:6.0f} ms  {ratio:4.2f}x{flag}")
    print(f"({len(handlers)} handlers in {time.perf_counter() - started:.0f} s)")
    print(f"coldstart worst ratio: {worst:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
