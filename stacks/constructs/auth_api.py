"""The auth function and its routes: accounts, sign-in, email codes, and `GET /users?email=`."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_ses as ses
from constructs import Construct

from runtime.common.names import Env
from stacks.config import StageConfig
from stacks.constructs.python_function import PythonFunction
from stacks.constructs.tokens import IN_FUNCTION_AUTH_REASON, grant_token_access
from stacks.data_stack import DataStack

_PUBLIC_REASON = (
    "Signing up, signing in and the email-code routes are how a caller without a token gets one; "
    "they are public by design, rate-limited by the stage throttle, bounded code guesses and argon2 cost."
)

_POST = apigw.HttpMethod.POST
PUBLIC_ROUTES: tuple[tuple[str, apigw.HttpMethod], ...] = (
    ("/auth/register", _POST),
    ("/auth/signup", _POST),
    ("/auth/login", _POST),
    ("/auth/signin", _POST),
    ("/auth/verify-email", _POST),
    ("/auth/resend-verification", _POST),
    ("/auth/forgot-password", _POST),
    ("/auth/reset-password", _POST),
)
AUTHENTICATED_ROUTES: tuple[tuple[str, apigw.HttpMethod], ...] = (
    ("/auth/me", apigw.HttpMethod.GET),
    ("/auth/me", apigw.HttpMethod.PATCH),
    ("/users", apigw.HttpMethod.GET),
)
USERS_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
# argon2id at OWASP's parameters is CPU-bound and single-lane; Lambda's CPU share grows with
# memory, and at 1024 MB a hash takes about a fifth of a second instead of a third at 512 MB.
AUTH_MEMORY_MB = 1024


class AuthApi(Construct):
    """One function for the auth domain, with exactly the routes it serves."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, data: DataStack, http_api: apigw.HttpApi
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = PythonFunction(
            self,
            "Auth",
            config=config,
            handler="runtime.auth.handler.lambda_handler",
            service="auth",
            description="Accounts, sign-in, email verification and password reset",
            environment={
                Env.USERS_TABLE: data.tables.users.table_name,
                Env.MAIL_FROM: config.mail_from,
            },
            memory_size=max(AUTH_MEMORY_MB, config.lambda_memory_mb),
            provisioned_concurrency=config.concurrency.provisioned_auth,
        )
        role = self.function.role
        # Exactly the item operations the repository makes (transactions need the same per item):
        # no Scan, no Query, no batch.
        data.tables.users.grant(role, *USERS_TABLE_ACTIONS)
        # Signs tokens, and derives the key of the one-time codes' HMAC from the same secret.
        grant_token_access(self.function, secret=data.jwt_secret, config=config)

        # The sender address; SES mails it a confirmation link at deploy, and sending works once clicked.
        self.mail_from = ses.EmailIdentity(self, "MailFrom", identity=ses.Identity.email(config.mail_from))
        self.mail_from.grant_send_email(role)

        integration = integrations.HttpLambdaIntegration("AuthIntegration", self.function.target)
        for routes, reason in ((PUBLIC_ROUTES, _PUBLIC_REASON), (AUTHENTICATED_ROUTES, IN_FUNCTION_AUTH_REASON)):
            for path, method in routes:
                for route in http_api.add_routes(path=path, methods=[method], integration=integration):
                    Validations.of(route).acknowledge(Acknowledgment(id="AwsSolutions-APIG4", reason=reason))
