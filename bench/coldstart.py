"""Cold start: import every deployed handler in a fresh interpreter, against boto3's own cost.

Handlers come from the synthesized templates (`Handler` of every function whose code is the
`runtime` package), so a new function is measured without touching this file. Each sample is a
fresh `python -c` that imports the handler module and creates one boto3 client (every handler
creates at least one on its first request); the baseline does `import boto3;
boto3.client("dynamodb")`, i.e. the floor any Python Lambda that talks to AWS pays. Timing
starts inside the fresh interpreter, so its own start-up is left out of both sides.

Each interpreter gets the environment Lambda would give that function: the template's own
variables (POWERTOOLS_*, STAGE, table names; values CloudFormation fills in at deploy time are
placeholders, as nothing reads them at import) plus the variables the Lambda runtime sets,
`LAMBDA_TASK_ROOT` among them. That one matters: Powertools' Tracer and the X-Ray SDK only
trace (and patch) inside Lambda, and outside it the SDK builds X-Ray clients for a sampler that
Lambda never uses, so without it the bench would time a start-up no deployed function has.

The baseline is sampled alternately with each handler, so a neighbour's load on the shared
machine slows both sides of each ratio alike.

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
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from local.assembly import CloudAssembly, synthesize  # noqa: E402

RUNS = int(os.environ.get("COLDSTART_RUNS", "7"))
TARGET = 1.5
REGION = "us-east-1"
CLIENT = 'import boto3; boto3.client("dynamodb")'
# A template value CloudFormation resolves at deploy time (Ref, Fn::GetAtt, ...).
UNRESOLVED = "resolved-at-deploy-time"

_PROBE = """
import time
t = time.perf_counter()
{body}
print(time.perf_counter() - t)
"""


def lambda_environment(function_name: str, properties: dict[str, Any]) -> dict[str, str]:
    """The variables a deployed function sees at init: its template's and the Lambda runtime's."""
    variables = (properties.get("Environment") or {}).get("Variables") or {}
    own = {name: value if isinstance(value, str) else UNRESOLVED for name, value in variables.items()}
    reserved = {
        "_HANDLER": str(properties.get("Handler", "")),
        "LAMBDA_TASK_ROOT": str(REPO_ROOT),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{properties.get('Runtime', 'python3.14')}",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(properties.get("MemorySize", 128)),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }
    inherited = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    return {**inherited, **own, **reserved}


def _sample(body: str, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(body=body)],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def _paired_medians(body: str, env: dict[str, str]) -> tuple[float, float]:
    """Medians of the handler's samples and of the baseline's, taken alternately."""
    _sample(body, env)  # warm the OS page cache and .pyc files; Lambda's are warm too
    handler, baseline = [], []
    for _ in range(RUNS):
        baseline.append(_sample(CLIENT, env))
        handler.append(_sample(body, env))
    return statistics.median(handler), statistics.median(baseline)


def deployed_handlers() -> dict[str, dict[str, str]]:
    """Every handler of the `runtime` package, with the environment of (one of) its functions."""
    with tempfile.TemporaryDirectory() as outdir:
        assembly = CloudAssembly.load(synthesize("local", Path(outdir)))
    handlers: dict[str, dict[str, str]] = {}
    for _, logical_id, resource in assembly.resources("AWS::Lambda::Function"):
        properties = resource.get("Properties", {})
        handler = str(properties.get("Handler", ""))
        if handler.startswith("runtime.") and handler not in handlers:
            handlers[handler] = lambda_environment(logical_id, properties)
    return dict(sorted(handlers.items()))


def main() -> int:
    started = time.perf_counter()
    handlers = deployed_handlers()
    worst = 0.0
    baselines: list[float] = []
    print(f"{'handler':60s} {'import+client':>13s} {'baseline':>9s}  ratio  (medians of {RUNS}, alternated)")
    for handler, env in handlers.items():
        module, _, attribute = handler.rpartition(".")
        cost, baseline = _paired_medians(f"import {module} as m; m.{attribute}; {CLIENT}", env)
        baselines.append(baseline)
        ratio = cost / baseline
        worst = max(worst, ratio)
        flag = "" if ratio <= TARGET else "  <- over target"
        print(f"{handler:60s} {cost * 1000:10.0f} ms {baseline * 1000:6.0f} ms  {ratio:4.2f}x{flag}")
    print(f"baseline (import boto3 + one client): {statistics.median(baselines) * 1000:.0f} ms (median over the run)")
    print(f"({len(handlers)} handlers in {time.perf_counter() - started:.0f} s)")
    print(f"coldstart worst ratio: {worst:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
