"""Wiring for functions that sign or verify access tokens (HTTP routes and `$connect` alike)."""

from __future__ import annotations

from aws_cdk import aws_secretsmanager as secretsmanager

from runtime.common.names import Env
from stacks.config import StageConfig
from stacks.constructs.python_function import PythonFunction

TOKEN_ISSUER = "messaging-platform"
# Why authenticated HTTP routes carry no API Gateway authorizer (cdk-nag AwsSolutions-APIG4).
IN_FUNCTION_AUTH_REASON = (
    "Bearer tokens are verified in the function, before anything else (routes declaring "
    "security=BEARER, runtime.common.http), so that a missing or bad token is the contract's 401 "
    "with a JSON error and CORS headers, which an HTTP API authorizer cannot answer."
)
TOKEN_AUDIENCE = "messaging-clients"


def grant_token_access(function: PythonFunction, *, secret: secretsmanager.ISecret, config: StageConfig) -> None:
    """Give ``function`` the signing key (read only) and the settings that go with it."""
    secret.grant_read(function.role)
    function.add_environment(Env.JWT_SECRET_ARN, secret.secret_arn)
    function.add_environment(Env.TOKEN_ISSUER, TOKEN_ISSUER)
    function.add_environment(Env.TOKEN_AUDIENCE, TOKEN_AUDIENCE)
    function.add_environment(Env.ACCESS_TOKEN_TTL_SECONDS, str(config.access_token_ttl_seconds))
