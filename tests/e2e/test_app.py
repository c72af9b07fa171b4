"""The product's own stacks, served locally: what exists today (health, tables, outputs, mailbox)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import Runtime

pytestmark = pytest.mark.slow


def test_health_answers_with_cors_headers(app_runtime: Runtime) -> None:
    response = httpx.get(f"{app_runtime.output('HttpApiUrl')}/health", headers={"Origin": "http://localhost:5173"})
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "stage": "local"}
    # The local stage allows the web client on loopback (any port), and names it back.
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert response.headers["content-type"] == "application/json"
    assert "apigw-requestid" in response.headers


def test_another_origin_gets_no_cors_headers(app_runtime: Runtime) -> None:
    response = httpx.get(f"{app_runtime.output('HttpApiUrl')}/health", headers={"Origin": "https://elsewhere.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_an_unknown_route_is_api_gateways_404(app_runtime: Runtime) -> None:
    response = httpx.get(f"{app_runtime.output('HttpApiUrl')}/no/such/route")
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_a_preflight_is_answered_by_the_gateway(app_runtime: Runtime) -> None:
    response = httpx.options(
        f"{app_runtime.output('HttpApiUrl')}/health",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "content-type" in response.headers["access-control-allow-headers"]


def test_outputs_file_has_the_shape_of_cdk_deploy(app_runtime: Runtime) -> None:
    # Given the templates' own Outputs, when the runtime is ready, then outputs.json holds exactly those keys.
    expected = {stack: set(t["Outputs"]) for stack, t in app_runtime.templates.items() if t.get("Outputs")}
    outputs = app_runtime.outputs
    assert {stack: set(values) for stack, values in outputs.items()} == expected
    assert all(isinstance(v, str) and v for values in outputs.values() for v in values.values())
    http_url = app_runtime.output("HttpApiUrl")
    assert http_url.startswith("http://127.0.0.1:")
    assert http_url == app_runtime.endpoints["http"][0]


def test_tables_exist_with_their_keys_indexes_streams_and_ttl(app_runtime: Runtime) -> None:
    dynamodb = app_runtime.aws("dynamodb")
    tables = [
        (stack, logical_id, resource["Properties"])
        for stack, template in app_runtime.templates.items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in ("AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table")
    ]
    assert tables
    names = set(dynamodb.list_tables()["TableNames"])
    for stack, logical_id, props in tables:
        name = props.get("TableName") or f"{stack}-{logical_id}"
        assert name in names
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert table["KeySchema"] == props["KeySchema"]
        wanted = {g["IndexName"]: g["KeySchema"] for g in props.get("GlobalSecondaryIndexes", [])}
        assert {g["IndexName"]: g["KeySchema"] for g in table.get("GlobalSecondaryIndexes", [])} == wanted
        stream = props.get("StreamSpecification")
        if stream:
            assert table["StreamSpecification"]["StreamViewType"] == stream["StreamViewType"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            described = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            assert described["AttributeName"] == ttl["AttributeName"]


def test_the_signing_secret_exists_with_a_generated_value(app_runtime: Runtime) -> None:
    secrets = app_runtime.aws("secretsmanager")
    listed = secrets.list_secrets()["SecretList"]
    assert listed
    value = secrets.get_secret_value(SecretId=listed[0]["ARN"])["SecretString"]
    assert len(value) == 64
    assert value.isalnum()


def test_the_dev_mailbox_is_served(app_runtime: Runtime) -> None:
    response = httpx.get(app_runtime.endpoints["mailbox"])
    assert response.status_code == 200
    assert isinstance(response.json()["messages"], list)
