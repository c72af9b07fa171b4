"""The image-pipeline stack: S3 event -> SQS -> orchestrator -> Step Functions.

Also home of QR-session completion, the other consumer of upload events: both react to objects
landing in the uploads bucket, under different prefixes, each through its own queue and DLQ.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnOutput, Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from runtime.common.names import Env, Prefix
from stacks.config import StageConfig
from stacks.constructs.monitoring import Monitoring, functions_of
from stacks.constructs.python_function import PythonFunction
from stacks.constructs.queues import QueueWithDlq
from stacks.data_stack import DataStack
from stacks.nag import acknowledge_grant_wildcards
from stacks.realtime_stack import RealtimeStack

# Errors worth retrying inside the state machine: Lambda's own hiccups and our ThrottledError
# (a dependency said "busy"). InvalidImageError is final and goes straight to the Catch.
TRANSIENT_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "ThrottledError",
]
# Lambda refusing a step for lack of concurrency (the steps' reserved concurrency, or the account's)
# is a queue, not a failure: waited out with backoff and jitter for up to about 3.5 minutes, well
# inside the execution's 10, instead of marking a burst of good uploads failed after 14 s.
THROTTLED_ERRORS = ["Lambda.TooManyRequestsException"]


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
        self.data = data
        # S3 ObjectCreated events wait here for the orchestrator; three failed receives park one.
        self.upload_events = QueueWithDlq(
            self, "UploadEvents", config=config, visibility_timeout=Duration.seconds(60), max_receive_count=3
        )
        self.session_events = QueueWithDlq(
            self, "SessionUploadEvents", config=config, visibility_timeout=Duration.seconds(60), max_receive_count=3
        )
        self._notifications()

        self.topic = sns.Topic(
            self,
            "ImageEvents",
            display_name="Image processing results",
            enforce_ssl=True,
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
        )
        self.state_machine = self._state_machine(realtime)
        self._orchestrator()
        self._session_completion(realtime)

        self.monitoring = Monitoring(self, "Monitoring", config=config, topic=data.alarm_topic, title="Image pipeline")
        self.monitoring.state_machine(self.state_machine, "ImageProcessing")
        self.monitoring.functions(functions_of(self))
        self.monitoring.queue_with_dlq(
            self.upload_events, "UploadEvents", "image upload events failed three times and were parked."
        )
        self.monitoring.queue_with_dlq(
            self.session_events, "SessionUploadEvents", "QR-session upload events failed three times and were parked."
        )

        CfnOutput(self, "ImageStateMachineArn", value=self.state_machine.state_machine_arn)
        CfnOutput(self, "ImageEventsTopicArn", value=self.topic.topic_arn)

    def _notifications(self) -> None:
        """Route the uploads bucket's ObjectCreated events by prefix into the two queues.

        The bucket belongs to the data stack; importing it here puts the notification resource in
        this stack, so the data stack never depends on its consumers.
        """
        uploads = s3.Bucket.from_bucket_attributes(
            self,
            "UploadsBucketRef",
            bucket_arn=self.data.buckets.uploads.bucket_arn,
            bucket_name=self.data.buckets.uploads.bucket_name,
        )
        uploads.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.upload_events.queue),
            s3.NotificationKeyFilter(prefix=Prefix.IMAGE_UPLOADS),
        )
        uploads.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.session_events.queue),
            s3.NotificationKeyFilter(prefix=Prefix.SESSION_UPLOADS),
        )
        handler = self.node.try_find_child("BucketNotificationsHandler050a0587b7544547bf325f094a3db834")
        if handler is not None:
            Validations.of(handler).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                    reason="CDK's own bucket-notifications handler; it only writes its logs with this policy.",
                ),
                Acknowledgment(
                    id="AwsSolutions-IAM5[Resource::*]",
                    reason="s3:PutBucketNotification on the imported bucket, as CDK's handler defines it.",
                ),
            )

    def _step(
        self, name: str, handler: str, description: str, *, memory: int, timeout: int, reserved: bool = False
    ) -> PythonFunction:
        # Record and MarkFailed never touch pixels: their module does not import the image core.
        module = "outcome_handler" if handler in ("record", "fail") else "steps_handler"
        function = PythonFunction(
            self,
            name,
            config=self.config,
            handler=f"runtime.pipeline.{module}.{handler}",
            service="image-pipeline",
            description=description,
            memory_size=memory,
            timeout=Duration.seconds(timeout),
            reserved_concurrency=self.config.concurrency.image_steps if reserved else None,
            environment={
                Env.IMAGES_TABLE: self.data.tables.images.table_name,
                Env.IMAGES_BUCKET: self.data.buckets.images.bucket_name,
                Env.UPLOADS_BUCKET: self.data.buckets.uploads.bucket_name,
            },
        )
        return function

    def _state_machine(self, realtime: RealtimeStack) -> sfn.StateMachine:
        config = self.config
        # The steps that read and render image bytes are capped (a burst of uploads must not take the
        # account's whole concurrency); record and mark-failed stay unreserved so an image always ends.
        validate = self._step(
            "Validate", "validate", "Validate an upload", memory=config.lambda_memory_mb, timeout=30, reserved=True
        )
        resize = self._step(
            "Resize",
            "resize",
            "Render the three variants",
            memory=config.image_lambda_memory_mb,
            timeout=15,
            reserved=True,
        )
        # Watermark encodes the three JPEGs (Resize hands over pixels): as CPU-bound as Resize.
        watermark = self._step(
            "Watermark",
            "watermark",
            "Watermark and encode the variants",
            memory=config.image_lambda_memory_mb,
            timeout=30,
            reserved=True,
        )
        record = self._step("Record", "record", "Record the result and notify", memory=256, timeout=15)
        fail = self._step("MarkFailed", "fail", "Mark a failed image and notify", memory=256, timeout=15)

        uploads, images, table = self.data.buckets.uploads, self.data.buckets.images, self.data.tables.images
        uploads.grant_read(validate.role, f"{Prefix.IMAGE_UPLOADS}*")
        uploads.grant_read(resize.role, f"{Prefix.IMAGE_UPLOADS}*")
        uploads.grant_put(resize.role, f"{Prefix.PROCESSING}*")
        uploads.grant_read(watermark.role, f"{Prefix.PROCESSING}*")
        uploads.grant_delete(watermark.role, f"{Prefix.PROCESSING}*")
        images.grant_put(watermark.role, f"{Prefix.VARIANTS}*")
        images.grant_delete(fail.role, f"{Prefix.VARIANTS}*")
        for step in (validate, record, fail):
            table.grant_read_write_data(step.role)
        for step in (record, fail):
            self.topic.grant_publish(step.role)
            step.add_environment(Env.NOTIFICATIONS_TOPIC_ARN, self.topic.topic_arn)
            realtime.grant_notify(step)
        for step in (validate, resize, watermark, record, fail):
            acknowledge_grant_wildcards(
                step.role,
                "Wildcards come from CDK grants scoped to one prefix of one bucket (uploads/, processing/ "
                "or variants/) and to the images table and its index.",
            )

        def task(
            name: str, function: PythonFunction, result_path: str | None, payload: sfn.TaskInput
        ) -> tasks.LambdaInvoke:
            invoke = tasks.LambdaInvoke(
                self,
                name,
                lambda_function=function.function,
                payload=payload,
                payload_response_only=True,
                retry_on_service_exceptions=False,
                result_path=result_path,
                task_timeout=sfn.Timeout.duration(Duration.seconds(90)),
            )
            invoke.add_retry(
                errors=THROTTLED_ERRORS,
                interval=Duration.seconds(2),
                max_attempts=10,
                backoff_rate=2,
                max_delay=Duration.seconds(30),
                jitter_strategy=sfn.JitterType.FULL,
            )
            invoke.add_retry(errors=TRANSIENT_ERRORS, interval=Duration.seconds(2), max_attempts=3, backoff_rate=2)
            return invoke

        job = sfn.TaskInput.from_object(
            {
                "job": {
                    "bucket": sfn.JsonPath.string_at("$.bucket"),
                    "key": sfn.JsonPath.string_at("$.key"),
                    "owner_id": sfn.JsonPath.string_at("$.owner_id"),
                    "image_id": sfn.JsonPath.string_at("$.image_id"),
                    "size": sfn.JsonPath.number_at("$.size"),
                }
            }
        )
        validate_task = task("ValidateImage", validate, "$.validation", job)
        resize_task = task("ResizeImage", resize, "$.resized", job)
        watermark_task = task(
            "WatermarkVariants",
            watermark,
            "$.watermarked",
            sfn.TaskInput.from_object(
                {"job": sfn.JsonPath.object_at("$"), "variants": sfn.JsonPath.list_at("$.resized.variants")}
            ),
        )
        record_task = task(
            "RecordResult",
            record,
            "$.recorded",
            sfn.TaskInput.from_object(
                {
                    "job": sfn.JsonPath.object_at("$"),
                    "metadata": sfn.JsonPath.object_at("$.validation.metadata"),
                    "variants": sfn.JsonPath.list_at("$.watermarked.variants"),
                }
            ),
        )
        fail_task = task(
            "MarkImageFailed",
            fail,
            "$.failure",
            sfn.TaskInput.from_object({"job": sfn.JsonPath.object_at("$"), "error": sfn.JsonPath.object_at("$.error")}),
        )
        failed = sfn.Fail(self, "ProcessingFailed", cause="The image could not be processed", error="ImageFailed")
        fail_task.next(failed)
        for state in (validate_task, resize_task, watermark_task, record_task):
            state.add_catch(fail_task, errors=["States.ALL"], result_path="$.error")
        definition = (
            validate_task.next(resize_task).next(watermark_task).next(record_task).next(sfn.Succeed(self, "Processed"))
        )

        log_group = logs.LogGroup(
            self, "StateMachineLogs", retention=config.log_retention, removal_policy=config.removal_policy
        )
        machine = sfn.StateMachine(
            self,
            "ImageProcessing",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=Duration.minutes(10),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        Validations.of(machine.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="X-Ray and CloudWatch Logs delivery for Step Functions take no resource-level permissions.",
            ),
        )
        role = machine.role
        assert isinstance(role, iam.Role)
        acknowledge_grant_wildcards(
            role, "LambdaInvoke grants the function ARN with ':*' so that every version/alias is invocable."
        )
        return machine

    def _orchestrator(self) -> None:
        function = PythonFunction(
            self,
            "Orchestrator",
            config=self.config,
            handler="runtime.pipeline.orchestrator_handler.lambda_handler",
            service="image-pipeline",
            description="Start one image-processing execution per uploaded object",
            timeout=Duration.seconds(30),
            environment={Env.STATE_MACHINE_ARN: self.state_machine.state_machine_arn},
            reserved_concurrency=self.config.concurrency.orchestrator,
        )
        self.state_machine.grant_start_execution(function.role)
        function.function.add_event_source(
            event_sources.SqsEventSource(
                self.upload_events.queue,
                batch_size=10,
                max_batching_window=Duration.seconds(1),
                report_batch_item_failures=True,
                # Never poll faster than the reserved concurrency lets the function run: throttled
                # batches would count as receives and push healthy uploads into the DLQ.
                max_concurrency=self.config.concurrency.orchestrator,
            )
        )
        _acknowledge_sqs_mapping(function)
        self.orchestrator = function

    def _session_completion(self, realtime: RealtimeStack) -> None:
        function = PythonFunction(
            self,
            "SessionCompletion",
            config=self.config,
            handler="runtime.uploads.completion_handler.lambda_handler",
            service="uploads",
            description="Complete a QR upload session and tell its waiting page",
            timeout=Duration.seconds(30),
            environment={Env.UPLOAD_SESSIONS_TABLE: self.data.tables.upload_sessions.table_name},
        )
        self.data.tables.upload_sessions.grant_read_write_data(function.role)
        realtime.grant_notify(function)
        acknowledge_grant_wildcards(
            function.role, "Wildcards come from CDK grants on the sessions and connections tables and their indexes."
        )
        function.function.add_event_source(
            event_sources.SqsEventSource(
                self.session_events.queue,
                batch_size=10,
                max_batching_window=Duration.seconds(1),
                report_batch_item_failures=True,
            )
        )
        _acknowledge_sqs_mapping(function)
        self.session_completion = function


def _acknowledge_sqs_mapping(function: PythonFunction) -> None:
    """SQS event source mappings take no on-failure destination: the queue's redrive policy is theirs."""
    for child in function.function.node.children:
        if isinstance(child, lambda_.EventSourceMapping):
            Validations.of(child).acknowledge(
                Acknowledgment(
                    id="Serverless-LambdaEventSourceMappingDestination",
                    reason="Lambda supports on-failure destinations for stream and Kafka sources only; a failed "
                    "SQS message returns to its queue and moves to the queue's DLQ (alarmed) after three receives.",
                )
            )
