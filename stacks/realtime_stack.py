"""The realtime stack: the WebSocket API and the one delivery path to connections."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.config import StageConfig
from stacks.data_stack import DataStack


class RealtimeStack(Stack):
    """WebSocket connect/route/disconnect and the stream processor that fans out."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, data: DataStack, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.config = config
        # Stream records the processor gave up on (after bounded retries) land here, not lost.
        self.delivery_dlq = sqs.Queue(
            self,
            "DeliveryDlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=config.removal_policy,
        )
        Validations.of(self.delivery_dlq).acknowledge(
            Acknowledgment(id="AwsSolutions-SQS3", reason="This queue is itself the dead-letter destination."),
        )
