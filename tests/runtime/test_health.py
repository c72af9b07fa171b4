"""The health route answers through a real API Gateway v2 (payload 2.0) event."""

from __future__ import annotations

import json

import pytest

from runtime.health import handler
from tests.support.events import http_event, lambda_context


def test_health_answers_ok_with_the_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGE", "dev")
    response = handler.lambda_handler(http_event("GET", "/health"), lambda_context())
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "ok", "stage": "dev"}
    assert response["headers"]["Content-Type"] == "application/json"


def test_unknown_route_is_404() -> None:
    response = handler.lambda_handler(http_event("GET", "/nope"), lambda_context())
    assert response["statusCode"] == 404


def test_openapi_document_is_served() -> None:
    response = handler.lambda_handler(http_event("GET", "/openapi.json"), lambda_context())
    assert response["statusCode"] == 200
    document = json.loads(response["body"])
    assert document["info"]["title"] == "Messaging platform HTTP API"
    assert "/health" in document["paths"]
