"""cdk-nag's AwsSolutions and Serverless packs guard every stage: no finding stands without a written reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_sqs as sqs

from stacks.app_builder import attach_nag
from tests.infra.conftest import STAGES, Synthesized


@pytest.mark.parametrize("stage", STAGES)
def test_no_unacknowledged_nag_findings(synthesized: dict[str, Synthesized], stage: str) -> None:
    # The synth in the fixture raises on any unacknowledged error; the report must hold none either.
    report = synthesized[stage].validation_report()
    failures = [
        (plugin["pluginName"], violation["ruleName"])
        for plugin in report["pluginReports"]
        for violation in plugin.get("violations", [])
        if violation.get("severity", "error") == "error"
    ]
    assert failures == []


def test_nag_pack_fails_synth_on_a_violation(tmp_path: Path) -> None:
    # Given a queue without a DLQ or TLS enforcement, when synthesized with the pack attached,
    # then synthesis fails: the pack is wired to stop bad infrastructure, not just to report it.
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Bad")
    sqs.Queue(stack, "NoDlq")
    attach_nag(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    assert "AwsSolutions-SQS3" in (tmp_path / "validation-report.json").read_text()


def test_every_acknowledgment_carries_a_reason(synthesized: dict[str, Synthesized]) -> None:
    reasons: dict[str, str] = {}
    for synth in synthesized.values():
        for stack in synth.deployment.stacks:
            for construct in stack.node.find_all():
                for entry in construct.node.metadata:
                    if entry.type == "aws:cdk:acknowledged-rules":
                        reasons.update({f"{construct.node.path} {rule}": reason for rule, reason in entry.data.items()})
    assert reasons, "expected the stacks to acknowledge at least one rule"
    short = {where: reason for where, reason in reasons.items() if len(reason.split()) < 5}
    assert short == {}, "each acknowledgment needs a real reason"
