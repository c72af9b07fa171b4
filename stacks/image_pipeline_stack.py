"""The image-pipeline stack: S3 event -> SQS -> orchestrator -> Step Functions."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from constructs import Construct

from stacks.config import StageConfig
from stacks.constructs.queues import QueueWithDlq
from stacks.data_stack import DataStack
from stacks.realtime_stack import RealtimeStack


class ImagePipelineStack(Stack):
    """Validate, resize and watermark uploads; record the result and notify the owner."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        data: DataStack,
        realtime: RealtimeStack,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.config = config
        # S3 ObjectCreated events wait here for the orchestrator; three failed receives park one.
        self.upload_events = QueueWithDlq(
            self, "UploadEvents", config=config, visibility_timeout=Duration.seconds(60), max_receive_count=3
        )
