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


def test_chat_calls_and_rides_document_their_requests() -> None:
    paths = openapi.build_document()["paths"]
    body = paths["/conversations/{conversation_id}/messages"]["post"]
    assert body["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SendMessageRequest"
    }
    assert body["security"] == [{"bearerAuth": []}]
    assert {"200", "201", "401"} <= set(body["responses"])
    assert [p["name"] for p in paths["/calls/{call_id}/accept"]["post"]["parameters"]] == ["call_id"]
    for path in ("/conversations", "/api/v1/bookings", "/api/v1/send_message", "/api/v1/make_call"):
        assert "requestBody" in paths[path]["post"], path
    # A query declared as one model keeps its bounds and choices in the document.
    query = {p["name"]: p for p in paths["/api/v1/get_message"]["get"]["parameters"]}
    assert query["limit"]["schema"]["maximum"] == 100
    assert query["booking_code"]["required"] is True
    assert query["message_type"]["schema"]["anyOf"][0]["enum"] == ["text", "call", "system"]
