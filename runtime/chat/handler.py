"""HTTP routes for conversations and messages (`runtime.chat.handler.lambda_handler`)."""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from runtime.chat.logic import ChatService, path_id
from runtime.chat.models import CreateConversationRequest, MessagesQuery, PageQuery, SendMessageRequest
from runtime.chat.repository import ChatRepository, UserDirectory
from runtime.common.http import AUTHENTICATED, BEARER, JSON, create_resolver, current_identity
from runtime.common.observability import logger, metrics, tracer
from runtime.common.parsing import parse_body, parse_query
from runtime.common.settings import FunctionSettings, load

app = create_resolver()


class ChatSettings(FunctionSettings):
    chat_table: str
    users_table: str


@cache
def chat_service() -> ChatService:
    """Built on first use from the function's settings, then reused by every request of the container."""
    settings = load(ChatSettings)
    return ChatService(ChatRepository(settings.chat_table), UserDirectory(settings.users_table))


@app.post("/conversations", middlewares=AUTHENTICATED, security=BEARER)
def create_conversation() -> Response[Any]:
    request = parse_body(app, CreateConversationRequest)
    conversation = chat_service().create_conversation(current_identity(app), request.participant_ids, request.title)
    metrics.add_metric(name="ConversationsCreated", unit=MetricUnit.Count, value=1)
    return Response(status_code=HTTPStatus.CREATED, content_type=JSON, body=conversation.view())


@app.get("/conversations", middlewares=AUTHENTICATED, security=BEARER)
def list_conversations() -> dict[str, Any]:
    query = parse_query(app, PageQuery)
    page = chat_service().list_conversations(current_identity(app), limit=query.limit, next_token=query.next_token)
    return {"items": [s.view() for s in page.items], "next_token": page.next_token}


@app.post("/conversations/<conversation_id>/messages", middlewares=AUTHENTICATED, security=BEARER)
def send_message(conversation_id: str) -> Response[Any]:
    request = parse_body(app, SendMessageRequest)
    message, created = chat_service().send_message(
        current_identity(app),
        path_id(conversation_id, "conversation"),
        request.content,
        message_type=request.type,
        client_message_id=request.client_message_id,
    )
    if created:
        metrics.add_metric(name="MessagesSent", unit=MetricUnit.Count, value=1)
    # 201 for a new message; 200 when a repeated client_message_id returns the first one.
    status = HTTPStatus.CREATED if created else HTTPStatus.OK
    return Response(status_code=status, content_type=JSON, body=message.view())


@app.get("/conversations/<conversation_id>/messages", middlewares=AUTHENTICATED, security=BEARER)
def list_messages(conversation_id: str) -> dict[str, Any]:
    query = parse_query(app, MessagesQuery)
    page = chat_service().list_messages(
        current_identity(app),
        path_id(conversation_id, "conversation"),
        limit=query.limit,
        next_token=query.next_token,
        message_type=query.type,
    )
    return {"items": [m.view() for m in page.items], "next_token": page.next_token}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
