"""The pipeline's wiring: S3 -> SQS (with DLQ) -> orchestrator -> state machine with Retry/Catch."""

from __future__ import annotations

import json
from typing import Any

from tests.infra.conftest import Synthesized


def _resources(synth: Synthesized, kind: str) -> dict[str, dict[str, Any]]:
    resources = synth.template_json("image-pipeline")["Resources"]
    return {logical_id: r for logical_id, r in resources.items() if r["Type"] == kind}


def _definition(synth: Synthesized) -> dict[str, Any]:
    (machine,) = _resources(synth, "AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else '"<ref>"' for p in parts)
    # Lambda ARNs are references; replace them with a placeholder that keeps the JSON valid.
    return json.loads(text.replace('""<ref>""', '"<ref>"'))


def test_every_step_retries_transient_errors_and_is_caught(dev: Synthesized) -> None:
    states = _definition(dev)["States"]
    assert _definition(dev)["StartAt"] == "ValidateImage"
    chain = ["ValidateImage", "ResizeImage", "WatermarkVariants", "RecordResult"]
    for name, following in zip(chain, [*chain[1:], "Processed"], strict=True):
        state = states[name]
        assert state["Next"] == following
        throttled, retry = state["Retry"]
        # Lambda throttling (reserved concurrency) is waited out, first, and for longer.
        assert throttled["ErrorEquals"] == ["Lambda.TooManyRequestsException"]
        assert throttled["MaxAttempts"] == 10
        assert (throttled["MaxDelaySeconds"], throttled["JitterStrategy"]) == (30, "FULL")
        assert "ThrottledError" in retry["ErrorEquals"]
        assert "InvalidImageError" not in retry["ErrorEquals"]
        assert retry["MaxAttempts"] == 3
        (catch,) = state["Catch"]
        assert catch == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "MarkImageFailed"}
    assert states["MarkImageFailed"]["Next"] == "ProcessingFailed"
    assert states["ProcessingFailed"]["Type"] == "Fail"


def test_state_machine_logs_and_traces(dev: Synthesized) -> None:
    (machine,) = _resources(dev, "AWS::StepFunctions::StateMachine").values()
    props = machine["Properties"]
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"


def test_upload_queues_have_dead_letter_queues(dev: Synthesized) -> None:
    queues = _resources(dev, "AWS::SQS::Queue")
    work = {k: q for k, q in queues.items() if "RedrivePolicy" in q["Properties"]}
    assert {k.rstrip("0123456789ABCDEF") for k in work} == {"UploadEventsQueue", "SessionUploadEventsQueue"}
    for queue in work.values():
        assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 3


def test_consumers_report_partial_batch_failures(dev: Synthesized) -> None:
    mappings = _resources(dev, "AWS::Lambda::EventSourceMapping").values()
    assert len(list(mappings)) == 2
    for mapping in _resources(dev, "AWS::Lambda::EventSourceMapping").values():
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_bucket_notifications_route_by_prefix(dev: Synthesized) -> None:
    (notifications,) = _resources(dev, "Custom::S3BucketNotifications").values()
    configs = notifications["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    prefixes = {c["Filter"]["Key"]["FilterRules"][0]["Value"] for c in configs}
    assert prefixes == {"uploads/", "session-uploads/"}
    assert notifications["Properties"]["Managed"] is False


def test_the_steps_that_render_and_encode_get_a_whole_vcpu(dev: Synthesized, prod: Synthesized) -> None:
    # Resize renders the variants and Watermark encodes them (it receives pixels, not JPEGs):
    # both are CPU-bound, and Lambda gives a whole vCPU from the image memory size on.
    for synth in (dev, prod):
        functions = _resources(synth, "AWS::Lambda::Function")
        memory = {
            props["Description"]: props["MemorySize"]
            for props in (f["Properties"] for f in functions.values())
            if props.get("Description") in ("Render the three variants", "Watermark and encode the variants")
        }
        assert memory == dict.fromkeys(memory, synth.deployment.config.image_lambda_memory_mb)
        assert len(memory) == 2
        assert synth.deployment.config.image_lambda_memory_mb >= 1769
