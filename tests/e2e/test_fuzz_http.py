"""Schema-driven fuzzing of the HTTP API: every operation of docs/openapi.json against the local runtime.

Schemathesis generates requests from the published document, valid ones and deliberately
invalid ones, sends them to the product's stacks served by the local runtime, and checks
every answer against the same document: no 5xx, only documented status codes, bodies and
content types that match their schemas, invalid requests refused with a 4xx. Authenticated
operations get a real bearer token from ``POST /auth/register``.

Bounded for ``make test``: a few derandomized examples per operation (the same requests every
run, about a minute in all). ``make fuzz`` (``FUZZ_EXAMPLES=200``) runs the deep search.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from tests.e2e.conftest import Runtime

pytestmark = pytest.mark.slow

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))

PHASES = os.environ.get("FUZZ_PHASES", "examples,coverage,fuzzing").split(",")

schema = schemathesis.openapi.from_path(DOCUMENT)
schema.config.phases.update(phases=PHASES)
# API Gateway answers a method no route declares with its own 404 (there is no 405 in an HTTP
# API's route matching); the contract asks for 404 on unknown routes. See docs/known-limits.md.
EXCLUDED_CHECKS = [checks.unsupported_method, checks.allow_header_conformance]
# Where a schema-valid request is refused with 400 by the contract itself, not by an over-strict
# schema: a wrong or spent one-time code ("invalid or expired code"), and an opaque paging token
# that this server never issued, and `GET /upload-url` without its `sessionId` (400 by the contract,
# so the parameter cannot be a required one that Powertools would answer with 422). Every other
# check still runs on these requests.
CODE_OPERATIONS = {"POST /auth/verify-email", "POST /auth/reset-password"}


def excluded_checks(case: Any) -> list[Any]:
    query = case.query or {}
    semantic_400 = (
        f"{case.method.upper()} {case.path}" in CODE_OPERATIONS
        or "next_token" in query
        or (case.path == "/upload-url" and "sessionId" not in query)
    )
    return [*EXCLUDED_CHECKS, checks.positive_data_acceptance] if semantic_400 else EXCLUDED_CHECKS


@pytest.fixture(scope="module")
def bearer(app_runtime: Runtime) -> dict[str, str]:
    return {"Authorization": f"Bearer {app_runtime.access_token()}"}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case: Any, app_runtime: Runtime, bearer: dict[str, str]) -> None:
    headers = bearer if case.operation.definition.raw.get("security") else {}
    case.call_and_validate(
        base_url=app_runtime.output("HttpApiUrl"), headers=headers, excluded_checks=excluded_checks(case), timeout=30
    )


def test_the_served_document_is_the_published_one(app_runtime: Runtime) -> None:
    """The fuzzer reads docs/openapi.json; clients read GET /openapi.json: they are one document."""
    served = httpx.get(f"{app_runtime.output('HttpApiUrl')}/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == json.loads(DOCUMENT.read_text())
