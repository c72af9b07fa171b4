"""The api stack: the HTTP API (API Gateway v2) and the functions behind its routes."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, CfnOutput, Stack, Validations
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config import StageConfig
from stacks.constructs.auth_api import AuthApi
from stacks.constructs.chat_api import ChatApi
from stacks.constructs.monitoring import Monitoring, functions_of
from stacks.constructs.python_function import PythonFunction
from stacks.constructs.uploads_api import UploadsApi
from stacks.data_stack import DataStack
from stacks.realtime_stack import RealtimeStack

_ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
    '"requestTime":"$context.requestTime","httpMethod":"$context.httpMethod",'
    '"routeKey":"$context.routeKey","status":"$context.status","protocol":"$context.protocol",'
    '"responseLength":"$context.responseLength","integrationLatency":"$context.integrationLatency",'
    '"integrationError":"$context.integrationErrorMessage"}'
)


class ApiStack(Stack):
    """HTTP routes for clients; the functions are grouped by domain."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        data: DataStack,
        realtime: RealtimeStack,
        web_origins: Sequence[str] = (),
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.config = config
        self.http_api = apigw.HttpApi(
            self,
            "HttpApi",
            api_name=config.prefixed("http"),
            description="Client HTTP API: auth, chat, calls, rides, uploads, images.",
            cors_preflight=apigw.CorsPreflightOptions(
                allow_origins=[*config.cors_allowed_origins, *web_origins],
                allow_methods=[apigw.CorsHttpMethod.ANY],
                allow_headers=["authorization", "content-type", "x-requested-with"],
                max_age=None,
            ),
        )
        self._configure_stage()

        health = PythonFunction(
            self,
            "Health",
            config=config,
            handler="runtime.health.handler.lambda_handler",
            service="health",
            description="Liveness probe and OpenAPI document of the HTTP API",
            memory_size=256,
        )
        health_integration = integrations.HttpLambdaIntegration("HealthIntegration", health.function)
        for path, reason in (
            ("/health", "Liveness probe is public by design."),
            ("/openapi.json", "The API description is public documentation for client developers."),
        ):
            for route in self.http_api.add_routes(
                path=path, methods=[apigw.HttpMethod.GET], integration=health_integration
            ):
                Validations.of(route).acknowledge(Acknowledgment(id="AwsSolutions-APIG4", reason=reason))

        self.uploads = UploadsApi(self, "UploadsApi", config=config, data=data, http_api=self.http_api)
        self.auth = AuthApi(self, "AuthApi", config=config, data=data, http_api=self.http_api)
        self.chat = ChatApi(self, "ChatApi", config=config, data=data, http_api=self.http_api)

        self.url = self.http_api.api_endpoint
        CfnOutput(self, "HttpApiUrl", value=self.http_api.api_endpoint, description="Base URL of the HTTP API")

        self.monitoring = Monitoring(self, "Monitoring", config=config, topic=data.alarm_topic, title="HTTP API")
        self.monitoring.http_api(self.http_api, "HttpApi")
        self.monitoring.functions(functions_of(self))

    def _configure_stage(self) -> None:
        """Access logs and throttling on the default stage (the L2 construct exposes neither)."""
        log_group = logs.LogGroup(
            self,
            "HttpApiAccessLogs",
            retention=self.config.log_retention,
            removal_policy=self.config.removal_policy,
        )
        stage = self.http_api.default_stage
        assert stage is not None
        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigw.CfnStage)
        cfn_stage.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(
            destination_arn=log_group.log_group_arn, format=_ACCESS_LOG_FORMAT
        )
        cfn_stage.default_route_settings = apigw.CfnStage.RouteSettingsProperty(
            throttling_rate_limit=self.config.http_throttle_rate,
            throttling_burst_limit=self.config.http_throttle_burst,
            detailed_metrics_enabled=True,
        )
