"""The fixture app's one stack, synthesized by the e2e tests into a cloud assembly."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

STACK_NAME = "LocalFixture"
SENDER = "noreply@fixture.example.com"


class FixtureStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, code_dir: Path) -> None:
        super().__init__(scope, construct_id)
        code = lambda_.Code.from_asset(str(code_dir))

        def function(
            name: str, handler: str, timeout: int = 10, environment: dict[str, str] | None = None
        ) -> lambda_.Function:
            return lambda_.Function(
                self,
                name,
                runtime=lambda_.Runtime.PYTHON_3_12,
                handler=f"handlers.{handler}",
                code=code,
                timeout=Duration.seconds(timeout),
                environment=environment,
            )

        results = dynamodb.TableV2(
            self,
            "Results",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            removal_policy=RemovalPolicy.DESTROY,
        )
        source = dynamodb.TableV2(
            self,
            "Source",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            dynamo_stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            time_to_live_attribute="ttl",
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name="ByKind",
                    partition_key=dynamodb.Attribute(name="kind", type=dynamodb.AttributeType.STRING),
                )
            ],
            removal_policy=RemovalPolicy.DESTROY,
        )
        env = {"RESULTS_TABLE": results.table_name}

        # HTTP API
        http = apigw.HttpApi(
            self,
            "HttpApi",
            cors_preflight=apigw.CorsPreflightOptions(
                allow_origins=["*"],
                allow_methods=[apigw.CorsHttpMethod.ANY],
                allow_headers=["content-type"],
                max_age=Duration.seconds(600),
            ),
        )
        echo = function("Echo", "echo")
        for path, method in (
            ("/echo", apigw.HttpMethod.GET),
            ("/echo", apigw.HttpMethod.POST),
            ("/items/{item_id}", apigw.HttpMethod.GET),
        ):
            http.add_routes(
                path=path,
                methods=[method],
                integration=integrations.HttpLambdaIntegration(f"Echo{method.value}{len(path)}", echo),
            )
        env_a = function("EnvA", "env_report", environment={"FIXTURE_VALUE": "a"})
        env_b = function("EnvB", "env_report", environment={"FIXTURE_VALUE": "b"})
        http.add_routes(
            path="/env/a",
            methods=[apigw.HttpMethod.GET],
            integration=integrations.HttpLambdaIntegration("EnvAIntegration", env_a),
        )
        http.add_routes(
            path="/env/b",
            methods=[apigw.HttpMethod.GET],
            integration=integrations.HttpLambdaIntegration("EnvBIntegration", env_b),
        )
        slow = function("Slow", "slow", timeout=2)
        http.add_routes(
            path="/slow",
            methods=[apigw.HttpMethod.GET],
            integration=integrations.HttpLambdaIntegration("SlowIntegration", slow),
        )
        version = function("Version", "version")
        http.add_routes(
            path="/version",
            methods=[apigw.HttpMethod.GET],
            integration=integrations.HttpLambdaIntegration("VersionIntegration", version),
        )
        fail = function("Fail", "fail")
        http.add_routes(
            path="/fail",
            methods=[apigw.HttpMethod.GET],
            integration=integrations.HttpLambdaIntegration("FailIntegration", fail),
        )
        mailer = function("Mailer", "send_mail", environment={"MAIL_FROM": SENDER})
        http.add_routes(
            path="/mail",
            methods=[apigw.HttpMethod.POST],
            integration=integrations.HttpLambdaIntegration("MailIntegration", mailer),
        )
        http_authorizer = authorizers.HttpLambdaAuthorizer(
            "BearerAuthorizer",
            function("HttpAuthorizer", "http_authorizer"),
            response_types=[authorizers.HttpLambdaResponseType.SIMPLE],
            identity_source=["$request.header.Authorization"],
            results_cache_ttl=Duration.seconds(0),
        )
        http.add_routes(
            path="/private",
            methods=[apigw.HttpMethod.GET],
            authorizer=http_authorizer,
            integration=integrations.HttpLambdaIntegration("PrivateIntegration", echo),
        )
        ses.EmailIdentity(self, "Sender", identity=ses.Identity.email(SENDER))

        # WebSocket API
        websocket_function = function("WebSocket", "websocket")
        ws = apigw.WebSocketApi(
            self,
            "WebSocketApi",
            connect_route_options=apigw.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration("ConnectIntegration", websocket_function),
                authorizer=authorizers.WebSocketLambdaAuthorizer(
                    "TokenAuthorizer",
                    function("WsAuthorizer", "ws_authorizer"),
                    identity_source=["route.request.querystring.token"],
                ),
            ),
            disconnect_route_options=apigw.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration("DisconnectIntegration", websocket_function)
            ),
            default_route_options=apigw.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration("DefaultIntegration", websocket_function),
                return_response=True,
            ),
        )
        ws.add_route(
            "whoami",
            integration=integrations.WebSocketLambdaIntegration("WhoAmIIntegration", websocket_function),
            return_response=True,
        )
        ws.add_route("push", integration=integrations.WebSocketLambdaIntegration("PushIntegration", websocket_function))
        stage = apigw.WebSocketStage(self, "Stage", web_socket_api=ws, stage_name="dev", auto_deploy=True)
        websocket_function.add_environment("CALLBACK_URL", stage.callback_url)

        # S3 -> SQS -> function, with partial failures and a DLQ
        dlq = sqs.Queue(self, "UploadsDlq")
        queue = sqs.Queue(
            self,
            "UploadsQueue",
            visibility_timeout=Duration.seconds(1),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=2),
        )
        bucket = s3.Bucket(
            self,
            "Uploads",
            removal_policy=RemovalPolicy.DESTROY,
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.PUT, s3.HttpMethods.POST],
                    allowed_origins=["*"],
                    allowed_headers=["*"],
                )
            ],
        )
        bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED, s3n.SqsDestination(queue), s3.NotificationKeyFilter(prefix="uploads/")
        )
        on_upload = function("OnUpload", "on_upload", environment=env)
        on_upload.add_event_source(sources.SqsEventSource(queue, batch_size=5, report_batch_item_failures=True))

        # S3 -> function directly, and SNS -> function
        on_direct = function("OnDirect", "on_direct", environment=env)
        bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED, s3n.LambdaDestination(on_direct), s3.NotificationKeyFilter(prefix="direct/")
        )
        topic = sns.Topic(self, "Events")
        topic.add_subscription(subscriptions.LambdaSubscription(function("OnTopic", "on_topic", environment=env)))

        # DynamoDB stream -> function, failures to a DLQ after one retry
        stream_dlq = sqs.Queue(self, "StreamDlq")
        on_change = function("OnChange", "on_change", environment=env)
        on_change.add_event_source(
            sources.DynamoEventSource(
                source,
                starting_position=lambda_.StartingPosition.LATEST,
                batch_size=10,
                retry_attempts=1,
                on_failure=sources.SqsDlq(stream_dlq),
                filters=[lambda_.FilterCriteria.filter({"eventName": lambda_.FilterRule.is_equal("INSERT")})],
            )
        )

        # Step Functions: validate -> resize, with a Catch
        validate = tasks.LambdaInvoke(
            self, "Validate", lambda_function=function("ValidateStep", "validate"), payload_response_only=True
        )
        resize = tasks.LambdaInvoke(
            self, "Resize", lambda_function=function("ResizeStep", "resize"), output_path="$.Payload"
        )
        failed = sfn.Pass(self, "Failed", parameters={"status": "FAILED", "error.$": "$.error.Error"})
        validate.add_catch(failed, result_path="$.error")
        machine = sfn.StateMachine(
            self, "Pipeline", definition_body=sfn.DefinitionBody.from_chainable(validate.next(resize))
        )

        CfnOutput(self, "HttpApiUrl", value=http.api_endpoint)
        CfnOutput(self, "WebSocketUrl", value=stage.url)
        CfnOutput(self, "CallbackUrl", value=stage.callback_url)
        CfnOutput(self, "BucketName", value=bucket.bucket_name)
        CfnOutput(self, "QueueUrl", value=queue.queue_url)
        CfnOutput(self, "DlqUrl", value=dlq.queue_url)
        CfnOutput(self, "SourceTable", value=source.table_name)
        CfnOutput(self, "ResultsTable", value=results.table_name)
        CfnOutput(self, "StateMachineArn", value=machine.state_machine_arn)
        CfnOutput(self, "TopicArn", value=topic.topic_arn)
        CfnOutput(self, "StreamDlqUrl", value=stream_dlq.queue_url)


def synthesize_fixture(outdir: Path, code_dir: Path) -> Path:
    # Without staging, assets point at their source folder, so edits reach the local runtime.
    app = App(outdir=str(outdir), context={"aws:cdk:disable-asset-staging": True})
    FixtureStack(app, STACK_NAME, code_dir=code_dir)
    app.synth()
    return outdir
