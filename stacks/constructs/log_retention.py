"""A retention for the log groups of CDK's own handler functions, which CDK leaves at "never expire".

CDK's custom-resource handlers (S3 bucket notifications, auto-deleting objects) are plain
``AWS::Lambda::Function`` resources without a logging configuration, so Lambda creates
``/aws/lambda/<name>`` on their first run and keeps it forever. Each gets a log group of its own
with the stage's retention instead; their roles already write to any log group
(``AWSLambdaBasicExecutionRole``).
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config import StageConfig


def bound_handler_logs(stack: Stack, config: StageConfig) -> list[logs.LogGroup]:
    """Give every function in ``stack`` that CDK wrote (not a ``CfnFunction``) a bounded log group."""
    created: list[logs.LogGroup] = []
    for node in stack.node.find_all():
        if not isinstance(node, CfnResource) or isinstance(node, lambda_.CfnFunction):
            continue
        scope = node.node.scope
        if node.cfn_resource_type != "AWS::Lambda::Function" or not isinstance(scope, Construct):
            continue
        log_group = logs.LogGroup(
            scope,
            f"{node.node.id}Logs",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        node.add_property_override("LoggingConfig", {"LogGroup": log_group.log_group_name})
        created.append(log_group)
    return created
