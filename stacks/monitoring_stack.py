"""The monitoring stack: the stage's one CloudWatch dashboard, laid out from each stack's widgets.

The alarms are not here: each stack alarms on its own resources (``stacks.constructs.monitoring``)
so that they change with them. The dashboard must show every stack at once, and a dashboard is
one resource, so it lives in a stack of its own that nothing depends on: it imports resource
names (functions, queues, tables, APIs, the state machine) from the other stacks, and can be
deleted or redeployed at any time without touching them. docs/operations.md has the trade-off.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnOutput, CrossStackReferences, Duration, ReferenceStrength, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from stacks.config import StageConfig
from stacks.constructs.monitoring import Monitoring


class MonitoringStack(Stack):
    """One dashboard per stage: a row of widgets per stack, in the order given."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        sections: Sequence[Monitoring],
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        # Weak references (Fn::GetStackOutput, no exports): the stacks it reads from never hold an
        # export for the dashboard, so renaming or replacing a resource never blocks their deploy.
        CrossStackReferences.of(self).consume(ReferenceStrength.WEAK)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=config.prefixed("overview"),
            default_interval=Duration.hours(3),
        )
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=f"# Messaging ({config.name})\n"
                f"Alarms go to the topic in the `AlarmTopicArn` output of `{config.prefixed('data')}`; "
                "what each one means and the first steps: `docs/operations.md`.",
                width=24,
                height=2,
            )
        )
        for section in sections:
            if section.widgets:
                self.dashboard.add_widgets(cloudwatch.TextWidget(markdown=f"## {section.title}", width=24, height=1))
                self.dashboard.add_widgets(*section.widgets)
        CfnOutput(self, "DashboardName", value=config.prefixed("overview"), description="CloudWatch dashboard")
