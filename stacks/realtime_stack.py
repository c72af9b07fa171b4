"""The realtime stack: the WebSocket API and the one delivery path to connections.

Four functions, each with only the access it uses: `$connect` (verifies tokens, registers
sockets, claims QR sessions), `$disconnect` (cleans up, settles calls), `$default` (the frame
router: writes messages, relays signals) and the stream processor (reads the chat table's
stream, fans frames out through ``@connections``). Posting to sockets is granted on this API's
stage only.
"""

from __future__ import annotations

import json

from aws_cdk import Acknowledgment, CfnOutput, Duration, Stack, Validations
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from runtime.common.names import Attr, Env, Index
from stacks.config import StageConfig
from stacks.constructs.manage_connections import grant_manage_connections
from stacks.constructs.monitoring import Monitoring, functions_of
from stacks.constructs.python_function import PythonFunction
from stacks.constructs.queues import acknowledge_dead_letter_queue
from stacks.constructs.table_access import READ, WRITE, grant_table
from stacks.constructs.tokens import grant_token_access
from stacks.data_stack import DataStack

# One full vCPU: a fan-out's ceiling is the client's CPU per post (signing, serialization).
FANOUT_MEMORY_MB = 1769
ROUTE_SELECTION = "$request.body.action"

_ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "connectionId": "$context.connectionId",
        "eventType": "$context.eventType",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "integrationLatency": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
        "error": "$context.error.message",
    },
    separators=(",", ":"),
)


