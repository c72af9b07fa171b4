"""HTTP routes for calls (`runtime.calls.handler.lambda_handler`)."""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from runtime import startup_complete
from runtime.calls.logic import CallService
from runtime.calls.models import CallAction, CallOut, CallPage, StartCallRequest
from runtime.calls.repository import CallRepository
from runtime.chat.logic import ChatService, path_id
from runtime.chat.models import PageQuery
from runtime.chat.repository import ChatRepository
from runtime.common.http import BEARER, JSON, Body, Query, answers, create_resolver, current_identity
from runtime.common.observability import logger, metrics, tracer
from runtime.common.settings import FunctionSettings, load

app = create_resolver()


class CallSettings(FunctionSettings):
    """Calls touch the chat table only: participants were checked when the conversation was made."""

    chat_table: str


@cache
def call_service() -> CallService:
    settings = load(CallSettings)
    chat = ChatRepository(settings.chat_table)
    return CallService(ChatService(chat), CallRepository(chat))


def _act(call_id: str, action: CallAction) -> dict[str, Any]:
    call = call_service().act(current_identity(app), path_id(call_id, "call"), action)
    metrics.add_metric(name=f"Calls{call.status.capitalize()}", unit=MetricUnit.Count, value=1)
    return call.view()


_CALL = answers(HTTPStatus.OK, CallOut, "The call after the transition")


@app.post(
    "/conversations/<conversation_id>/calls",
    security=BEARER,
    responses=answers(HTTPStatus.CREATED, CallOut, "Call started (ringing)"),
)
def start_call(conversation_id: str, request: Annotated[StartCallRequest, Body()]) -> Response[Any]:
    call = call_service().start(current_identity(app), path_id(conversation_id, "conversation"), request.call_type)
    metrics.add_metric(name="CallsStarted", unit=MetricUnit.Count, value=1)
    return Response(status_code=HTTPStatus.CREATED, content_type=JSON, body=call.view())


@app.get(
    "/conversations/<conversation_id>/calls",
    security=BEARER,
    responses=answers(HTTPStatus.OK, CallPage, "Newest first"),
)
def call_log(conversation_id: str, query: Annotated[PageQuery, Query()]) -> dict[str, Any]:
    page = call_service().call_log(
        current_identity(app), path_id(conversation_id, "conversation"), limit=query.limit, next_token=query.next_token
    )
    return {"items": [c.view() for c in page.items], "next_token": page.next_token}


@app.post("/calls/<call_id>/accept", security=BEARER, responses=_CALL)
def accept(call_id: str) -> dict[str, Any]:
    return _act(call_id, CallAction.ACCEPT)


@app.post("/calls/<call_id>/reject", security=BEARER, responses=_CALL)
def reject(call_id: str) -> dict[str, Any]:
    return _act(call_id, CallAction.REJECT)


@app.post("/calls/<call_id>/end", security=BEARER, responses=_CALL)
def end(call_id: str) -> dict[str, Any]:
    return _act(call_id, CallAction.END)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


startup_complete()  # the last statement: see runtime/__init__.py
