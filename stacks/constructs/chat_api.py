"""Chat, calls and ride-hailing on the HTTP API: one function per domain, its routes, its grants.

Each function gets exactly the DynamoDB actions its repositories call (no Scan, no Delete,
no BatchWrite) on exactly the indexes it queries. ``table.grant()`` would add
``<table>/index/*``; naming the indexes instead is narrower and needs no wildcard
acknowledgment. Items are written by transactions, which need Put/UpdateItem on each item.
Routes verify the bearer token in the function (``runtime.common.http.require_identity``),
hence no API Gateway authorizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from runtime.common.names import Env, Index
from stacks.config import StageConfig
from stacks.constructs.python_function import PythonFunction
from stacks.constructs.tokens import grant_token_access

CHAT_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
QUERY_ACTIONS = ("dynamodb:Query",)
# Participant checks read profiles (`USER#{id}` / `PROFILE`) in one batch.
USERS_TABLE_ACTIONS = ("dynamodb:BatchGetItem",)

IN_FUNCTION_AUTH = (
    "The function verifies the bearer token itself (runtime.common.http.require_identity) so that a "
    "missing or bad token is the contract's 401 with a JSON error and CORS headers, which an HTTP API "
    "authorizer cannot answer."
)

# In a function's ``queries``: the table itself rather than one of its indexes.
TABLE = ""

_GET = apigw.HttpMethod.GET
_POST = apigw.HttpMethod.POST


@dataclass(frozen=True)
class Route:
    method: apigw.HttpMethod
    path: str


CHAT_ROUTES = (
    Route(_POST, "/conversations"),
    Route(_GET, "/conversations"),
    Route(_POST, "/conversations/{conversation_id}/messages"),
    Route(_GET, "/conversations/{conversation_id}/messages"),
)
CALL_ROUTES = (
    Route(_POST, "/conversations/{conversation_id}/calls"),
    Route(_GET, "/conversations/{conversation_id}/calls"),
    Route(_POST, "/calls/{call_id}/accept"),
    Route(_POST, "/calls/{call_id}/reject"),
    Route(_POST, "/calls/{call_id}/end"),
)
RIDE_ROUTES = (
    Route(_POST, "/api/v1/bookings"),
    Route(_POST, "/api/v1/send_message"),
    Route(_POST, "/api/v1/make_call"),
    Route(_GET, "/api/v1/get_message"),
)


class ChatApi(Construct):
    """The chat, calls and rides functions behind their routes of ``http_api``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        http_api: apigw.HttpApi,
        chat_table: dynamodb.ITableV2,
        users_table: dynamodb.ITableV2,
        jwt_secret: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._http_api = http_api
        self._chat_table = chat_table
        self._users_table = users_table
        self._jwt_secret = jwt_secret

        self.chat = self._function(
            "Chat",
            handler="runtime.chat.handler.lambda_handler",
            description="Conversations and messages",
            routes=CHAT_ROUTES,
            queries=(TABLE, Index.USER_CONVERSATIONS, Index.MESSAGES_BY_TYPE),
            reads_users=True,
        )
        self.calls = self._function(
            "Calls",
            handler="runtime.calls.handler.lambda_handler",
            description="Voice and video calls: the call state machine and call log",
            routes=CALL_ROUTES,
            queries=(Index.CONVERSATION_CALLS,),
            reads_users=False,
        )
        self.rides = self._function(
            "Rides",
            handler="runtime.rides.handler.lambda_handler",
            description="Ride-hailing messenger: bookings, messages and calls by booking code",
            routes=RIDE_ROUTES,
            queries=(TABLE, Index.MESSAGES_BY_TYPE),
            reads_users=True,
        )

    def _function(
        self,
        name: str,
        *,
        handler: str,
        description: str,
        routes: Sequence[Route],
        queries: Sequence[str],
        reads_users: bool,
    ) -> PythonFunction:
        function = PythonFunction(
            self,
            name,
            config=self._config,
            handler=handler,
            service=name.lower(),
            description=description,
            environment={Env.CHAT_TABLE: self._chat_table.table_name},
        )
        chat_arn = self._chat_table.table_arn
        iam.Grant.add_to_principal(grantee=function.role, actions=list(CHAT_TABLE_ACTIONS), resource_arns=[chat_arn])
        iam.Grant.add_to_principal(
            grantee=function.role,
            actions=list(QUERY_ACTIONS),
            resource_arns=[chat_arn if name == TABLE else f"{chat_arn}/index/{name}" for name in queries],
        )
        if reads_users:
            function.add_environment(Env.USERS_TABLE, self._users_table.table_name)
            iam.Grant.add_to_principal(
                grantee=function.role,
                actions=list(USERS_TABLE_ACTIONS),
                resource_arns=[self._users_table.table_arn],
            )
        grant_token_access(function, secret=self._jwt_secret, config=self._config)

        integration = integrations.HttpLambdaIntegration(f"{name}Integration", function.function)
        for route in routes:
            for added in self._http_api.add_routes(path=route.path, methods=[route.method], integration=integration):
                Validations.of(added).acknowledge(Acknowledgment(id="AwsSolutions-APIG4", reason=IN_FUNCTION_AUTH))
        return function
