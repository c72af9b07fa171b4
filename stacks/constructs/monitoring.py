"""Alarms and dashboard widgets for one stack's own resources; every alarm goes to one topic.

Each stack watches what it owns (``Monitoring``), so an alarm lives, changes and disappears with
its resource and needs no reference into another stack but the stage's alarm topic (an ARN
that never changes). The widgets each stack collects here are laid out on the stage's one
dashboard by ``stacks.monitoring_stack`` (docs/operations.md says why it is a stack of its own).
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.config import StageConfig
from stacks.constructs.python_function import PythonFunction
from stacks.constructs.queues import QueueWithDlq

# A duration alarm at the timeout itself would only see timeouts; this fraction of it warns first.
TIMEOUT_FRACTION = 0.8
WIDGET_WIDTH = 8
WIDGET_HEIGHT = 6


class AlarmTopic(Construct):
    """The stage's alarm topic, encrypted with a key that CloudWatch may use, TLS only.

    CloudWatch cannot publish to a topic under the AWS-managed ``alias/aws/sns`` key (its key
    policy cannot be edited to let CloudWatch encrypt), hence a customer-managed key.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the {config.name} alarm topic; CloudWatch alarms may use it to publish.",
            enable_key_rotation=True,
            removal_policy=config.removal_policy,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name=f"Messaging {config.name} alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        # Only this account's alarms may publish: the topic policy that enforce_ssl creates
        # replaces SNS's default one, so CloudWatch's right to publish is stated here.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisAccountsAlarms",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnLike": {"aws:SourceArn": stack.format_arn(service="cloudwatch", resource="alarm:*")},
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )


