"""Importing a handler (a cold start) leaves out what only a request, or another function, uses.

Each import runs in a fresh interpreter: modules imported by other tests would hide a regression.
Timing lives in bench/coldstart.py; this only pins which modules stay out of the import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def _run_fresh(code: str, env: dict[str, str]) -> Any:
    """Run ``code`` in a fresh interpreter and return the JSON its last printed line holds."""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _imported(module: str, candidates: tuple[str, ...]) -> list[str]:
    probe = f"import sys, json, {module}; print(json.dumps([m for m in {list(candidates)!r} if m in sys.modules]))"
    result: list[str] = _run_fresh(
        probe, {"AWS_DEFAULT_REGION": "us-east-1", "LAMBDA_TASK_ROOT": str(REPO_ROOT), "PATH": ""}
    )
    return result


@pytest.mark.parametrize("module", ["runtime.chat.handler", "runtime.auth.handler", "runtime.realtime.handler"])
def test_a_cold_import_defers_first_use_work(module: str) -> None:
    assert _imported(module, DEFERRED) == []


def test_the_outcome_steps_do_not_import_the_image_core() -> None:
    # Record and MarkFailed never touch pixels
    assert _imported("runtime.pipeline.outcome_handler", ("PIL", "runtime.pipeline.imaging")) == []


def test_the_outcome_steps_know_the_image_core_s_error_by_name() -> None:
    from runtime.pipeline.imaging import InvalidImageError
    from runtime.pipeline.steps import INVALID_IMAGE_ERROR

    assert InvalidImageError.__name__ == INVALID_IMAGE_ERROR


def test_websocket_functions_do_not_import_the_batch_processor() -> None:
    # $connect, $default and $disconnect share the module with the stream processor
    assert _imported("runtime.realtime.handler", ("aws_lambda_powertools.utilities.batch",)) == []


HANDLER_MODULES = sorted(
    ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
    for pattern in ("runtime/*/handler.py", "runtime/*/*_handler.py")
    for path in REPO_ROOT.glob(pattern)
)
_GC_STATE = "import gc, json; print(json.dumps([gc.isenabled(), gc.get_freeze_count() > 0]))"


def _gc_after(code: str, *, in_lambda: bool) -> list[bool]:
    env = {"AWS_DEFAULT_REGION": "us-east-1", "PATH": "", "POWERTOOLS_TRACE_DISABLED": "true"}
    if in_lambda:
        env |= {"AWS_LAMBDA_FUNCTION_NAME": "probe", "LAMBDA_TASK_ROOT": str(REPO_ROOT)}
    result: list[bool] = _run_fresh(f"{code}\n{_GC_STATE}", env)
    return result


def test_every_handler_module_is_found() -> None:
    assert len(HANDLER_MODULES) >= 10
    assert "runtime.pipeline.steps_handler" in HANDLER_MODULES


@pytest.mark.parametrize("module", HANDLER_MODULES)
def test_a_handler_import_in_lambda_ends_with_the_collector_running(module: str) -> None:
    # paused during the import, frozen and resumed by its last statement: a module that forgot
    # would leave a container collecting nothing until its first invocation
    assert _gc_after(f"import {module}", in_lambda=True) == [True, True]


def test_outside_lambda_the_collector_is_never_paused() -> None:
    assert _gc_after("import runtime, gc; assert gc.isenabled()", in_lambda=False) == [True, False]


def test_the_first_invocation_resumes_collection_if_the_module_did_not() -> None:
    code = (
        "import gc, runtime\n"
        "assert not gc.isenabled()\n"
        "from runtime.common.observability import tracer\n"
        "handler = tracer.capture_lambda_handler(lambda event, context: event)\n"
        "assert not gc.isenabled()\n"
        "assert handler({'ok': 1}, None) == {'ok': 1}"
    )
    assert _gc_after(code, in_lambda=True) == [True, True]
