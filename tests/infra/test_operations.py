"""Operations in the stacks: alarms on everything that can fail, one topic, a dashboard, tracing,
log retention, and concurrency as each stage's config says (docs/operations.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_lambda as lambda_

from stacks.app_builder import attach_nag
from stacks.config import stage_config
from tests.infra.conftest import STACK_KEYS, STAGES, Synthesized

COMPUTE_STACKS = ("api", "realtime", "image-pipeline")
Resources = dict[str, dict[str, Any]]


def _resources(synth: Synthesized, key: str, kind: str) -> Resources:
    resources: Resources = synth.template_json(key)["Resources"]
    return {logical_id: r for logical_id, r in resources.items() if r["Type"] == kind}


def _our_functions(synth: Synthesized, key: str) -> Resources:
    """Functions of the runtime package (CDK's own custom-resource handlers excluded)."""
    functions = _resources(synth, key, "AWS::Lambda::Function")
    return {k: f for k, f in functions.items() if str(f["Properties"].get("Handler", "")).startswith("runtime.")}


def _alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """(MetricName, Dimensions) of a plain alarm, or of every metric inside a metric-math alarm."""
    props = alarm["Properties"]
    if "MetricName" in props:
        return [{"MetricName": props["MetricName"], "Dimensions": props.get("Dimensions", [])}]
    return [
        {"MetricName": m["MetricStat"]["Metric"]["MetricName"], "Dimensions": m["MetricStat"]["Metric"]["Dimensions"]}
        for m in props.get("Metrics", [])
        if "MetricStat" in m
    ]


def _watches(alarm: dict[str, Any], metric_name: str, dimension: str, value: Any) -> bool:
    return any(
        m["MetricName"] == metric_name and {"Name": dimension, "Value": value} in m["Dimensions"]
        for m in _alarm_metrics(alarm)
    )


def _alarms_on(synth: Synthesized, key: str, metric_name: str, dimension: str, value: Any) -> list[dict[str, Any]]:
    return [
        a
        for a in _resources(synth, key, "AWS::CloudWatch::Alarm").values()
        if _watches(a, metric_name, dimension, value)
    ]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("key", COMPUTE_STACKS)
def test_every_function_has_error_rate_duration_and_throttle_alarms(
    synthesized: dict[str, Synthesized], stage: str, key: str
) -> None:
    synth = synthesized[stage]
    functions = _our_functions(synth, key)
    assert functions
    for logical_id, function in functions.items():
        ref = {"Ref": logical_id}
        errors = _alarms_on(synth, key, "Errors", "FunctionName", ref)
        assert len(errors) == 1, logical_id
        (error_rate,) = errors
        # A rate (errors / invocations), not a count: the stage threshold is a percentage.
        assert _watches(error_rate, "Invocations", "FunctionName", ref)
        assert error_rate["Properties"]["Threshold"] == stage_config(stage).alarms.error_rate_percent
        (duration,) = _alarms_on(synth, key, "Duration", "FunctionName", ref)
        timeout_ms = function["Properties"]["Timeout"] * 1000
        assert 0 < duration["Properties"]["Threshold"] < timeout_ms, "warns before the timeout, not at it"
        assert duration["Properties"]["Threshold"] <= stage_config(stage).alarms.duration_ms
        (throttles,) = _alarms_on(synth, key, "Throttles", "FunctionName", ref)
        assert throttles["Properties"]["Threshold"] == 1


def _dead_letter_queues(synth: Synthesized, key: str) -> set[str]:
    """Queues named as a redrive target or as an event source mapping's on-failure destination."""
    found: set[str] = set()
    for queue in _resources(synth, key, "AWS::SQS::Queue").values():
        target = queue["Properties"].get("RedrivePolicy", {}).get("deadLetterTargetArn")
        if target:
            found.add(target["Fn::GetAtt"][0])
    for mapping in _resources(synth, key, "AWS::Lambda::EventSourceMapping").values():
        destination = mapping["Properties"].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination:
            found.add(destination["Fn::GetAtt"][0])
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_every_dead_letter_queue_has_a_depth_alarm(synthesized: dict[str, Synthesized], stage: str) -> None:
    synth = synthesized[stage]
    total = 0
    for key in STACK_KEYS:
        for queue in _dead_letter_queues(synth, key):
            total += 1
            (alarm,) = _alarms_on(
                synth, key, "ApproximateNumberOfMessagesVisible", "QueueName", {"Fn::GetAtt": [queue, "QueueName"]}
            )
            props = alarm["Properties"]
            assert (props["Threshold"], props["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert total == 3  # upload events, session upload events, stream delivery


@pytest.mark.parametrize("stage", STAGES)
def test_state_machine_alarms_on_failures_and_timeouts_and_traces(
    synthesized: dict[str, Synthesized], stage: str
) -> None:
    synth = synthesized[stage]
    ((logical_id, machine),) = _resources(synth, "image-pipeline", "AWS::StepFunctions::StateMachine").items()
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
        assert len(_alarms_on(synth, "image-pipeline", metric, "StateMachineArn", {"Ref": logical_id})) == 1, metric
    props = machine["Properties"]
    assert props["TracingConfiguration"] == {"Enabled": True}
    (destination,) = props["LoggingConfiguration"]["Destinations"]
    log_group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    log_group = synth.template_json("image-pipeline")["Resources"][log_group_id]
    assert log_group["Properties"]["RetentionInDays"] > 0


@pytest.mark.parametrize("stage", STAGES)
def test_both_apis_alarm_on_server_errors(synthesized: dict[str, Synthesized], stage: str) -> None:
    synth = synthesized[stage]
    ((http_id, _),) = _resources(synth, "api", "AWS::ApiGatewayV2::Api").items()
    assert len(_alarms_on(synth, "api", "5xx", "ApiId", {"Ref": http_id})) == 1
    ((ws_id, _),) = _resources(synth, "realtime", "AWS::ApiGatewayV2::Api").items()
    for metric in ("IntegrationError", "ExecutionError"):
        assert len(_alarms_on(synth, "realtime", metric, "ApiId", {"Ref": ws_id})) == 1, metric


def _topic_id(synth: Synthesized) -> str:
    (topic_id,) = _resources(synth, "data", "AWS::SNS::Topic")
    return topic_id


@pytest.mark.parametrize("stage", STAGES)
def test_every_alarm_notifies_the_one_alarm_topic(synthesized: dict[str, Synthesized], stage: str) -> None:
    synth = synthesized[stage]
    topic_id = _topic_id(synth)
    count = 0
    for key in STACK_KEYS:
        for logical_id, alarm in _resources(synth, key, "AWS::CloudWatch::Alarm").items():
            count += 1
            for actions in ("AlarmActions", "OKActions"):
                (action,) = alarm["Properties"][actions]
                # The topic's ARN: a Ref in the data stack, its export everywhere else.
                assert topic_id in json.dumps(action), (key, logical_id, action)
    assert count > 50


@pytest.mark.parametrize("stage", STAGES)
def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use_and_tls_only(
    synthesized: dict[str, Synthesized], stage: str
) -> None:
    synth = synthesized[stage]
    topic = synth.template_json("data")["Resources"][_topic_id(synth)]
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = synth.template_json("data")["Resources"][key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    assert any(s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} for s in statements)
    (policy,) = _resources(synth, "data", "AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
    assert any(s["Effect"] == "Allow" and s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} for s in statements)
    assert "AlarmTopicArn" in synth.template_json("data")["Outputs"]


@pytest.mark.parametrize("stage", STAGES)
def test_one_dashboard_per_stage_shows_every_function(synthesized: dict[str, Synthesized], stage: str) -> None:
    synth = synthesized[stage]
    (dashboard,) = _resources(synth, "monitoring", "AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == f"Messaging-{stage}-overview"
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for key in COMPUTE_STACKS:
        for logical_id in _our_functions(synth, key):
            assert logical_id in body, logical_id  # through the output of its name
    # Weak references only: the other stacks export nothing for the dashboard, so it can never block them.
    assert "Fn::ImportValue" not in json.dumps(synth.template_json("monitoring"))
    assert "Fn::GetStackOutput" in body
    for metric in ("ThrottledRequests", "ApproximateNumberOfMessagesVisible", "ExecutionsFailed", "5xx"):
        assert metric in body
    for key in STACK_KEYS:
        if key != "monitoring":
            assert _resources(synth, key, "AWS::CloudWatch::Dashboard") == {}


@pytest.mark.parametrize("stage", STAGES)
def test_no_log_group_never_expires(synthesized: dict[str, Synthesized], stage: str) -> None:
    synth = synthesized[stage]
    for key in STACK_KEYS:
        for logical_id, group in _resources(synth, key, "AWS::Logs::LogGroup").items():
            assert group["Properties"].get("RetentionInDays"), (key, logical_id)
        # Every function (ours and CDK's handlers) writes to one of those, not to a group Lambda would create.
        for logical_id, function in _resources(synth, key, "AWS::Lambda::Function").items():
            assert "LogGroup" in function["Properties"].get("LoggingConfig", {}), (key, logical_id)
    for key, kind in (("api", "AWS::ApiGatewayV2::Stage"), ("realtime", "AWS::ApiGatewayV2::Stage")):
        (stage_resource,) = _resources(synth, key, kind).values()
        assert "DestinationArn" in stage_resource["Properties"]["AccessLogSettings"]


def _function_by_path(synth: Synthesized, key: str, fragment: str) -> tuple[str, dict[str, Any]]:
    (match,) = ((k, f) for k, f in _our_functions(synth, key).items() if k.startswith(fragment))
    return match


@pytest.mark.parametrize("stage", STAGES)
def test_reserved_concurrency_follows_the_stage_config(synthesized: dict[str, Synthesized], stage: str) -> None:
    synth = synthesized[stage]
    concurrency = stage_config(stage).concurrency
    expected = {
        ("realtime", "StreamProcessor"): concurrency.stream_processor,
        ("image-pipeline", "Orchestrator"): concurrency.orchestrator,
        ("image-pipeline", "Validate"): concurrency.image_steps,
        ("image-pipeline", "Resize"): concurrency.image_steps,
        ("image-pipeline", "Watermark"): concurrency.image_steps,
    }
    for key in COMPUTE_STACKS:
        for logical_id, function in _our_functions(synth, key).items():
            wanted = next(
                (v for (k, prefix), v in expected.items() if k == key and logical_id.startswith(prefix)), None
            )
            assert function["Properties"].get("ReservedConcurrentExecutions") == wanted, (key, logical_id)
    orchestrator_id, _ = _function_by_path(synth, "image-pipeline", "Orchestrator")
    (mapping,) = (
        m
        for m in _resources(synth, "image-pipeline", "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": orchestrator_id}
    )
    scaling = mapping["Properties"].get("ScalingConfig", {}).get("MaximumConcurrency")
    assert scaling == concurrency.orchestrator


def test_dev_reserves_no_concurrency_and_prod_does() -> None:
    # Accounts with a small concurrency quota must still deploy dev.
    dev, prod = stage_config("dev").concurrency, stage_config("prod").concurrency
    assert (dev.stream_processor, dev.orchestrator, dev.image_steps) == (None, None, None)
    assert None not in (prod.stream_processor, prod.orchestrator, prod.image_steps)
    assert (dev.provisioned_auth, dev.provisioned_chat, dev.provisioned_connect) == (0, 0, 0)


@pytest.mark.parametrize("stage", STAGES)
def test_provisioned_concurrency_lives_on_an_alias_that_the_api_integrates(
    synthesized: dict[str, Synthesized], stage: str
) -> None:
    synth = synthesized[stage]
    concurrency = stage_config(stage).concurrency
    cases = (
        ("api", "AuthApiAuth", concurrency.provisioned_auth),
        ("api", "ChatApiChat", concurrency.provisioned_chat),
        ("realtime", "Connect", concurrency.provisioned_connect),
    )
    for key, prefix, provisioned in cases:
        function_id, _ = _function_by_path(synth, key, prefix)
        aliases = {
            k: a
            for k, a in _resources(synth, key, "AWS::Lambda::Alias").items()
            if a["Properties"]["FunctionName"] == {"Ref": function_id}
        }
        uris = [
            json.dumps(i["Properties"]["IntegrationUri"])
            for i in _resources(synth, key, "AWS::ApiGatewayV2::Integration").values()
        ]
        direct = [u for u in uris if f'"{function_id}"' in u]
        if provisioned == 0:
            assert aliases == {}, prefix
            assert direct, prefix
            continue
        ((alias_id, alias),) = aliases.items()
        assert alias["Properties"]["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": provisioned}
        # Every route reaches the warm alias; none bypasses it to the unqualified function.
        assert direct == [], prefix
        assert any(json.dumps({"Ref": alias_id}) in u for u in uris), prefix
    total = sum(len(_resources(synth, key, "AWS::Lambda::Alias")) for key in COMPUTE_STACKS)
    assert total == sum(1 for _, _, provisioned in cases if provisioned)


@pytest.mark.parametrize("stage", STAGES)
def test_no_function_is_invoked_asynchronously(synthesized: dict[str, Synthesized], stage: str) -> None:
    # The reason given for Serverless-LambdaDLQ (stacks.constructs.python_function) must stay true:
    # no SNS subscription, S3 notification or EventBridge rule invokes a function of ours directly.
    synth = synthesized[stage]
    for key in STACK_KEYS:
        template = synth.template_json(key)["Resources"]
        for resource in template.values():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::SNS::Subscription":
                assert props["Protocol"] != "lambda"
            if resource["Type"] == "AWS::Events::Rule":
                raise AssertionError("an EventBridge rule would invoke its targets asynchronously")
            if resource["Type"] == "Custom::S3BucketNotifications":
                assert "LambdaFunctionConfigurations" not in json.dumps(props)
            if resource["Type"] == "AWS::Lambda::Permission":
                assert props["Principal"] not in ("sns.amazonaws.com", "s3.amazonaws.com", "events.amazonaws.com")
        if key == "image-pipeline":
            definition = json.dumps(next(iter(_resources(synth, key, "AWS::StepFunctions::StateMachine").values())))
            assert '\\"InvocationType\\":\\"Event\\"' not in definition


def test_the_app_runs_both_nag_packs(synthesized: dict[str, Synthesized]) -> None:
    # The fixture's synth passed with both attached: every finding of either is acknowledged.
    for synth in synthesized.values():
        assert synth.deployment.nag_packs == ("AwsSolutions", "Serverless")


def test_serverless_pack_fails_synth_on_an_unacknowledged_finding(tmp_path: Path) -> None:
    # Given a function with no DLQ, memory or timeout decided and no tracing, when synthesized with
    # the packs that build_app attaches, then synthesis fails and names the Serverless rules.
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Bad")
    lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
        timeout=Duration.seconds(3),
    )
    attach_nag(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = (tmp_path / "validation-report.json").read_text()
    assert "Serverless-LambdaDLQ" in report
