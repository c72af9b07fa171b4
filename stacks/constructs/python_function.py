"""One Lambda function of the ``runtime`` package, configured the same way everywhere."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from runtime.common.names import Env
from stacks.config import StageConfig
from stacks.constructs.lambda_bundle import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, runtime_code

METRICS_NAMESPACE = "Messaging"
# Why no function has a DeadLetterConfig (cdk-nag Serverless-LambdaDLQ); tests/infra checks it stays true.
SYNCHRONOUS_ONLY_REASON = (
    "Every function is invoked synchronously (API Gateway, Step Functions' RequestResponse tasks, "
    "SQS and DynamoDB event source mappings); a DeadLetterConfig only applies to asynchronous "
    "invocations. Failures return to the caller, and the mappings park records in their own DLQs."
)


class PythonFunction(Construct):
    """A function with its own role, log group (retention per stage), X-Ray and Powertools setup.

    The role starts empty but for writing its own logs and traces; every data access is added by
    the caller through the resource's ``grant_*`` methods.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        handler: str,
        service: str,
        description: str,
        environment: Mapping[str, str] | None = None,
        memory_size: int | None = None,
        timeout: Duration | None = None,
        reserved_concurrency: int | None = None,
        provisioned_concurrency: int = 0,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {service}: {description}"[:1000],
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler=handler,
            code=runtime_code(),
            description=description,
            role=self.role,
            log_group=self.log_group,
            memory_size=memory_size or config.lambda_memory_mb,
            timeout=timeout or config.lambda_timeout,
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=reserved_concurrency,
            environment={
                Env.STAGE: config.name,
                "POWERTOOLS_SERVICE_NAME": service,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **(environment or {}),
            },
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="X-Ray's PutTraceSegments/PutTelemetryRecords take no resource-level permissions.",
            ),
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::<"
                + self.log_group.stack.get_logical_id(self.log_group.node.default_child)  # type: ignore[arg-type]
                + ".Arn>:*]",
                reason="Lambda names its log streams at run time; access is confined to this function's log group.",
            ),
        )

        # What callers integrate with: the function itself, or (with provisioned concurrency) the
        # ``live`` alias on its current version, since only a version or alias can be kept warm.
        self.alias: lambda_.Alias | None = None
        self.target: lambda_.IFunction = self.function
        if provisioned_concurrency > 0:
            self.alias = lambda_.Alias(
                self,
                "Live",
                alias_name="live",
                version=self.function.current_version,
                provisioned_concurrent_executions=provisioned_concurrency,
            )
            self.target = self.alias
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="Serverless-LambdaDLQ",
                reason=SYNCHRONOUS_ONLY_REASON,
            ),
        )

    def add_environment(self, name: str, value: str) -> None:
        """Set one more variable once the resource it names exists."""
        self.function.add_environment(name, value)
