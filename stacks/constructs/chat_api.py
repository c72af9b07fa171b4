"""Chat, calls and ride-hailing on the HTTP API: one function per domain, its routes, its grants.

Each function gets exactly the DynamoDB actions its repositories call (never Scan or
BatchWrite; DeleteItem only where calls release their active-call markers) on exactly the
indexes it queries (``stacks.constructs.table_access``: no ``<table>/index/*``). Items are
written by transactions, which need Put/Update/DeleteItem on each item. Routes verify the
bearer token in the function (routes declare ``security=BEARER``; ``runtime.common.http``),
hence no API Gateway authorizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from constructs import Construct

from runtime.common.names import Env, Index
from stacks.config import StageConfig
from stacks.constructs.python_function import PythonFunction
from stacks.constructs.table_access import grant_table
from stacks.constructs.tokens import IN_FUNCTION_AUTH_REASON, grant_token_access
from stacks.data_stack import DataStack

_ITEM_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
# Participant checks read profiles (`USER#{id}` / `PROFILE`) in one batch.
USERS_TABLE_ACTIONS = ("dynamodb:BatchGetItem",)


@dataclass(frozen=True)
class Access:
    """What one function does to the chat table: item actions, and which of table/indexes it queries."""

    actions: tuple[str, ...]
    query_indexes: tuple[str, ...]
    reads_users: bool


CHAT_ACCESS = Access(
    actions=(*_ITEM_ACTIONS, "dynamodb:Query"),
    query_indexes=(Index.USER_CONVERSATIONS, Index.MESSAGES_BY_TYPE),
    reads_users=True,
)
# Calls also delete the active-call markers (`USER#{id}` / `ACTIVECALL#{call_id}`) when a call ends.
CALLS_ACCESS = Access(
    actions=(*_ITEM_ACTIONS, "dynamodb:DeleteItem"),
    query_indexes=(Index.CONVERSATION_CALLS,),
    reads_users=False,
)
RIDES_ACCESS = Access(
    actions=(*_ITEM_ACTIONS, "dynamodb:DeleteItem", "dynamodb:Query"),
    query_indexes=(Index.MESSAGES_BY_TYPE,),
    reads_users=True,
)


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
        self, scope: Construct, construct_id: str, *, config: StageConfig, data: DataStack, http_api: apigw.HttpApi
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._data = data
        self._http_api = http_api
        self.chat = self._function(
            "Chat",
            handler="runtime.chat.handler.lambda_handler",
            description="Conversations and messages",
            routes=CHAT_ROUTES,
            access=CHAT_ACCESS,
            provisioned_concurrency=config.concurrency.provisioned_chat,
        )
        self.calls = self._function(
            "Calls",
            handler="runtime.calls.handler.lambda_handler",
            description="Voice and video calls: the call state machine and call log",
            routes=CALL_ROUTES,
            access=CALLS_ACCESS,
        )
        self.rides = self._function(
            "Rides",
            handler="runtime.rides.handler.lambda_handler",
            description="Ride-hailing messenger: bookings, messages and calls by booking code",
            routes=RIDE_ROUTES,
            access=RIDES_ACCESS,
        )

    def _function(
        self,
        name: str,
        *,
        handler: str,
        description: str,
        routes: Sequence[Route],
        access: Access,
        provisioned_concurrency: int = 0,
    ) -> PythonFunction:
        tables = self._data.tables
        function = PythonFunction(
            self,
            name,
            config=self._config,
            handler=handler,
            service=name.lower(),
            description=description,
            environment={Env.CHAT_TABLE: tables.chat.table_name},
            provisioned_concurrency=provisioned_concurrency,
        )
        grant_table(function.role, tables.chat, access.actions, query_indexes=access.query_indexes)
        if access.reads_users:
            function.add_environment(Env.USERS_TABLE, tables.users.table_name)
            grant_table(function.role, tables.users, USERS_TABLE_ACTIONS)
        grant_token_access(function, secret=self._data.jwt_secret, config=self._config)

        integration = integrations.HttpLambdaIntegration(f"{name}Integration", function.target)
        for route in routes:
            for added in self._http_api.add_routes(path=route.path, methods=[route.method], integration=integration):
                Validations.of(added).acknowledge(
                    Acknowledgment(id="AwsSolutions-APIG4", reason=IN_FUNCTION_AUTH_REASON)
                )
        return function
