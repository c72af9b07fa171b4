"""Functions run as Lambda runs them: own environment, warm state, timeouts, code reloads."""

from __future__ import annotations

import base64
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Runtime, wait_for

pytestmark = pytest.mark.slow


def test_each_function_has_its_own_environment_and_module_state(fixture_outputs: dict[str, str]) -> None:
    url = fixture_outputs["HttpApiUrl"]
    a1 = httpx.get(f"{url}/env/a").json()
    b1 = httpx.get(f"{url}/env/b").json()
    a2 = httpx.get(f"{url}/env/a").json()
    # Each sees its own variable; what A wrote into its environment never reaches B.
    assert (a1["value"], b1["value"]) == ("a", "b")
    assert b1["leaked"] in (None, "b")
    assert a2["leaked"] == "a"
    # A warm worker keeps module state between invocations.
    assert a2["invocations"] == a1["invocations"] + 1
    assert a1["endpoint"].startswith("http://127.0.0.1:")


def test_a_function_is_stopped_at_its_timeout(fixture_runtime: Runtime, fixture_outputs: dict[str, str]) -> None:
    url = fixture_outputs["HttpApiUrl"]
    started = time.monotonic()
    response = httpx.get(f"{url}/slow", timeout=30)
    elapsed = time.monotonic() - started
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    assert elapsed < 4.5  # the 2 s timeout, not the 5 s the handler wanted
    record = [r for r in fixture_runtime.invocations() if r["trigger"] == "GET /slow"][-1]
    assert record["status"] == "timeout"
    assert "Task timed out after" in record["error"]
    # The killed worker is replaced by a fresh one.
    assert httpx.get(f"{url}/slow?fast=1").json() == {"slept": 0}


def test_a_code_change_applies_on_the_next_invocation(
    fixture_runtime: Runtime, fixture_outputs: dict[str, str], fixture_code: Path
) -> None:
    url = fixture_outputs["HttpApiUrl"]
    assert httpx.get(f"{url}/version").json() == {"version": "v1"}
    source = fixture_code / "handlers.py"
    original = source.read_text()
    try:
        source.write_text(original.replace('VERSION = "v1"', 'VERSION = "v2-edited"'))
        assert httpx.get(f"{url}/version").json() == {"version": "v2-edited"}
        record = [r for r in fixture_runtime.invocations() if r["trigger"] == "GET /version"][-1]
        assert record["cold_start"] is True
    finally:
        source.write_text(original)
    assert httpx.get(f"{url}/version").json() == {"version": "v1"}


def test_a_failing_function_is_a_500_in_api_gateways_words(fixture_outputs: dict[str, str]) -> None:
    response = httpx.get(f"{fixture_outputs['HttpApiUrl']}/fail")
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


def test_the_event_is_payload_format_2(fixture_outputs: dict[str, str]) -> None:
    response = httpx.get(
        f"{fixture_outputs['HttpApiUrl']}/items/item%201?b=2&a=1&a=3",
        headers={"Origin": "https://app.example", "Cookie": "s=1; t=2", "X-Custom": "yes"},
    )
    assert response.status_code == 200
    # The gateway's CORS headers replace the function's own.
    assert response.headers["access-control-allow-origin"] == "*"
    event = response.json()["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /items/{item_id}"
    assert event["rawPath"] == "/items/item%201"
    assert event["rawQueryString"] == "b=2&a=1&a=3"
    assert event["queryStringParameters"] == {"b": "2", "a": "1,3"}
    assert event["pathParameters"] == {"item_id": "item 1"}
    assert event["cookies"] == ["s=1", "t=2"]
    assert event["headers"]["x-custom"] == "yes"
    assert "cookie" not in event["headers"]
    context = event["requestContext"]
    assert context["http"]["method"] == "GET"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["routeKey"] == "GET /items/{item_id}"
    assert context["stage"] == "$default"
    assert event["isBase64Encoded"] is False


def test_a_binary_body_arrives_base64_encoded(fixture_outputs: dict[str, str]) -> None:
    payload = bytes(range(256))
    response = httpx.post(
        f"{fixture_outputs['HttpApiUrl']}/echo", content=payload, headers={"Content-Type": "application/octet-stream"}
    )
    event = response.json()["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload
    text = httpx.post(f"{fixture_outputs['HttpApiUrl']}/echo", json={"a": 1}).json()["event"]
    assert (text["isBase64Encoded"], text["body"]) == (False, '{"a":1}')


def test_a_lambda_authorizer_guards_its_route(fixture_outputs: dict[str, str]) -> None:
    url = f"{fixture_outputs['HttpApiUrl']}/private"
    missing = httpx.get(url)
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    denied = httpx.get(url, headers={"Authorization": "Bearer bad"})
    assert (denied.status_code, denied.json()) == (403, {"message": "Forbidden"})
    allowed = httpx.get(url, headers={"Authorization": "Bearer good"})
    assert allowed.status_code == 200
    assert allowed.json()["event"]["requestContext"]["authorizer"]["lambda"] == {"user": "alice"}


def test_emails_land_in_the_dev_mailbox(fixture_runtime: Runtime, fixture_outputs: dict[str, str]) -> None:
    recipient = f"{uuid.uuid4().hex[:8]}@example.com"
    response = httpx.post(f"{fixture_outputs['HttpApiUrl']}/mail", json={"to": recipient, "code": "123456"})
    assert response.status_code == 202
    mailbox = httpx.get(fixture_runtime.endpoints["mailbox"], params={"to": recipient}).json()["messages"]
    assert len(mailbox) == 1
    assert mailbox[0]["subject"] == "Your code"
    assert mailbox[0]["body"] == "code 123456"
    assert mailbox[0]["source"] == "noreply@fixture.example.com"


def test_functions_invoke_through_the_lambda_api(fixture_runtime: Runtime) -> None:
    functions = fixture_runtime.endpoints["functions"]
    client = fixture_runtime.aws("lambda")
    response = client.invoke(FunctionName=functions["Version"]["name"], Payload=b"{}")
    assert response["StatusCode"] == 200
    assert b"v1" in response["Payload"].read()
    failing = client.invoke(FunctionName=functions["Fail"]["name"], Payload=b"{}")
    assert failing["FunctionError"] == "Unhandled"
    wait_for(lambda: any(r["trigger"] == "lambda:Invoke" for r in fixture_runtime.invocations()))
