"""HTTP routes for conversations and messages (`runtime.chat.handler.lambda_handler`).

Bodies and queries are validated by Powertools from the pydantic models, after the resolver's
size limit and token check (``runtime.common.http``), so they are also in the OpenAPI document.
"""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from runtime import startup_complete
from runtime.chat.logic import ChatService, path_id
from runtime.chat.models import (
    ConversationOut,
    ConversationPage,
    CreateConversationRequest,
    MessageOut,
    MessagePage,
    MessagesQuery,
    PageQuery,
    SendMessageRequest,
)
from runtime.chat.repository import ChatRepository, UserDirectory
from runtime.common.http import BEARER, JSON, Body, Query, answers, create_resolver, current_identity
from runtime.common.observability import logger, metrics, tracer
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


@app.post(
    "/conversations",
    security=BEARER,
    responses=answers(HTTPStatus.CREATED, ConversationOut, "Conversation created"),
)
def create_conversation(request: Annotated[CreateConversationRequest, Body()]) -> Response[Any]:
    conversation = chat_service().create_conversation(current_identity(app), request.participant_ids, request.title)
    metrics.add_metric(name="ConversationsCreated", unit=MetricUnit.Count, value=1)
    return Response(status_code=HTTPStatus.CREATED, content_type=JSON, body=conversation.view())


@app.get("/conversations", security=BEARER, responses=answers(HTTPStatus.OK, ConversationPage, "Newest activity first"))
def list_conversations(query: Annotated[PageQuery, Query()]) -> dict[str, Any]:
    page = chat_service().list_conversations(current_identity(app), limit=query.limit, next_token=query.next_token)
    return {"items": [s.view() for s in page.items], "next_token": page.next_token}


@app.post(
    "/conversations/<conversation_id>/messages",
    security=BEARER,
    responses={
        **answers(HTTPStatus.CREATED, MessageOut, "Message sent"),
        **answers(HTTPStatus.OK, MessageOut, "A repeated client_message_id: the first message, unchanged"),
    },
)
def send_message(conversation_id: str, request: Annotated[SendMessageRequest, Body()]) -> Response[Any]:
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


@app.get(
    "/conversations/<conversation_id>/messages",
    security=BEARER,
    responses=answers(HTTPStatus.OK, MessagePage, "Newest first"),
)
def list_messages(conversation_id: str, query: Annotated[MessagesQuery, Query()]) -> dict[str, Any]:
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


startup_complete()  # the last statement: see runtime/__init__.py
