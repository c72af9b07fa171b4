"""An SQS queue that parks what it cannot deliver in a dead-letter queue instead of looping."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.config import StageConfig


def acknowledge_dead_letter_queue(queue: sqs.IQueue, reason: str) -> None:
    """A dead-letter queue has no redrive policy of its own (cdk-nag AwsSolutions and Serverless)."""
    Validations.of(queue).acknowledge(
        Acknowledgment(id="AwsSolutions-SQS3", reason=reason),
        Acknowledgment(id="Serverless-SQSRedrivePolicy", reason=reason),
    )


class QueueWithDlq(Construct):
    """A work queue plus its DLQ, both encrypted and TLS-only."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        visibility_timeout: Duration,
        max_receive_count: int = 3,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dlq = sqs.Queue(
            self,
            "Dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=config.removal_policy,
        )
        acknowledge_dead_letter_queue(self.dlq, "This queue is itself the dead-letter queue.")
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=visibility_timeout,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=max_receive_count),
            removal_policy=config.removal_policy,
        )
