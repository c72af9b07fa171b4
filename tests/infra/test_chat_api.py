"""Chat, calls and rides: one function per domain, their routes, and grants no wider than their code."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime.common.names import Env, Index
from tests.infra.conftest import Synthesized

HANDLERS = {
    "chat": "runtime.chat.handler.lambda_handler",
    "calls": "runtime.calls.handler.lambda_handler",
    "rides": "runtime.rides.handler.lambda_handler",
}

ROUTES = {
    "chat": {
        "POST /conversations",
        "GET /conversations",
        "POST /conversations/{conversation_id}/messages",
        "GET /conversations/{conversation_id}/messages",
    },
    "calls": {
        "POST /conversations/{conversation_id}/calls",
        "GET /conversations/{conversation_id}/calls",
        "POST /calls/{call_id}/accept",
        "POST /calls/{call_id}/reject",
        "POST /calls/{call_id}/end",
    },
    "rides": {
        "POST /api/v1/bookings",
        "POST /api/v1/send_message",
        "POST /api/v1/make_call",
        "GET /api/v1/get_message",
    },
}


def _resources(synth: Synthesized, kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in synth.template_json("api")["Resources"].items() if v["Type"] == kind}


def _function_id(synth: Synthesized, domain: str) -> str:
    (logical_id,) = [
        k
        for k, v in _resources(synth, "AWS::Lambda::Function").items()
        if v["Properties"].get("Handler") == HANDLERS[domain]
    ]
    return logical_id


def _statements(synth: Synthesized, domain: str) -> list[dict[str, Any]]:
    function = _resources(synth, "AWS::Lambda::Function")[_function_id(synth, domain)]
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = [
        p for p in _resources(synth, "AWS::IAM::Policy").values() if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def _dynamodb_grants(synth: Synthesized, domain: str) -> dict[str, set[str]]:
    """Resource (as its JSON) -> DynamoDB actions allowed on it."""
    grants: dict[str, set[str]] = {}
    for statement in _statements(synth, domain):
        actions = {a for a in _actions(statement) if a.startswith("dynamodb:")}
        if not actions:
            continue
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources:
            grants.setdefault(json.dumps(resource, sort_keys=True), set()).update(actions)
    return grants


@pytest.mark.parametrize("domain", sorted(HANDLERS))
def test_each_domain_has_one_function_behind_its_routes(dev: Synthesized, domain: str) -> None:
    function_id = _function_id(dev, domain)
    integrations = {
        k
        for k, v in _resources(dev, "AWS::ApiGatewayV2::Integration").items()
        if function_id in json.dumps(v["Properties"]["IntegrationUri"])
    }
    assert len(integrations) == 1
    (integration,) = integrations
    routes = {
        v["Properties"]["RouteKey"]
        for v in _resources(dev, "AWS::ApiGatewayV2::Route").values()
        if integration in json.dumps(v["Properties"].get("Target"))
    }
    assert routes == ROUTES[domain]


def test_routes_authenticate_in_the_function_not_in_api_gateway(dev: Synthesized) -> None:
    routes = {
        v["Properties"]["RouteKey"]: v["Properties"] for v in _resources(dev, "AWS::ApiGatewayV2::Route").values()
    }
    for route_key in set().union(*ROUTES.values()):
        assert routes[route_key].get("AuthorizationType", "NONE") == "NONE"
    assert not _resources(dev, "AWS::ApiGatewayV2::Authorizer")


@pytest.mark.parametrize("domain", sorted(HANDLERS))
def test_functions_verify_tokens_and_name_their_tables(dev: Synthesized, domain: str) -> None:
    function = _resources(dev, "AWS::Lambda::Function")[_function_id(dev, domain)]
    variables = function["Properties"]["Environment"]["Variables"]
    assert {Env.CHAT_TABLE, Env.JWT_SECRET_ARN, Env.TOKEN_ISSUER, Env.TOKEN_AUDIENCE} <= set(variables)
    assert (Env.USERS_TABLE in variables) is (domain != "calls")
    assert function["Properties"]["Architectures"] == ["arm64"]
    assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}
    secret_reads = [s for s in _statements(dev, domain) if "secretsmanager:GetSecretValue" in _actions(s)]
    assert len(secret_reads) == 1


ITEM = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}


@pytest.mark.parametrize(
    ("domain", "indexes", "table_actions"),
    [
        ("chat", {Index.USER_CONVERSATIONS, Index.MESSAGES_BY_TYPE}, ITEM | {"dynamodb:Query"}),
        # Calls release active-call markers (DeleteItem) and never query the table itself.
        ("calls", {Index.CONVERSATION_CALLS}, ITEM | {"dynamodb:DeleteItem"}),
        ("rides", {Index.MESSAGES_BY_TYPE}, ITEM | {"dynamodb:Query", "dynamodb:DeleteItem"}),
    ],
)
def test_dynamodb_grants_are_exactly_what_the_code_calls(
    dev: Synthesized, domain: str, indexes: set[str], table_actions: set[str]
) -> None:
    grants = _dynamodb_grants(dev, domain)
    everything = set().union(*grants.values())
    assert not everything & {"dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:*"}
    assert not any("*" in resource for resource in grants), "no wildcard table or index resources"
    index_grants = {
        resource.split("/index/")[1].rstrip('"]}'): actions
        for resource, actions in grants.items()
        if "/index/" in resource
    }
    assert set(index_grants) == indexes
    assert all(actions == {"dynamodb:Query"} for actions in index_grants.values())
    table_grants = [
        actions for resource, actions in grants.items() if "ChatTable" in resource and "/index/" not in resource
    ]
    assert table_grants == [table_actions]
    users = [actions for resource, actions in grants.items() if "UsersTable" in resource]
    assert users == ([] if domain == "calls" else [{"dynamodb:BatchGetItem"}])