class RealtimeStack(Stack):
    """WebSocket connect/route/disconnect and the stream processor that fans out."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, data: DataStack, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.config = config
        self.connections_table = data.tables.connections
        tables = data.tables
        # Stream records the processor gave up on (after bounded retries) land here, not lost.
        self.delivery_dlq = sqs.Queue(
            self,
            "DeliveryDlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=config.removal_policy,
        )
        acknowledge_dead_letter_queue(self.delivery_dlq, "This queue is itself the dead-letter destination.")

        connect = self._function(
            "Connect",
            "connect_handler",
            "Handshake: verifies the token or QR session and registers the socket",
            {
                Env.CONNECTIONS_TABLE: tables.connections.table_name,
                Env.UPLOAD_SESSIONS_TABLE: tables.upload_sessions.table_name,
            },
            provisioned_concurrency=config.concurrency.provisioned_connect,
        )
        grant_token_access(connect, secret=data.jwt_secret, config=config)
        grant_table(connect.role, tables.connections, ["dynamodb:PutItem"])
        grant_table(connect.role, tables.upload_sessions, ["dynamodb:UpdateItem"])

        disconnect = self._function(
            "Disconnect",
            "disconnect_handler",
            "Removes the socket and settles the calls its user left hanging",
            {
                Env.CONNECTIONS_TABLE: tables.connections.table_name,
                Env.UPLOAD_SESSIONS_TABLE: tables.upload_sessions.table_name,
                Env.CHAT_TABLE: tables.chat.table_name,
            },
        )
        grant_table(
            disconnect.role,
            tables.connections,
            [*READ, "dynamodb:BatchWriteItem"],
            query_indexes=[Index.CONNECTIONS_BY_USER],
        )
        grant_table(disconnect.role, tables.upload_sessions, ["dynamodb:UpdateItem"])
        # Settling a call: read it, then one transaction (call update, call message, memberships, markers).
        grant_table(disconnect.role, tables.chat, [*READ, *WRITE])

        router = self._function(
            "Router",
            "default_handler",
            "Frame router: sendMessage, subscribe, unsubscribe, signal, ping",
            {Env.CONNECTIONS_TABLE: tables.connections.table_name, Env.CHAT_TABLE: tables.chat.table_name},
        )
        # Frames: read the socket, (un)subscribe, find the other side of a call, drop sockets that are gone.
        grant_table(
            router.role,
            tables.connections,
            [*READ, "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"],
            query_indexes=[Index.CONNECTIONS_BY_USER],
        )
        # sendMessage: claim + message put + membership updates in one transaction; reads for checks.
        grant_table(router.role, tables.chat, [*READ, "dynamodb:PutItem", "dynamodb:UpdateItem"])

        processor = self._function(
            "StreamProcessor",
            "stream_handler",
            "Delivers new messages and call transitions from the chat table's stream to sockets",
            {Env.CONNECTIONS_TABLE: tables.connections.table_name, Env.CHAT_TABLE: tables.chat.table_name},
            memory_size=FANOUT_MEMORY_MB,
            timeout=Duration.seconds(60),
            # The one delivery path: capped so a runaway cannot starve the account, and guaranteed that much.
            reserved_concurrency=config.concurrency.stream_processor,
        )
        grant_table(
            processor.role,
            tables.connections,
            [*READ, "dynamodb:BatchWriteItem"],
            query_indexes=[Index.CONNECTIONS_BY_USER, Index.SUBSCRIBERS_BY_CONVERSATION],
        )
        grant_table(processor.role, tables.chat, ["dynamodb:GetItem", "dynamodb:BatchGetItem"])

        self.api = apigw.WebSocketApi(
            self,
            "WebSocketApi",
            api_name=config.prefixed("ws"),
            description="Client WebSocket API: message delivery, call signalling, QR upload notifications.",
            route_selection_expression=ROUTE_SELECTION,
            connect_route_options=apigw.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration("ConnectIntegration", connect.target)
            ),
            disconnect_route_options=apigw.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration("DisconnectIntegration", disconnect.function)
            ),
            # Every action is routed by the function itself, so an unknown one still gets an error frame;
            # the function's answer is sent back to the client (route response).
            default_route_options=apigw.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration("RouterIntegration", router.function),
                return_response=True,
            ),
        )
        self._acknowledge_route_authorization()
        self.stage = self._stage()
        self.callback_url = self.stage.callback_url
        self.url = self.stage.url

        for pusher in (router, processor):
            self._grant_manage_connections(pusher)
        self._stream_processing(processor, tables.chat)

        self.monitoring = Monitoring(self, "Monitoring", config=config, topic=data.alarm_topic, title="WebSocket")
        self.monitoring.websocket_api(self.api, self.stage, "WebSocketApi")
        self.monitoring.functions(functions_of(self))
        self.monitoring.dead_letter_queue(
            self.delivery_dlq,
            "DeliveryDlq",
            "chat-table stream records could not be delivered after retries; see the processor's logs.",
        )

        CfnOutput(self, "WebSocketUrl", value=self.stage.url, description="wss:// URL clients connect to")
        CfnOutput(self, "WebSocketCallbackUrl", value=self.stage.callback_url, description="@connections endpoint")

    # --- pieces -----------------------------------------------------------------------------

    def _function(
        self,
        construct_id: str,
        entry: str,
        description: str,
        environment: dict[str, str],
        *,
        memory_size: int | None = None,
        timeout: Duration | None = None,
        reserved_concurrency: int | None = None,
        provisioned_concurrency: int = 0,
    ) -> PythonFunction:
        return PythonFunction(
            self,
            construct_id,
            config=self.config,
            handler=f"runtime.realtime.handler.{entry}",
            service=f"realtime-{construct_id.lower()}",
            description=description,
            environment=environment,
            memory_size=memory_size,
            timeout=timeout,
            reserved_concurrency=reserved_concurrency,
            provisioned_concurrency=provisioned_concurrency,
        )

    def _stage(self) -> apigw.WebSocketStage:
        access_logs = logs.LogGroup(
            self,
            "WebSocketAccessLogs",
            retention=self.config.log_retention,
            removal_policy=self.config.removal_policy,
        )
        stage = apigw.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=self.config.name,
            auto_deploy=True,
            detailed_metrics_enabled=True,
            throttle=apigw.ThrottleSettings(
                rate_limit=self.config.http_throttle_rate, burst_limit=self.config.http_throttle_burst
            ),
        )
        # Set on the L1 (as the HTTP API's stage does): the L2 takes an interface jsii cannot build from Python.
        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigw.CfnStage)
        cfn_stage.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn, format=_ACCESS_LOG_FORMAT
        )
        return stage

    def _grant_manage_connections(self, function: PythonFunction) -> None:
        """``execute-api:ManageConnections`` on this API's stage, and where to find it."""
        grant_manage_connections(self.stage, function.role)
        function.add_environment(Env.WEBSOCKET_ENDPOINT, self.stage.callback_url)

    def _stream_processing(self, processor: PythonFunction, chat: dynamodb.ITableV2) -> None:
        """New messages and call items only; bounded retries, bisection, and a DLQ for what still fails."""
        processor.function.add_event_source(
            event_sources.DynamoEventSource(
                chat,
                starting_position=lambda_.StartingPosition.LATEST,
                batch_size=100,
                max_batching_window=Duration.millis(0),
                bisect_batch_on_error=True,
                retry_attempts=3,
                max_record_age=Duration.hours(1),
                report_batch_item_failures=True,
                on_failure=event_sources.SqsDlq(self.delivery_dlq),
                filters=[
                    lambda_.FilterCriteria.filter(
                        {
                            "eventName": lambda_.FilterRule.is_equal("INSERT"),
                            "dynamodb": {"Keys": {Attr.SK: {"S": lambda_.FilterRule.begins_with("MSG#")}}},
                        }
                    ),
                    lambda_.FilterCriteria.filter(
                        {
                            "eventName": lambda_.FilterRule.or_("INSERT", "MODIFY"),
                            "dynamodb": {
                                "Keys": {
                                    Attr.PK: {"S": lambda_.FilterRule.begins_with("CALL#")},
                                    Attr.SK: {"S": lambda_.FilterRule.is_equal("CALL")},
                                }
                            },
                        }
                    ),
                ],
            )
        )

    def _acknowledge_route_authorization(self) -> None:
        for route_key, reason in (
            (
                "$connect",
                "The connect function verifies the access token (the HTTP routes' code) or a QR session id "
                "and refuses the handshake otherwise; an authorizer cannot accept either of two credentials.",
            ),
            ("$disconnect", "Only $connect may carry an authorizer; this route ends an authenticated socket."),
            ("$default", "Only $connect may carry an authorizer; frames arrive on an authenticated socket."),
        ):
            route = self.api.node.try_find_child(f"{route_key}-Route")
            assert route is not None, route_key
            Validations.of(route).acknowledge(Acknowledgment(id="AwsSolutions-APIG4", reason=reason))

    # --- for other stacks -------------------------------------------------------------------

    def grant_notify(self, function: PythonFunction) -> None:
        """Let a function of another stack push frames to sockets (``runtime.realtime.notify``).

        It gets the connections table's name and read / delete access (lookups by user or QR
        session, and removing sockets that answer Gone), the stage's callback URL, and
        ``execute-api:ManageConnections`` on this API's stage.
        """
        grant_table(
            function.role,
            self.connections_table,
            [*READ, "dynamodb:BatchWriteItem"],
            query_indexes=[Index.CONNECTIONS_BY_USER, Index.CONNECTIONS_BY_SESSION],
        )
        function.add_environment(Env.CONNECTIONS_TABLE, self.connections_table.table_name)
        self._grant_manage_connections(function)
