"""The auth function: its explicit routes, least-privilege grants, sender identity and settings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk import aws_apigatewayv2 as apigw

from stacks.app_builder import build_app, cdk_json_context
from stacks.config import stage_config
from stacks.constructs.auth_api import AUTHENTICATED_ROUTES, PUBLIC_ROUTES, USERS_TABLE_ACTIONS
from tests.infra.conftest import STAGES, Synthesized

HANDLER = "runtime.auth.handler.lambda_handler"
ROUTE_KEYS = {f"{method.value} {path}" for path, method in (*PUBLIC_ROUTES, *AUTHENTICATED_ROUTES)}


def _resources(synth: Synthesized) -> dict[str, Any]:
    resources: dict[str, Any] = synth.template_json("api")["Resources"]
    return resources


def _of_type(synth: Synthesized, kind: str) -> dict[str, Any]:
    return {k: r for k, r in _resources(synth).items() if r["Type"] == kind}


def _auth_function(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    (found,) = (
        (k, r) for k, r in _of_type(synth, "AWS::Lambda::Function").items() if r["Properties"]["Handler"] == HANDLER
    )
    return found


def _auth_policy(synth: Synthesized) -> list[dict[str, Any]]:
    _, function = _auth_function(synth)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = (
        p for p in _of_type(synth, "AWS::IAM::Policy").values() if {"Ref": role_id} in p["Properties"]["Roles"]
    )
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_every_auth_route_is_explicit_and_reaches_the_auth_function(dev: Synthesized) -> None:
    function_id, _ = _auth_function(dev)
    integrations = {
        k: r
        for k, r in _of_type(dev, "AWS::ApiGatewayV2::Integration").items()
        if function_id in json.dumps(r["Properties"]["IntegrationUri"])
    }
    (integration_id,) = integrations
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in _of_type(dev, "AWS::ApiGatewayV2::Route").values()}
    assert set(routes) >= ROUTE_KEYS
    assert {"POST /auth/register", "POST /auth/login", "GET /auth/me", "PATCH /auth/me", "GET /users"} <= ROUTE_KEYS
    for key in ROUTE_KEYS:
        assert integration_id in json.dumps(routes[key]["Target"]), key
    # Only these routes go to the auth function, and nothing is a catch-all.
    auth_routes = {k for k, r in routes.items() if integration_id in json.dumps(r["Target"])}
    assert auth_routes == ROUTE_KEYS
    assert not any(k == "$default" or "{proxy+}" in k or k.startswith("ANY ") for k in routes)


@pytest.mark.parametrize("stage", STAGES)
def test_function_settings_follow_the_stage(synthesized: dict[str, Synthesized], stage: str) -> None:
    config = stage_config(stage)
    _, function = _auth_function(synthesized[stage])
    props = function["Properties"]
    variables = props["Environment"]["Variables"]
    assert variables["MAIL_FROM"] == config.mail_from
    assert variables["ACCESS_TOKEN_TTL_SECONDS"] == str(config.access_token_ttl_seconds)
    assert {"USERS_TABLE", "JWT_SECRET_ARN", "TOKEN_ISSUER", "TOKEN_AUDIENCE"} <= set(variables)
    assert props["MemorySize"] >= 1024
    assert (props["Architectures"], props["Runtime"]) == (["arm64"], "python3.14")
    assert not any(name.startswith("ARGON2_") for name in variables), "hashing cost stays at OWASP's defaults"


def test_token_lifetimes_are_short_and_shorter_in_prod(dev: Synthesized, prod: Synthesized) -> None:
    assert stage_config("dev").access_token_ttl_seconds == 3600
    assert stage_config("prod").access_token_ttl_seconds == 900


def test_grants_are_exactly_what_the_code_does(dev: Synthesized) -> None:
    statements = _auth_policy(dev)
    dynamo = [s for s in statements if any(a.startswith("dynamodb:") for a in _actions(s))]
    (table_statement,) = dynamo
    assert sorted(_actions(table_statement)) == sorted(USERS_TABLE_ACTIONS)
    assert "UsersTable" in json.dumps(table_statement["Resource"])
    assert "*" not in json.dumps(table_statement["Resource"])

    (ses_statement,) = [s for s in statements if any(a.startswith("ses:") for a in _actions(s))]
    assert "ses:SendEmail" in _actions(ses_statement)
    resource = json.dumps(ses_statement["Resource"])
    assert ":identity/" in resource
    (identity_id,) = _of_type(dev, "AWS::SES::EmailIdentity")
    assert identity_id in resource

    (secret_statement,) = [s for s in statements if "secretsmanager:GetSecretValue" in _actions(s)]
    assert "JwtSigningKey" in json.dumps(secret_statement["Resource"])
    assert not any(a.startswith(("s3:", "sqs:", "states:")) for s in statements for a in _actions(s))


@pytest.mark.parametrize("stage", STAGES)
def test_sender_identity_is_the_stage_address(synthesized: dict[str, Synthesized], stage: str) -> None:
    (identity,) = _of_type(synthesized[stage], "AWS::SES::EmailIdentity").values()
    assert identity["Properties"]["EmailIdentity"] == stage_config(stage).mail_from


def test_stages_send_from_different_addresses() -> None:
    # dev and prod may share an account, where one SES identity cannot belong to two stacks.
    addresses = [stage_config(name).mail_from for name in ("dev", "prod", "local")]
    assert len(set(addresses)) == len(addresses)


def test_public_and_authenticated_routes_state_why_no_authorizer(dev: Synthesized) -> None:
    reasons: dict[str, str] = {}
    for construct in dev.deployment.api.node.find_all():
        if not isinstance(construct, apigw.HttpRoute):
            continue
        cfn_route = construct.node.default_child
        assert isinstance(cfn_route, apigw.CfnRoute)
        if cfn_route.route_key not in ROUTE_KEYS:
            continue
        for entry in construct.node.metadata:
            if entry.type == "aws:cdk:acknowledged-rules":
                for rule, reason in entry.data.items():
                    if rule.endswith("AwsSolutions-APIG4"):
                        reasons[cfn_route.route_key] = reason
    assert set(reasons) == ROUTE_KEYS
    in_function = {key for key, reason in reasons.items() if "verified in the function" in reason}
    assert in_function == {f"{method.value} {path}" for path, method in AUTHENTICATED_ROUTES}


def test_deployer_can_name_the_sender() -> None:
    app = App(context={**cdk_json_context(), "aws:cdk:bundling-stacks": [], "mail_from": "auth@mail.acme.test"})
    deployment = build_app(app, "prod", nag=False)
    assert deployment.config.mail_from == "auth@mail.acme.test"
    assert deployment.config.access_token_ttl_seconds == 900
