"""The api stack serves the contract's routes from functions grouped by domain."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import Synthesized


def _route_keys(synth: Synthesized) -> set[str]:
    resources = synth.template_json("api")["Resources"]
    return {r["Properties"]["RouteKey"] for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Route"}


def _function(synth: Synthesized, handler: str) -> dict[str, Any]:
    resources = synth.template_json("api")["Resources"]
    (function,) = (
        r
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == handler
    )
    return function


def test_upload_routes(dev: Synthesized) -> None:
    assert {
        "POST /sessions",
        "GET /sessions/{sessionId}",
        "GET /upload-url",
        "POST /upload",
        "GET /images",
        "GET /images/{imageId}",
    } <= _route_keys(dev)


def test_uploads_function_is_arm64_latest_python_with_its_settings(dev: Synthesized) -> None:
    props = _function(dev, "runtime.uploads.handler.lambda_handler")["Properties"]
    assert props["Architectures"] == ["arm64"]
    assert props["Runtime"] == "python3.14"
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert {
        "UPLOAD_SESSIONS_TABLE",
        "IMAGES_TABLE",
        "UPLOADS_BUCKET",
        "IMAGES_BUCKET",
        "JWT_SECRET_ARN",
    } <= set(props["Environment"]["Variables"])


def test_stage_has_access_logs_and_throttling(dev: Synthesized, prod: Synthesized) -> None:
    for synth, rate in ((dev, 50), (prod, 200)):
        stages = [
            r["Properties"]
            for r in synth.template_json("api")["Resources"].values()
            if r["Type"] == "AWS::ApiGatewayV2::Stage"
        ]
        (stage,) = stages
        assert "DestinationArn" in stage["AccessLogSettings"]
        assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == rate
