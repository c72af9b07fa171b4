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

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from pydantic import BaseModel

from runtime.common.http import ErrorBody

TITLE = "Messaging platform HTTP API"
VERSION = "1.0.0"
# Every module whose ``app`` serves routes on the HTTP API.
DOMAIN_MODULES = (
    "runtime.health.handler",
    "runtime.auth.handler",
    "runtime.uploads.handler",
    "runtime.chat.handler",
    "runtime.calls.handler",
    "runtime.rides.handler",
)

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
_RETRY_AFTER = {
    "description": "Seconds until the attempt limit resets",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}


def _error_content() -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


def _query_model_fields(app: APIGatewayHttpResolver) -> dict[tuple[str, str], dict[str, Any]]:
    """(path, method) -> each query parameter's full schema, for queries declared as one pydantic model.

    Powertools expands such a model into one parameter per field but keeps only the field's
    bare type (no bounds, defaults, patterns or choices); the model's own JSON schema has them.
    """
    fields: dict[tuple[str, str], dict[str, Any]] = {}
    for route in (*app._static_routes, *app._dynamic_routes):
        for param in route.dependant.query_params:
            model = param.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                fields.setdefault((route.openapi_path, route.method.lower()), {}).update(schema["properties"])
    return fields


def _document_query_models(document: dict[str, Any], app: APIGatewayHttpResolver) -> None:
    for (path, method), properties in _query_model_fields(app).items():
        for parameter in document["paths"][path][method].get("parameters", []):
            if parameter["in"] == "query" and parameter["name"] in properties:
                parameter["schema"] = properties[parameter["name"]]


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
        _document_query_models(document, app)
        for path, operations in document.get("paths", {}).items():
            paths.setdefault(path, {}).update(operations)
        for name, component in document.get("components", {}).get("schemas", {}).items():
            if schemas.setdefault(name, component) != component:
                # Two domains' models of one name would silently share whichever came last.
                raise ValueError(f"two different models are both named {name!r} in the OpenAPI document")
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
            if "requestBody" in operation:
                errors["415"] = "The body is not sent as application/json"
            responses = operation.setdefault("responses", {})
            for status, description in sorted(errors.items()):
                responses[status] = {"description": description, "content": _error_content()}
            if "429" in responses:
                responses["429"]["headers"] = {"Retry-After": _RETRY_AFTER}
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
