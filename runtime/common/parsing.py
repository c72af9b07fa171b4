"""Request bodies and query strings parsed *inside* a route, after size limit and authentication.

Powertools' own ``Body()``/``Query()`` validation runs as the first middleware of a route,
before the resolver's global middlewares (the 413 size limit) and before route middlewares
(``require_identity``). Parsing in the route instead gives the order clients expect: a body
that is too large is 413 whatever it holds, a request without a valid token is 401 whatever
its body, and only then does a malformed body earn its 400/422. Errors are raised as
Powertools' ``RequestValidationError`` so the one mapping in ``runtime.common.http`` shapes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def _errors(error: ValidationError, location: str) -> list[dict[str, Any]]:
    return [{**e, "loc": (location, *e["loc"])} for e in error.errors(include_url=False, include_context=False)]


def parse_json(raw: str | None, model: type[M]) -> M:
    """``raw`` (a JSON document) as ``model``; malformed JSON and wrong types are 400, rule breaks 422."""
    try:
        return model.model_validate_json(raw or "")
    except ValidationError as error:
        raise RequestValidationError(_errors(error, "body"), body=None) from None


def parse_mapping(values: Mapping[str, Any] | None, model: type[M], *, location: str = "query") -> M:
    """Query-string style values (all strings) as ``model``, with pydantic's lax conversions."""
    try:
        return model.model_validate(dict(values or {}))
    except ValidationError as error:
        raise RequestValidationError(_errors(error, location), body=None) from None


def parse_body(app: APIGatewayHttpResolver, model: type[M]) -> M:
    """The current request's JSON body (base64 bodies decoded) as ``model``."""
    return parse_json(app.current_event.decoded_body, model)


def parse_query(app: APIGatewayHttpResolver, model: type[M]) -> M:
    """The current request's query string as ``model`` (a repeated key keeps its last value)."""
    return parse_mapping(app.current_event.query_string_parameters, model)
