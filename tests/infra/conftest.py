"""Synthesize each stage once per test session; every infra test reads those assemblies.

Synthesis costs seconds (jsii starts Node), so the templates are built once here, with cdk-nag
attached exactly as app.py attaches it and Lambda bundling skipped the CDK way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from stacks.app_builder import Deployment, build_app, cdk_json_context

STAGES = ("dev", "prod")
STACK_KEYS = ("data", "api", "realtime", "image-pipeline", "monitoring", "web", "web-content")


@dataclass
class Synthesized:
    deployment: Deployment
    outdir: Path

    def template_json(self, key: str) -> dict[str, Any]:
        stack_name = self.deployment.config.prefixed(key)
        data: dict[str, Any] = json.loads((self.outdir / f"{stack_name}.template.json").read_text())
        return data

    def template(self, key: str) -> Template:
        return Template.from_json(self.template_json(key))

    def validation_report(self) -> dict[str, Any]:
        path = self.outdir / "validation-report.json"
        return json.loads(path.read_text()) if path.exists() else {"pluginReports": []}


def synthesize(stage: str, outdir: Path) -> Synthesized:
    context = {**cdk_json_context(), "aws:cdk:bundling-stacks": []}
    app = App(context=context, outdir=str(outdir))
    deployment = build_app(app, stage)
    app.synth()
    return Synthesized(deployment=deployment, outdir=outdir)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    return {stage: synthesize(stage, tmp_path_factory.mktemp(f"cdk-{stage}")) for stage in STAGES}


@pytest.fixture(scope="session")
def dev(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["dev"]


@pytest.fixture(scope="session")
def prod(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["prod"]
