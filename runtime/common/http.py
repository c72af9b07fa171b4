"""The HTTP side every API function shares: one resolver setup, one error mapping.

Contract (CONTRACT.md): JSON in and out, CORS on every response, errors as
``{"error": "<human readable>"}``; malformed JSON or a wrong field type is 400, a well-formed
body that fails validation is 422, unknown routes 404, and an internal failure a 500 that
says nothing about internals while the log line carries the traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from pydantic import BaseModel, ConfigDict

from runtime.common.errors import DomainError, RateLimitedError, UnauthorizedError
from runtime.common.identity import Identity
from runtime.common.observability import logger
from runtime.common.tokens import bearer_token, token_service

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
    from aws_lambda_powertools.event_handler.openapi import params
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

Middleware = Callable[[APIGatewayHttpResolver, "NextMiddleware"], Response[Any]]

JSON = "application/json"
# JSON bodies of this API are small; anything larger is refused before parsing (413).
MAX_BODY_BYTES = 64 * 1024
NOT_JSON = "request body must be JSON (Content-Type: application/json)"

# pydantic error types that mean "this is not the shape we asked for" rather than
# "the shape is right but a value breaks a rule".
_TYPE_ERRORS = ("json_invalid", "model_attributes_type", "dict_type", "model_type")


class ErrorBody(BaseModel):
    """The body of every error response."""

    # Only the OpenAPI document uses it (responses are built as dicts), so build it only then.
    model_config = ConfigDict(defer_build=True)

    error: str


def error_response(status: HTTPStatus | int, message: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(status_code=int(status), content_type=JSON, body={"error": message}, headers=headers)


def answers(status: HTTPStatus, model: type[BaseModel], description: str) -> dict[int, OpenAPIResponse]:
    """A route's documented answer (``responses=``), for statuses other than 200 or untyped bodies."""
    return {int(status): {"description": description, "content": {JSON: {"model": model}}}}


def _is_missing_body(error: dict[str, Any]) -> bool:
    """No body, or a JSON ``null`` one: the request is not the shape asked for (400), not a 422."""
    return error.get("type") == "missing" and tuple(error.get("loc", ())) == ("body",)


def _is_type_error(error: dict[str, Any]) -> bool:
    kind = str(error.get("type", ""))
    return kind in _TYPE_ERRORS or kind.endswith("_type") or kind.endswith("_parsing") or _is_missing_body(error)


def _describe(errors: Sequence[dict[str, Any]]) -> str:
    parts = []
    for error in errors[:5]:
        location = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
        message = str(error.get("msg", "is not valid"))
        if error.get("type") == "json_invalid":
            return "request body is not valid JSON"
        if _is_missing_body(error):
            return "request body must be a JSON object"
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts) or "request is not valid"


def _body_too_large(app: APIGatewayHttpResolver) -> bool:
    body = app.current_event.body or ""
    return len(body) > MAX_BODY_BYTES * (4 / 3 if app.current_event.is_base64_encoded else 1)