class Monitoring(Construct):
    """Alarms (to the stage's topic) and dashboard widgets for the resources of one stack."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, topic: sns.ITopic, title: str
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._thresholds = config.alarms
        self._period = Duration.minutes(config.alarms.period_minutes)
        self._action = actions.SnsAction(topic)
        self.title = title
        self.alarms: list[cloudwatch.Alarm] = []
        self.widgets: list[cloudwatch.IWidget] = []

    # --- alarms -----------------------------------------------------------------------------

    def _alarm(
        self,
        construct_id: str,
        *,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm

    def functions(self, functions: Iterable[PythonFunction]) -> None:
        """Error rate, duration near the timeout and throttles, per function; one widget row."""
        functions = list(functions)
        for fn in functions:
            self._function_alarms(fn)
        if not functions:
            return
        lambdas = [fn.function for fn in functions]
        self.widgets += [
            cloudwatch.GraphWidget(
                title=f"{self.title}: invocations and errors",
                left=[f.metric_invocations(period=self._period, label=_label(f)) for f in lambdas],
                right=[f.metric_errors(period=self._period, label=_label(f)) for f in lambdas],
                width=WIDGET_WIDTH,
                height=WIDGET_HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title=f"{self.title}: duration p99 (ms)",
                left=[f.metric_duration(period=self._period, statistic="p99", label=_label(f)) for f in lambdas],
                width=WIDGET_WIDTH,
                height=WIDGET_HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title=f"{self.title}: throttles and concurrency",
                left=[f.metric_throttles(period=self._period, label=_label(f)) for f in lambdas],
                right=[
                    f.metric("ConcurrentExecutions", period=self._period, statistic="Maximum", label=_label(f))
                    for f in lambdas
                ],
                width=WIDGET_WIDTH,
                height=WIDGET_HEIGHT,
            ),
        ]

    def _function_alarms(self, fn: PythonFunction) -> None:
        function = fn.function
        name = fn.node.id
        invocations = function.metric_invocations(period=self._period, statistic="Sum")
        errors = function.metric_errors(period=self._period, statistic="Sum")
        self._alarm(
            f"{name}ErrorRate",
            metric=cloudwatch.MathExpression(
                expression="IF(invocations > 0, 100 * errors / invocations, 0)",
                using_metrics={"errors": errors, "invocations": invocations},
                label=f"{name} error rate (%)",
                period=self._period,
            ),
            threshold=self._thresholds.error_rate_percent,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            description=f"{name}: more than {self._thresholds.error_rate_percent:g} % of invocations failed. "
            "Read the function's log group for the tracebacks (docs/operations.md#function-errors).",
        )
        timeout_ms = function.timeout.to_milliseconds() if function.timeout else self._thresholds.duration_ms
        duration_ms = min(self._thresholds.duration_ms, int(timeout_ms * TIMEOUT_FRACTION))
        self._alarm(
            f"{name}Duration",
            metric=function.metric_duration(period=self._period, statistic="p99"),
            threshold=duration_ms,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            description=f"{name}: p99 duration above {duration_ms} ms (timeout {timeout_ms} ms). "
            "Look for a slow dependency in X-Ray (docs/operations.md#function-duration).",
        )
        self._alarm(
            f"{name}Throttles",
            metric=function.metric_throttles(period=self._period, statistic="Sum"),
            threshold=self._thresholds.throttles,
            description=f"{name}: invocations were throttled (reserved concurrency or the account's limit). "
            "See docs/operations.md#function-throttles.",
        )

    def dead_letter_queue(self, queue: sqs.IQueue, name: str, what: str) -> None:
        """Anything parked in ``queue`` means work that was given up on."""
        depth = queue.metric_approximate_number_of_messages_visible(period=self._period, statistic="Maximum")
        self._alarm(
            f"{name}NotEmpty",
            metric=depth,
            threshold=self._thresholds.dlq_depth,
            description=f"{name}: {what} Inspect and redrive it (docs/operations.md#dead-letter-queues).",
        )
        self.widgets.append(
            cloudwatch.GraphWidget(
                title=f"{self.title}: {name} depth", left=[depth], width=WIDGET_WIDTH, height=WIDGET_HEIGHT
            )
        )
        # The runbook's commands read these (docs/operations.md#dead-letter-queues).
        stack = Stack.of(self)
        CfnOutput(stack, f"{name}Url", value=queue.queue_url, description=f"{name}: receive / purge")
        CfnOutput(stack, f"{name}Arn", value=queue.queue_arn, description=f"{name}: start-message-move-task")

    def queue_with_dlq(self, queue: QueueWithDlq, name: str, what: str) -> None:
        """The work queue's backlog on the dashboard, its DLQ alarmed."""
        self.widgets.append(
            cloudwatch.GraphWidget(
                title=f"{self.title}: {name} backlog",
                left=[queue.queue.metric_approximate_number_of_messages_visible(period=self._period)],
                right=[queue.queue.metric_approximate_age_of_oldest_message(period=self._period)],
                width=WIDGET_WIDTH,
                height=WIDGET_HEIGHT,
            )
        )
        self.dead_letter_queue(queue.dlq, f"{name}Dlq", what)

    def state_machine(self, machine: sfn.StateMachine, name: str) -> None:
        """Failed (beyond the stage's allowance for rejected uploads), timed-out and aborted executions."""
        failed = machine.metric_failed(period=self._period, statistic="Sum")
        timed_out = machine.metric_timed_out(period=self._period, statistic="Sum")
        self._alarm(
            f"{name}ExecutionsFailed",
            metric=failed,
            threshold=self._thresholds.failed_executions,
            description=f"{name}: {self._thresholds.failed_executions} or more executions failed in "
            f"{self._thresholds.period_minutes} minutes (docs/operations.md#state-machine-failures).",
        )
        self._alarm(
            f"{name}ExecutionsTimedOut",
            metric=timed_out,
            threshold=1,
            description=f"{name}: an execution ran past the state machine's timeout "
            "(docs/operations.md#state-machine-failures).",
        )
        self.widgets.append(
            cloudwatch.GraphWidget(
                title=f"{self.title}: {name} executions",
                left=[
                    machine.metric_started(period=self._period, statistic="Sum"),
                    machine.metric_succeeded(period=self._period, statistic="Sum"),
                    failed,
                    timed_out,
                ],
                right=[machine.metric_time(period=self._period, statistic="p99")],
                width=WIDGET_WIDTH,
                height=WIDGET_HEIGHT,
            )
        )

    def http_api(self, api: apigw.HttpApi, name: str) -> None:
        """5xx answers of the HTTP API (function errors, integration timeouts, gateway faults)."""
        server_errors = api.metric_server_error(period=self._period, statistic="Sum")
        self._alarm(
            f"{name}5xx",
            metric=server_errors,
            threshold=self._thresholds.server_errors,
            description=f"{name}: the HTTP API answered 5xx (docs/operations.md#api-5xx).",
        )
        self.widgets.append(
            cloudwatch.GraphWidget(
                title=f"{self.title}: {name} requests",
                left=[
                    api.metric_count(period=self._period, statistic="Sum"),
                    api.metric_client_error(period=self._period, statistic="Sum"),
                    server_errors,
                ],
                right=[api.metric_latency(period=self._period, statistic="p99")],
                width=WIDGET_WIDTH,
                height=WIDGET_HEIGHT,
            )
        )

    def websocket_api(self, api: apigw.WebSocketApi, stage: apigw.WebSocketStage, name: str) -> None:
        """WebSocket APIs report no 5xx: integration errors (the function failed) and execution errors."""

        def metric(metric_name: str, statistic: str = "Sum") -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/ApiGateway",
                metric_name=metric_name,
                dimensions_map={"ApiId": api.api_id, "Stage": stage.stage_name},
                period=self._period,
                statistic=statistic,
            )

        integration_errors = metric("IntegrationError")
        execution_errors = metric("ExecutionError")
        self._alarm(
            f"{name}IntegrationErrors",
            metric=integration_errors,
            threshold=self._thresholds.server_errors,
            description=f"{name}: a route's function failed or timed out (docs/operations.md#api-5xx).",
        )
        self._alarm(
            f"{name}ExecutionErrors",
            metric=execution_errors,
            threshold=self._thresholds.server_errors,
            description=f"{name}: API Gateway failed to run a route (docs/operations.md#api-5xx).",
        )
        self.widgets.append(
            cloudwatch.GraphWidget(
                title=f"{self.title}: {name} traffic",
                left=[metric("ConnectCount"), metric("MessageCount"), integration_errors, execution_errors],
                right=[metric("IntegrationLatency", "p99")],
                width=WIDGET_WIDTH,
                height=WIDGET_HEIGHT,
            )
        )

    def tables(self, tables: Iterable[tuple[str, dynamodb.ITableV2]]) -> None:
        """Throttled requests per table (on demand still throttles past its scaling)."""
        metrics = [
            cloudwatch.Metric(
                namespace="AWS/DynamoDB",
                metric_name="ThrottledRequests",
                dimensions_map={"TableName": table.table_name},
                period=self._period,
                statistic="Sum",
                label=name,
            )
            for name, table in tables
        ]
        self.widgets.append(
            cloudwatch.GraphWidget(
                title=f"{self.title}: throttled requests", left=metrics, width=WIDGET_WIDTH, height=WIDGET_HEIGHT
            )
        )


def _label(function: lambda_.Function) -> str:
    """The PythonFunction's construct id ("Chat"), not CloudFormation's long generated name."""
    scope = function.node.scope
    return scope.node.id if scope is not None else function.node.id


def functions_of(scope: Construct) -> list[PythonFunction]:
    """Every PythonFunction under ``scope``, so that none is left unwatched by oversight."""
    return [c for c in scope.node.find_all() if isinstance(c, PythonFunction)]
