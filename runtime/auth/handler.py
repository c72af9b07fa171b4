"""The auth function: register / login / profile / email codes, and `GET /users?email=`.

Only parsing and response shaping happen here; the rules are in ``logic``. Public routes
(register, login, codes) take no token; the others declare ``security=BEARER``, so the bearer
token is verified in-function before anything else and a bad token is the contract's 401.

The tracer never records responses (``capture_response=False``): they carry access tokens.
"""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

import boto3
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from runtime import startup_complete
from runtime.auth.logic import AuthService, CodeHasher, CodePolicy
from runtime.auth.mailer import SesMailer
from runtime.auth.models import (
    AuthOut,
    EmailLookup,
    EmailRequest,
    LoginRequest,
    NoticeOut,
    PublicUserOut,
    RegisterRequest,
    ResetPasswordRequest,
    UpdateProfileRequest,
    UserOut,
    VerifiedOut,
    VerifyEmailRequest,
)
from runtime.auth.passwords import HashParameters, PasswordHasher
from runtime.auth.ratelimit import LOGIN, RESET, Policy, RateLimiter
from runtime.auth.repository import AttemptCounter, UserRepository
from runtime.auth.settings import AuthSettings
from runtime.common.errors import UnauthorizedError
from runtime.common.http import BEARER, JSON, ErrorBody, Query, create_resolver, current_identity
from runtime.common.observability import logger, metrics, tracer
from runtime.common.settings import load
from runtime.common.tokens import TokenSettings, load_key_ring, token_service

app = create_resolver()

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
        policy=CodePolicy(
            ttl_seconds=settings.code_ttl_seconds, response_floor_seconds=settings.code_response_floor_ms / 1000
        ),
    )


def rate_limiter() -> RateLimiter:
    return RateLimiter(AttemptCounter(_dynamodb(), load(AuthSettings).users_table))


def _limit(policy: Policy, email: str) -> None:
    """Count this attempt for the email and for the caller's address (API Gateway's view of it)."""
    address = app.current_event.request_context.http.source_ip
    rate_limiter().check(policy, account=email, address=address or None)


def _json(status: HTTPStatus, body: BaseModel) -> Response[Any]:
    return Response(status_code=int(status), content_type=JSON, body=body.model_dump(mode="json"))


def _answers(status: HTTPStatus, model: type[BaseModel], description: str) -> dict[int, OpenAPIResponse]:
    """The OpenAPI entry of a route whose success is not a plain 200."""
    return {int(status): {"description": description, "content": {JSON: {"model": model}}}}


# --- public routes ------------------------------------------------------------------------


_LIMITED = _answers(
    HTTPStatus.TOO_MANY_REQUESTS,
    ErrorBody,
    "Too many attempts for this account or from this address; Retry-After says when to try again",
)
_REGISTERED = _answers(HTTPStatus.CREATED, AuthOut, "Account created and signed in")
_SIGNED_IN = {
    **_answers(HTTPStatus.OK, AuthOut, "Signed in"),
    **_answers(HTTPStatus.UNAUTHORIZED, ErrorBody, "Wrong email or password (one answer for both)"),
    **_LIMITED,
}
_CODE_SENT = _answers(HTTPStatus.ACCEPTED, NoticeOut, "Accepted (the same answer whether or not the email is known)")


@app.post("/auth/register", responses=_REGISTERED)
@app.post("/auth/signup", responses=_REGISTERED)
def register(body: RegisterRequest) -> Response[Any]:
    session = auth_service().register(
        email=body.email, password=body.password, full_name=body.full_name, tenant_id=body.tenant_id
    )
    metrics.add_metric(name="UserRegistered", unit=MetricUnit.Count, value=1)
    return _json(HTTPStatus.CREATED, AuthOut.of(session))


@app.post("/auth/login", responses=_SIGNED_IN)
@app.post("/auth/signin", responses=_SIGNED_IN)
def login(body: LoginRequest) -> AuthOut:
    _limit(LOGIN, body.email)
    try:
        session = auth_service().login(email=body.email, password=body.password)
    except UnauthorizedError:
        metrics.add_metric(name="LoginFailed", unit=MetricUnit.Count, value=1)
        raise
    return AuthOut.of(session)


@app.post("/auth/verify-email")
def verify_email(body: VerifyEmailRequest) -> VerifiedOut:
    user = auth_service().verify_email(email=body.email, code=body.code)
    return VerifiedOut(email=user.email, email_verified=user.email_verified)


@app.post("/auth/resend-verification", responses=_CODE_SENT)
def resend_verification(body: EmailRequest) -> Response[Any]:
    auth_service().resend_verification(email=body.email)
    return _json(HTTPStatus.ACCEPTED, NoticeOut(message=CODE_SENT))


@app.post("/auth/forgot-password", responses={**_CODE_SENT, **_LIMITED})
def forgot_password(body: EmailRequest) -> Response[Any]:
    _limit(RESET, body.email)
    auth_service().forgot_password(email=body.email)
    return _json(HTTPStatus.ACCEPTED, NoticeOut(message=CODE_SENT))


@app.post("/auth/reset-password", responses=_LIMITED)
def reset_password(body: ResetPasswordRequest) -> NoticeOut:
    _limit(RESET, body.email)
    auth_service().reset_password(email=body.email, code=body.code, new_password=body.new_password)
    return NoticeOut(message="password changed; sign in with the new password")


# --- authenticated routes -----------------------------------------------------------------


@app.get("/auth/me", security=BEARER)
def me() -> UserOut:
    return UserOut.of(auth_service().profile(current_identity(app)))


@app.patch("/auth/me", security=BEARER)
def update_me(body: UpdateProfileRequest) -> UserOut:
    return UserOut.of(auth_service().update_profile(current_identity(app), full_name=body.full_name))


@app.get("/users", security=BEARER)
def find_user(email: Annotated[EmailLookup, Query()]) -> PublicUserOut:
    return PublicUserOut.of(auth_service().find_colleague(current_identity(app), email=email))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


startup_complete()  # the last statement: see runtime/__init__.py
