#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth -c stage=dev|prod` builds that stage's four stacks."""

from aws_cdk import App

from stacks.app_builder import build_app

app = App()
build_app(app)
app.synth()
