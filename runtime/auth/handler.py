"""The auth function: register / login / profile / email codes, and `GET /users?email=`.

Only parsing and response shaping happen here; the rules are in ``logic``. Public routes
(register, login, codes) take no token; the others verify the bearer token in-function
(``AUTHENTICATED``) so a bad token is the contract's 401 with CORS headers.

The tracer never records responses (``capture_response=False``): they carry access tokens.
"""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Any, TypeVar

import boto3
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from runtime.auth.logic import AuthService, CodeHasher, CodePolicy
from runtime.auth.mailer import SesMailer
from runtime.auth.models import (
    AuthOut,
    EmailRequest,
    LoginRequest,
    MessageOut,
    PublicUserOut,
    RegisterRequest,
    ResetPasswordRequest,
    UpdateProfileRequest,
    UserOut,
    VerifiedOut,
    VerifyEmailRequest,
)
from runtime.auth.passwords import HashParameters, PasswordHasher
from runtime.auth.repository import UserRepository
from runtime.auth.settings import AuthSettings
from runtime.common.errors import UnauthorizedError
from runtime.common.http import AUTHENTICATED, JSON, create_resolver, current_identity
from runtime.common.observability import logger, metrics, tracer
from runtime.common.settings import load
from runtime.common.tokens import TokenSettings, load_key_ring, token_service

app = create_resolver()
M = TypeVar("M", bound=BaseModel)

CODE_SENT = "if the address belongs to an account, a code is on its way"


# --- wiring (clients and hashers once per container, the service per request) -------------


@cache
def _dynamodb() -> Any:
    return boto3.client("dynamodb")


@cache
def _ses() -> Any:
    return boto3.client("ses")


@cache
def _hasher(parameters: HashParameters) -> PasswordHasher:
    return PasswordHasher(parameters)


def auth_service() -> AuthService:
    settings = load(AuthSettings)
    keys = load_key_ring(load(TokenSettings).jwt_secret_arn)
    return AuthService(
        store=UserRepository(_dynamodb(), settings.users_table),
        passwords=_hasher(settings.hash_parameters()),
        tokens=token_service(),
        mailer=SesMailer(_ses(), settings.mail_from),
        codes=CodeHasher.from_secrets([key.secret for key in (keys.current, *keys.previous)]),
        policy=CodePolicy(ttl_seconds=settings.code_ttl_seconds),
    )


def _parsed(model: type[M], data: Any) -> M:
    """Validate after authentication, with the resolver's 400 / 422 mapping.

    Powertools validates declared bodies and queries before any route middleware runs, so a
    caller without a valid token would learn about our validation rules before being told to
    sign in; authenticated routes therefore validate here, once ``AUTHENTICATED`` has passed.
    """
    try:
        return model.model_validate(data)
    except ValidationError as error:
        errors = [
            # pydantic names the model when the input is not an object; clients get no internal names.
            {**e, "msg": "must be a JSON object"} if not e["loc"] else e
            for e in error.errors(include_url=False, include_input=False, include_context=False)
        ]
        raise RequestValidationError(errors) from None


def _json_body() -> Any:
    try:
        return app.current_event.json_body
    except ValueError:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body",), "msg": "invalid JSON"}]) from None


def _json(status: HTTPStatus, body: BaseModel) -> Response[Any]:
    return Response(status_code=int(status), content_type=JSON, body=body.model_dump(mode="json"))


# --- public routes ------------------------------------------------------------------------


@app.post("/auth/register")
@app.post("/auth/signup")
def register(body: RegisterRequest) -> Response[Any]:
    session = auth_service().register(
        email=body.email, password=body.password, full_name=body.full_name, tenant_id=body.tenant_id
    )
    metrics.add_metric(name="UserRegistered", unit=MetricUnit.Count, value=1)
    return _json(HTTPStatus.CREATED, AuthOut.of(session))


@app.post("/auth/login")
@app.post("/auth/signin")
def login(body: LoginRequest) -> Response[Any]:
    try:
        session = auth_service().login(email=body.email, password=body.password)
    except UnauthorizedError:
        metrics.add_metric(name="LoginFailed", unit=MetricUnit.Count, value=1)
        raise
    return _json(HTTPStatus.OK, AuthOut.of(session))


@app.post("/auth/verify-email")
def verify_email(body: VerifyEmailRequest) -> Response[Any]:
    user = auth_service().verify_email(email=body.email, code=body.code)
    return _json(HTTPStatus.OK, VerifiedOut(email=user.email, email_verified=user.email_verified))


@app.post("/auth/resend-verification")
def resend_verification(body: EmailRequest) -> Response[Any]:
    auth_service().resend_verification(email=body.email)
    return _json(HTTPStatus.ACCEPTED, MessageOut(message=CODE_SENT))


@app.post("/auth/forgot-password")
def forgot_password(body: EmailRequest) -> Response[Any]:
    auth_service().forgot_password(email=body.email)
    return _json(HTTPStatus.ACCEPTED, MessageOut(message=CODE_SENT))


@app.post("/auth/reset-password")
def reset_password(body: ResetPasswordRequest) -> Response[Any]:
    auth_service().reset_password(email=body.email, code=body.code, new_password=body.new_password)
    return _json(HTTPStatus.OK, MessageOut(message="password changed; sign in with the new password"))


# --- authenticated routes -----------------------------------------------------------------


@app.get("/auth/me", middlewares=AUTHENTICATED)
def me() -> Response[Any]:
    user = auth_service().profile(current_identity(app))
    return _json(HTTPStatus.OK, UserOut.of(user))


@app.patch("/auth/me", middlewares=AUTHENTICATED)
def update_me() -> Response[Any]:
    body = _parsed(UpdateProfileRequest, _json_body())
    user = auth_service().update_profile(current_identity(app), full_name=body.full_name)
    return _json(HTTPStatus.OK, UserOut.of(user))


@app.get("/users", middlewares=AUTHENTICATED)
def find_user() -> Response[Any]:
    query = _parsed(EmailRequest, app.current_event.query_string_parameters or {})
    user = auth_service().find_colleague(current_identity(app), email=query.email)
    return _json(HTTPStatus.OK, PublicUserOut.of(user))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
