"""One OpenAPI document for the whole HTTP API, merged from each domain's resolver.

Each domain function owns its routes (and its resolver); the published document is their union,
with the contract's error body (``{"error": ...}``) in place of Powertools' default validation
error schema, and the bearer scheme on every route that verifies a token. ``python -m
runtime.openapi`` prints it; ``make docs`` writes it to docs/openapi.json, and a test keeps that
file equal to what the code emits.
"""

from __future__ import annotations

import importlib
import json
import sys
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from runtime.common.http import ErrorBody

TITLE = "Messaging platform HTTP API"
VERSION = "1.0.0"
# Every module whose ``app`` serves routes on the HTTP API.
DOMAIN_MODULES = ("runtime.health.handler", "runtime.auth.handler", "runtime.uploads.handler")

_ERRORS_EVERYWHERE = {
    "400": "Malformed JSON, a wrong field type or a bad parameter",
    "404": "Not found (or not yours)",
    "413": "Request body too large",
    "422": "Well-formed but fails validation",
    "500": "Internal error (no details are exposed)",
}
_ERRORS_WITH_TOKEN = {
    "401": "Missing or invalid bearer token",
    "403": "Authenticated but not allowed",
}
_ERRORS_ON_WRITES = {"409": "Conflicts with the current state"}


def _error_content() -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


@cache
def build_document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for module_name in DOMAIN_MODULES:
        app = importlib.import_module(module_name).app
        document = app.get_openapi_schema(
            title=TITLE,
            version=VERSION,
            security_schemes={"bearerAuth": HTTPBearer(bearerFormat="JWT")},
        ).model_dump(mode="json", by_alias=True, exclude_none=True)
        for path, operations in document.get("paths", {}).items():
            paths.setdefault(path, {}).update(operations)
        schemas.update(document.get("components", {}).get("schemas", {}))
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas["ErrorBody"] = ErrorBody.model_json_schema()
    for operations in paths.values():
        for method, operation in operations.items():
            errors = dict(_ERRORS_EVERYWHERE)
            if operation.get("security"):
                errors.update(_ERRORS_WITH_TOKEN)
            if method != "get":
                errors.update(_ERRORS_ON_WRITES)
            responses = operation.setdefault("responses", {})
            for status, description in sorted(errors.items()):
                responses[status] = {"description": description, "content": _error_content()}
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
