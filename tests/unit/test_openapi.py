"""The published OpenAPI document is what the code emits, and speaks the contract's error shape."""

from __future__ import annotations

import json
from pathlib import Path

from runtime import openapi

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_docs_openapi_is_current() -> None:
    # Run `make docs` after changing a route or a model.
    assert DOCS.read_text() == openapi.render()


def test_errors_are_documented_with_the_contract_body() -> None:
    document = openapi.build_document()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["schemas"]["ErrorBody"]["required"] == ["error"]
    for operations in document["paths"].values():
        for operation in operations.values():
            for status in ("400", "404", "422", "500"):
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}


def test_authenticated_routes_declare_the_bearer_scheme() -> None:
    paths = openapi.build_document()["paths"]
    assert paths["/images"]["get"]["security"] == [{"bearerAuth": []}]
    assert "401" in paths["/images"]["get"]["responses"]
    assert "security" not in paths["/sessions"]["post"]
    assert "401" not in paths["/sessions"]["post"]["responses"]


def test_document_is_valid_json_with_contract_paths() -> None:
    document = json.loads(openapi.render())
    assert {
        "/health",
        "/sessions",
        "/sessions/{sessionId}",
        "/upload-url",
        "/upload",
        "/images",
        "/images/{imageId}",
    } <= set(document["paths"])
