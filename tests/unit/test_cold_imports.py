"""Importing a handler (a cold start) leaves out what only a request, or another function, uses.

Each import runs in a fresh interpreter: modules imported by other tests would hide a regression.
Timing lives in bench/coldstart.py; this only pins which modules stay out of the import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# Loaded on first use: PyJWT by the first token, the X-Ray SDK by the first invocation, the
# validation layer by the first validated request; pydantic-settings not at all.
DEFERRED = (
    "jwt",
    "aws_xray_sdk",
    "pydantic_settings",
    "aws_lambda_powertools.event_handler.middlewares.openapi_validation",
    "aws_lambda_powertools.event_handler.openapi.params",
)


def _imported(module: str, candidates: tuple[str, ...]) -> list[str]:
    probe = f"import sys, json, {module}; print(json.dumps([m for m in {list(candidates)!r} if m in sys.modules]))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        env={"AWS_DEFAULT_REGION": "us-east-1", "LAMBDA_TASK_ROOT": str(REPO_ROOT), "PATH": ""},
        check=True,
        capture_output=True,
        text=True,
    )
    result: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("module", ["runtime.chat.handler", "runtime.auth.handler", "runtime.realtime.handler"])
def test_a_cold_import_defers_first_use_work(module: str) -> None:
    assert _imported(module, DEFERRED) == []


def test_websocket_functions_do_not_import_the_batch_processor() -> None:
    # $connect, $default and $disconnect share the module with the stream processor
    assert _imported("runtime.realtime.handler", ("aws_lambda_powertools.utilities.batch",)) == []
