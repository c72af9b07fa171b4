"""The realtime stack: a WebSocket API routed by action, the processor on the chat stream, scoped pushes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import App, Stack
from aws_cdk.assertions import Match

from runtime.common.names import Env, Index
from stacks.app_builder import build_app, cdk_json_context
from stacks.constructs.python_function import PythonFunction
from tests.infra.conftest import Synthesized


def _resources(synth: Synthesized, kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in synth.template_json("realtime")["Resources"].items() if v["Type"] == kind}


def _functions(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        resource["Properties"]["Handler"].rsplit(".", 1)[-1]: resource
        for resource in _resources(synth, "AWS::Lambda::Function").values()
        if resource["Properties"].get("Handler", "").startswith("runtime.realtime.")
    }


def test_websocket_api_routes_by_action_to_three_routes(dev: Synthesized) -> None:
    template = dev.template("realtime")
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Api", {"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"}
    )
    routes = {r["Properties"]["RouteKey"]: r for r in _resources(dev, "AWS::ApiGatewayV2::Route").values()}
    assert set(routes) == {"$connect", "$disconnect", "$default"}
    # The router's answer (ack / pong / error frame) goes back to the client.
    assert routes["$default"]["Properties"]["RouteResponseSelectionExpression"] == "$default"
    template.resource_count_is("AWS::ApiGatewayV2::RouteResponse", 1)


def test_each_route_has_its_own_function(dev: Synthesized) -> None:
    functions = _functions(dev)
    assert set(functions) == {"connect_handler", "disconnect_handler", "default_handler", "stream_handler"}
    for function in functions.values():
        assert function["Properties"]["Architectures"] == ["arm64"]
        assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}


def test_stage_logs_access_and_throttles(dev: Synthesized) -> None:
    [stage] = _resources(dev, "AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "dev"
    assert props["AutoDeploy"] is True
    assert "$context.connectionId" in props["AccessLogSettings"]["Format"]
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0


def test_processor_reads_the_chat_stream_with_bounded_retries_and_the_dlq(dev: Synthesized) -> None:
    [mapping] = _resources(dev, "AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert "ChatTable" in json.dumps(props["EventSourceArn"])
    assert "StreamArn" in json.dumps(props["EventSourceArn"])
    assert props["BisectBatchOnFunctionError"] is True
    assert props["MaximumRetryAttempts"] == 3
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    dlq = next(k for k in _resources(dev, "AWS::SQS::Queue") if k.startswith("DeliveryDlq"))
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [dlq, "Arn"]}
    patterns = [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]]
    assert {"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "MSG#"}]}}}} in patterns
    assert {
        "eventName": ["INSERT", "MODIFY"],
        "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "CALL#"}]}, "sk": {"S": ["CALL"]}}},
    } in patterns


def _statements(synth: Synthesized, policy_prefix: str) -> list[dict[str, Any]]:
    [policy] = [p for k, p in _resources(synth, "AWS::IAM::Policy").items() if k.startswith(policy_prefix)]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_only_the_pushing_functions_may_manage_connections_and_only_on_this_stage(dev: Synthesized) -> None:
    api = next(iter(_resources(dev, "AWS::ApiGatewayV2::Api")))
    for prefix, allowed in (("Router", True), ("StreamProcessor", True), ("Connect", False), ("Disconnect", False)):
        grants = [s for s in _statements(dev, f"{prefix}Role") if s["Action"] == "execute-api:ManageConnections"]
        assert bool(grants) is allowed, prefix
        for grant in grants:
            parts = grant["Resource"]["Fn::Join"][1]
            assert {"Ref": api} in parts
            assert parts[-1] == "/dev/*/@connections/*"


def test_no_function_may_scan(dev: Synthesized) -> None:
    for prefix in ("Connect", "Disconnect", "Router", "StreamProcessor"):
        for statement in _statements(dev, f"{prefix}Role"):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert "dynamodb:Scan" not in actions


def test_pushing_functions_know_the_callback_url(dev: Synthesized) -> None:
    functions = _functions(dev)
    for name in ("default_handler", "stream_handler"):
        endpoint = functions[name]["Properties"]["Environment"]["Variables"][Env.WEBSOCKET_ENDPOINT]
        assert endpoint["Fn::Join"][1][0] == "https://"
    assert Env.JWT_SECRET_ARN in functions["connect_handler"]["Properties"]["Environment"]["Variables"]


def test_publishes_the_websocket_url(dev: Synthesized) -> None:
    outputs = dev.template_json("realtime")["Outputs"]
    assert outputs["WebSocketUrl"]["Value"]["Fn::Join"][1][0] == "wss://"


def test_a_non_empty_dlq_raises_an_alarm(dev: Synthesized) -> None:
    dev.template("realtime").has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "ApproximateNumberOfMessagesVisible", "Threshold": 1, "Dimensions": Match.any_value()},
    )


def test_grant_notify_lets_a_function_of_another_stack_push(tmp_path: Path) -> None:
    # Given a function in another stack granted with grant_notify, the app still passes cdk-nag
    # and the function may post to this stage's connections and find them by user or session.
    app = App(context={**cdk_json_context(), "aws:cdk:bundling-stacks": []}, outdir=str(tmp_path))
    deployment = build_app(app, "dev")
    other = Stack(app, "Other")
    pusher = PythonFunction(
        other,
        "Pusher",
        config=deployment.config,
        handler="runtime.health.handler.lambda_handler",
        service="pusher",
        description="pushes frames",
    )
    deployment.realtime.grant_notify(pusher)
    app.synth()

    template = json.loads((tmp_path / "Other.template.json").read_text())
    [function] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    variables = function["Properties"]["Environment"]["Variables"]
    assert {Env.CONNECTIONS_TABLE, Env.WEBSOCKET_ENDPOINT} <= set(variables)
    [policy] = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    manage = [s for s in statements if s["Action"] == "execute-api:ManageConnections"]
    assert len(manage) == 1
    assert manage[0]["Resource"]["Fn::Join"][1][-1] == "/dev/*/@connections/*"
    queries = [s for s in statements if s["Action"] == "dynamodb:Query" and isinstance(s["Resource"], list)]
    assert {r["Fn::Join"][1][-1] for r in queries[0]["Resource"]} == {
        f"/index/{Index.CONNECTIONS_BY_USER}",
        f"/index/{Index.CONNECTIONS_BY_SESSION}",
    }
