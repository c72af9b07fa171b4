"""The ride-hailing routes (`runtime.rides.handler.lambda_handler`), over HTTP or invoked directly.

A direct invocation (``aws lambda invoke`` with ``{"function_type": ..., "access_token": ...,
...fields}``) is adapted into the HTTP request it stands for and resolved by the same
resolver: the same size limit, token check, validation, logic and error mapping, with no
second path to drift. Its answer is ``{"statusCode": <int>, "body": <object>}``. Why it
carries an access token rather than trusting the IAM principal: docs/rides.md.
"""

from __future__ import annotations

import json
import time
import uuid
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from runtime import startup_complete
from runtime.calls.logic import CallService
from runtime.calls.repository import CallRepository
from runtime.chat.logic import ChatService
from runtime.chat.repository import ChatRepository, UserDirectory
from runtime.common.http import BEARER, JSON, Body, Query, answers, create_resolver, current_identity
from runtime.common.observability import logger, metrics, tracer
from runtime.common.settings import FunctionSettings, load
from runtime.rides.logic import RideService, ride_message_view
from runtime.rides.models import (
    BookingOut,
    CreateBookingRequest,
    GetMessagesQuery,
    MakeCallRequest,
    RideCallOut,
    RideMessageOut,
    RideMessagePage,
    SendRideMessageRequest,
)
from runtime.rides.repository import BookingRepository

app = create_resolver()

BASE = "/api/v1"
# function_type -> (method, path) of the route a direct invocation stands for.
DIRECT_ROUTES = {
    "send_message": ("POST", f"{BASE}/send_message"),
    "make_call": ("POST", f"{BASE}/make_call"),
    "get_message": ("GET", f"{BASE}/get_message"),
}
# Fields of a direct invocation that are about the invocation, not the request body.
_ENVELOPE = ("function_type", "access_token")


class RideSettings(FunctionSettings):
    chat_table: str
    users_table: str


@cache
def ride_service() -> RideService:
    settings = load(RideSettings)
    chat_repository = ChatRepository(settings.chat_table)
    chat = ChatService(chat_repository, UserDirectory(settings.users_table))
    return RideService(chat, CallService(chat, CallRepository(chat_repository)), BookingRepository(chat_repository))


def _created(created: bool) -> HTTPStatus:
    return HTTPStatus.CREATED if created else HTTPStatus.OK


@app.post(
    f"{BASE}/bookings",
    security=BEARER,
    responses={
        **answers(HTTPStatus.CREATED, BookingOut, "Booking created"),
        **answers(HTTPStatus.OK, BookingOut, "The same booking again: the existing one, unchanged"),
    },
)
def create_booking(request: Annotated[CreateBookingRequest, Body()]) -> Response[Any]:
    booking, created = ride_service().create_booking(
        current_identity(app), request.booking_code, request.driver_id, request.passenger_id
    )
    return Response(status_code=_created(created), content_type=JSON, body=booking.view())


@app.post(
    f"{BASE}/send_message",
    security=BEARER,
    responses={
        **answers(HTTPStatus.CREATED, RideMessageOut, "Message sent"),
        **answers(HTTPStatus.OK, RideMessageOut, "A repeated client_message_id: the first message, unchanged"),
    },
)
def send_message(request: Annotated[SendRideMessageRequest, Body()]) -> Response[Any]:
    booking, message, created = ride_service().send_message(
        current_identity(app),
        request.booking_code,
        request.message,
        request.sender,
        message_type=request.message_type,
        client_message_id=request.client_message_id,
    )
    if created:
        metrics.add_metric(name="RideMessagesSent", unit=MetricUnit.Count, value=1)
    return Response(status_code=_created(created), content_type=JSON, body=ride_message_view(booking, message))


@app.post(
    f"{BASE}/make_call",
    security=BEARER,
    responses={
        **answers(HTTPStatus.CREATED, RideCallOut, "Call initiated"),
        **answers(HTTPStatus.OK, RideCallOut, "The call after the transition"),
    },
)
def make_call(request: Annotated[MakeCallRequest, Body()]) -> Response[Any]:
    booking, call, created = ride_service().make_call(
        current_identity(app), request.booking_code, request.action, request.caller, request.call_type
    )
    metrics.add_metric(name=f"RideCalls{call.status.capitalize()}", unit=MetricUnit.Count, value=1)
    body = {**call.view(), "booking_code": booking.booking_code}
    return Response(status_code=_created(created), content_type=JSON, body=body)


@app.get(f"{BASE}/get_message", security=BEARER, responses=answers(HTTPStatus.OK, RideMessagePage, "Newest first"))
def get_message(query: Annotated[GetMessagesQuery, Query()]) -> dict[str, Any]:
    booking, page = ride_service().messages(
        current_identity(app),
        query.booking_code,
        limit=query.limit,
        next_token=query.next_token,
        message_type=query.message_type,
    )
    return {"items": [ride_message_view(booking, m) for m in page.items], "next_token": page.next_token}


def _query_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def http_request_for(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The API Gateway v2 event a direct invocation stands for (None: unknown function_type)."""
    route = DIRECT_ROUTES.get(str(payload.get("function_type")))
    if route is None:
        return None
    method, path = route
    fields = {k: v for k, v in payload.items() if k not in _ENVELOPE}
    token = payload.get("access_token")
    headers = {"content-type": JSON}
    if isinstance(token, str) and token:
        headers["authorization"] = f"Bearer {token}"
    query = {k: _query_value(v) for k, v in fields.items() if v is not None} if method == "GET" else {}
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": urlencode(query),
        "headers": headers,
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "", "userAgent": ""},
            "requestId": f"direct-{uuid.uuid4()}",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
    if method != "GET":
        event["body"] = json.dumps(fields)
    return event


def invoke_directly(payload: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = http_request_for(payload)
    if event is None:
        known = ", ".join(sorted(DIRECT_ROUTES))
        return {"statusCode": int(HTTPStatus.BAD_REQUEST), "body": {"error": f"function_type must be one of: {known}"}}
    response = app.resolve(event, context)
    body = response.get("body")
    return {"statusCode": int(response["statusCode"]), "body": json.loads(body) if body else None}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "function_type" in event and "requestContext" not in event:
        return invoke_directly(event, context)
    return app.resolve(event, context)


startup_complete()  # the last statement: see runtime/__init__.py