def _is_json_or_empty(app: APIGatewayHttpResolver) -> bool:
    """A body is read only as JSON: no content type, or ``application/json`` (with any parameters).

    Powertools would also parse forms and multipart bodies, and crashes (a 500) on a multipart
    type without a boundary; this API takes none of them, so any other type is refused first.
    """
    if not app.current_event.body:
        return True
    content_type = (app.current_event.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    return content_type in ("", JSON)


def _body_is_text(app: APIGatewayHttpResolver) -> bool:
    """API Gateway base64-encodes a body that is not valid UTF-8; Powertools would decode it to text
    and crash on the bytes (a 500). Such a body cannot be JSON: it is the caller's 400."""
    try:
        _ = app.current_event.decoded_body
    except ValueError:  # binascii.Error and UnicodeDecodeError are both ValueErrors
        return False
    return True


def _authenticate(app: APIGatewayHttpResolver) -> None:
    """Verify the bearer token (the same code `$connect` uses) and remember who is calling.

    Verification happens in the function rather than in an API Gateway authorizer because an
    HTTP API authorizer can only answer 403 with its own body, and the contract promises 401
    with ``{"error": ...}`` and CORS headers.
    """
    if isinstance(app.context.get("identity"), Identity):
        return
    token = bearer_token(app.current_event.headers.get("authorization"))
    app.append_context(identity=token_service().verify(token))


def _deferred_validation() -> tuple[Middleware, Middleware]:
    """Powertools' request and response validation, built when the first request needs them.

    Building them imports Powertools' OpenAPI layer (its field, dependant and encoder modules
    and the parts of pydantic they use) that only a request needs, so a function pays it on
    its first request rather than in every import of a handler module. Both run exactly as
    Powertools would have run them: same classes, same arguments, same place in the chain.
    """
    built: list[Any] = []

    def middlewares() -> list[Any]:
        if not built:
            from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
                OpenAPIRequestValidationMiddleware,
                OpenAPIResponseValidationMiddleware,
            )

            built.append(OpenAPIRequestValidationMiddleware())
            built.append(OpenAPIResponseValidationMiddleware(validation_serializer=None))
        return built

    def request_validation(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        response: Response[Any] = middlewares()[0](app, next_middleware)
        return response

    def response_validation(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        response: Response[Any] = middlewares()[1](app, next_middleware)
        return response

    return request_validation, response_validation


def _enable_validation(app: APIGatewayHttpResolver) -> None:
    """Turn on Powertools' validation with its middlewares deferred, and our checks ahead of it.

    Powertools always validates the request first, before any middleware of ours, so a bad
    token with a bad body would answer 400 and an oversize body would be parsed before being
    refused. The contract wants 401 for a bad token and 413 for a large body whatever else is
    wrong, so both checks wrap the validation middleware itself. A route is authenticated
    exactly when it declares ``security=BEARER``: one declaration both enforces the check and
    documents it in the OpenAPI document.

    The resolver keeps its validation middlewares in two attributes that it fills at
    construction (``enable_validation=True``) or, when they are missing, on a route's first
    request; setting them here, with the flag, is the same state without the imports.
    (Tested against the pinned Powertools version.)
    """
    validation, response_validation = _deferred_validation()

    def checked_validation(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        if _body_too_large(app):
            return error_response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request body is too large")
        route = app.context.get("_route")
        if route is not None and route.security:
            _authenticate(app)
        if route is not None and route.dependant.body_params and not _is_json_or_empty(app):
            return error_response(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, NOT_JSON)
        if not _body_is_text(app):
            return error_response(HTTPStatus.BAD_REQUEST, "request body is not valid JSON")
        return validation(app, next_middleware)

    app._enable_validation = True
    app._request_validation_middleware = checked_validation  # type: ignore[assignment]
    app._response_validation_middleware = response_validation  # type: ignore[assignment]


def create_resolver(*, allow_origin: str = "*") -> APIGatewayHttpResolver:
    """An HTTP API resolver with validation, CORS, size limits and the contract's error shapes."""
    app = APIGatewayHttpResolver(
        cors=CORSConfig(
            allow_origin=allow_origin,
            allow_headers=["Authorization", "Content-Type", "X-Requested-With"],
            max_age=300,
        ),
    )
    _enable_validation(app)

    @app.exception_handler(DomainError)
    def _domain_error(error: DomainError) -> Response[Any]:
        if error.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            logger.warning("dependency unavailable", extra={"error": error.message})
        if isinstance(error, RateLimitedError):
            return error_response(error.status, error.message, {"Retry-After": str(error.retry_after_seconds)})
        return error_response(error.status, error.message)

    @app.exception_handler(RequestValidationError)
    def _validation_error(error: RequestValidationError) -> Response[Any]:
        errors = list(error.errors())
        status = HTTPStatus.BAD_REQUEST if any(_is_type_error(e) for e in errors) else HTTPStatus.UNPROCESSABLE_ENTITY
        return error_response(status, _describe(errors))

    @app.exception_handler(RequestUnsupportedContentType)
    def _not_json(_: RequestUnsupportedContentType) -> Response[Any]:
        # Powertools reads a body only as JSON, a form or multipart; anything else would be a 500.
        return error_response(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, NOT_JSON)

    @app.not_found
    def _not_found(_: Exception) -> Response[Any]:
        return error_response(HTTPStatus.NOT_FOUND, "not found")

    @app.exception_handler(Exception)
    def _internal_error(_: Exception) -> Response[Any]:
        logger.exception("unhandled error")
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal server error")

    return app


def Body(**options: Any) -> params.Body:
    """Powertools' ``Body()`` marker for a route parameter, imported when it is first used.

    Route signatures are strings (``from __future__ import annotations``) that Powertools
    evaluates in the handler's module when a route first validates a request, so the marker
    (and the OpenAPI layer it belongs to) is imported then rather than at cold start.
    """
    from aws_lambda_powertools.event_handler.openapi.params import Body as PowertoolsBody

    return PowertoolsBody(**options)


def Query(**options: Any) -> params.Query:
    """Powertools' ``Query()`` marker, imported when first used (see ``Body``)."""
    from aws_lambda_powertools.event_handler.openapi.params import Query as PowertoolsQuery

    return PowertoolsQuery(**options)


def Path(**options: Any) -> params.Path:
    """Powertools' ``Path()`` marker, imported when first used (see ``Body``)."""
    from aws_lambda_powertools.event_handler.openapi.params import Path as PowertoolsPath

    return PowertoolsPath(**options)


# ``security=BEARER`` on a route: the token is verified before anything else, and documented.
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def current_identity(app: APIGatewayHttpResolver) -> Identity:
    """The caller whose bearer token was verified for this request (routes declaring ``security=BEARER``)."""
    identity = app.context.get("identity")
    if not isinstance(identity, Identity):
        raise UnauthorizedError("authentication required")
    return identity
