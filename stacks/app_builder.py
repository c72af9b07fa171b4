"""Compose the stacks of one stage; app.py and the tests both build the app this way."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Stack, Tags, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from stacks.api_stack import ApiStack
from stacks.config import StageConfig, stage_config
from stacks.constructs.log_retention import bound_handler_logs
from stacks.data_stack import DataStack
from stacks.image_pipeline_stack import ImagePipelineStack
from stacks.monitoring_stack import MonitoringStack
from stacks.realtime_stack import RealtimeStack
from stacks.web_stack import WebContentStack, WebHostingStack


@dataclass(frozen=True)
class Deployment:
    """The stacks of one stage, for callers that inspect them (tests, the local runtime)."""

    config: StageConfig
    data: DataStack
    api: ApiStack
    realtime: RealtimeStack
    image_pipeline: ImagePipelineStack
    monitoring: MonitoringStack
    web_hosting: WebHostingStack | None = None
    web_content: WebContentStack | None = None
    # The cdk-nag packs that run at synth (empty when built with ``nag=False``).
    nag_packs: tuple[str, ...] = ()

    @property
    def stacks(self) -> tuple[Stack, ...]:
        web = (self.web_hosting, self.web_content) if self.web_hosting and self.web_content else ()
        return (self.data, self.api, self.realtime, self.image_pipeline, self.monitoring, *web)


CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    """The feature flags of cdk.json, for apps built outside the CDK CLI (tests, local runtime)."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return context


def _environment() -> Environment | None:
    """Target the CLI's account/region when it knows them; otherwise stay environment-agnostic."""
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    return Environment(account=account, region=region) if account and region else None


def build_app(app: App, stage: str | None = None, *, nag: bool = True) -> Deployment:
    """Add the stage's stacks to ``app`` (the stage defaults to the ``stage`` context, else dev)."""
    config = stage_config(stage or app.node.try_get_context("stage") or "dev")
    if mail_from := app.node.try_get_context("mail_from"):
        # The deployer's own verified sender (the stage defaults are placeholders on example.com).
        config = dataclasses.replace(config, mail_from=str(mail_from))
    env = _environment()
    # The web client's origin goes into the APIs' CORS rules, so its hosting comes first.
    hosting = WebHostingStack(app, config.prefixed("web"), config=config, env=env) if config.web_hosting else None
    web_origins = [hosting.origin] if hosting else []
    data = DataStack(app, config.prefixed("data"), config=config, web_origins=web_origins, env=env)
    realtime = RealtimeStack(app, config.prefixed("realtime"), config=config, data=data, env=env)
    api = ApiStack(
        app, config.prefixed("api"), config=config, data=data, realtime=realtime, web_origins=web_origins, env=env
    )
    pipeline = ImagePipelineStack(
        app, config.prefixed("image-pipeline"), config=config, data=data, realtime=realtime, env=env
    )
    monitoring = MonitoringStack(
        app,
        config.prefixed("monitoring"),
        config=config,
        sections=[api.monitoring, realtime.monitoring, pipeline.monitoring, data.monitoring],
        env=env,
    )
    content = (
        WebContentStack(app, config.prefixed("web-content"), hosting=hosting, api=api, realtime=realtime, env=env)
        if hosting
        else None
    )
    deployment = Deployment(
        config=config,
        data=data,
        api=api,
        realtime=realtime,
        image_pipeline=pipeline,
        web_hosting=hosting,
        web_content=content,
        monitoring=monitoring,
    )
    for stack in deployment.stacks:
        bound_handler_logs(stack, config)
        Tags.of(stack).add("project", "messaging-platform")
        Tags.of(stack).add("stage", config.name)
    if nag:
        deployment = dataclasses.replace(deployment, nag_packs=attach_nag(app))
    return deployment


def attach_nag(app: App) -> tuple[str, ...]:
    """cdk-nag's AwsSolutions and Serverless packs: an unacknowledged finding of either fails the synth."""
    packs = (AwsSolutionsChecks(app), ServerlessChecks(app))
    Validations.of(app).add_plugins(*packs)
    return tuple(pack.name for pack in packs)
