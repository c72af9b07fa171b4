"""Lambda entry points of the realtime stack: `$connect`, `$disconnect`, `$default`, the stream processor.

Each parses its event, builds the repositories over the container's clients and makes one call
into ``logic`` / ``stream``; the answer is shaped here. `$connect` answers a non-2xx status to
refuse the handshake; `$disconnect` always succeeds (API Gateway ignores its answer, and a
failure must not hide the cleanup that did happen); `$default` always answers 200 with a frame
(its route returns the integration's response to the client), so a bad frame costs an
``error`` frame, never the connection.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from runtime import startup_complete
from runtime.chat.logic import ChatService
from runtime.chat.repository import ChatRepository
from runtime.common.observability import logger, metrics, tracer
from runtime.common.settings import load
from runtime.common.tokens import verify_any
from runtime.realtime import clients, frames, logic
from runtime.realtime.chat_store import CallSettler, ChatReader
from runtime.realtime.chat_writer import ChatServiceWriter
from runtime.realtime.connections import ConnectionRegistry
from runtime.realtime.delivery import Delivery
from runtime.realtime.exceptions import HandshakeRefusedError
from runtime.realtime.gateway import ConnectionGateway
from runtime.realtime.sessions import UploadSessionStore
from runtime.realtime.settings import ConnectSettings, DisconnectSettings, ProcessorSettings, RouterSettings
from runtime.realtime.stream import StreamBatch

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord


@cache
def _processor() -> BatchProcessor:
    """Built by the stream function's first batch: the three WebSocket functions share this module."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    return BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def _context_of(event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    context = event.get("requestContext") or {}
    connection_id = str(context.get("connectionId", ""))
    logger.append_keys(connection_id=connection_id, request_id=context.get("requestId"), route=context.get("routeKey"))
    return connection_id, context


def _answer(status: int, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"statusCode": status}
    if body is not None:
        response["body"] = json.dumps(body)
    return response


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def connect_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    connection_id, request = _context_of(event)
    settings = load(ConnectSettings)
    client = clients.dynamodb()
    try:
        connection = logic.connect(
            connection_id,
            event.get("queryStringParameters") or {},
            verify=verify_any,
            connections=ConnectionRegistry(client, settings.connections_table),
            sessions=UploadSessionStore(client, settings.upload_sessions_table),
            ttl_seconds=settings.connection_ttl_seconds,
            at_ms=int(request.get("connectedAt") or logic.now_ms()),
        )
    except HandshakeRefusedError as refused:
        logger.info("handshake refused", extra={"reason": refused.message})
        metrics.add_metric(name="ConnectionRefused", unit=MetricUnit.Count, value=1)
        return _answer(refused.refusal_status, {"error": refused.message})
    except Exception:
        logger.exception("connect failed")
        metrics.add_metric(name="ConnectionRefused", unit=MetricUnit.Count, value=1)
        return _answer(500, {"error": "internal server error"})
    logger.append_keys(user_id=connection.user_id, tenant_id=connection.tenant_id, session_id=connection.session_id)
    logger.info("connected")
    return _answer(200)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def disconnect_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    connection_id, _ = _context_of(event)
    try:
        settings = load(DisconnectSettings)
        client = clients.dynamodb()
        outcome = logic.disconnect(
            connection_id,
            connections=ConnectionRegistry(client, settings.connections_table),
            sessions=UploadSessionStore(client, settings.upload_sessions_table),
            chat=ChatReader(client, settings.chat_table),
            calls=CallSettler(client, settings.chat_table),
            at_ms=logic.now_ms(),
        )
        if outcome.connection is not None:
            logger.append_keys(user_id=outcome.connection.user_id, tenant_id=outcome.connection.tenant_id)
        logger.info("disconnected", extra={"last_of_user": outcome.last_of_user, "calls_settled": len(outcome.settled)})
    except Exception:
        # The TTL sweeps whatever was not cleaned up; a failure here must not be retried by the client.
        logger.exception("disconnect cleanup failed")
    return _answer(200)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def default_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    connection_id, _ = _context_of(event)
    settings = load(RouterSettings)
    client = clients.dynamodb()
    connections = ConnectionRegistry(client, settings.connections_table)
    router = logic.Router(
        connections=connections,
        chat=ChatReader(client, settings.chat_table),
        writer=ChatServiceWriter(ChatService(ChatRepository(settings.chat_table, client))),
        delivery=Delivery(connections, ConnectionGateway(clients.management_api(settings.websocket_endpoint))),
    )
    reply: frames.ErrorFrame | frames.AckFrame | frames.PongFrame
    if event.get("isBase64Encoded"):
        reply = frames.ErrorFrame(error="binary frames are not supported; send JSON text")
    else:
        reply = router.handle(connection_id, event.get("body"))
    return {"statusCode": 200, "body": reply.encode().decode()}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def stream_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load(ProcessorSettings)
    client = clients.dynamodb()
    connections = ConnectionRegistry(client, settings.connections_table)
    gateway = ConnectionGateway(clients.management_api(settings.websocket_endpoint))
    batch = StreamBatch(
        chat=ChatReader(client, settings.chat_table),
        connections=connections,
        delivery=Delivery(connections, gateway, cache_connections=True),
    )

    batch.prefetch([r for r in event.get("Records") or [] if isinstance(r, dict)])

    def record_handler(record: DynamoDBRecord) -> int:
        return batch.handle(record.raw_event)

    from aws_lambda_powertools.utilities.batch import process_partial_response

    response: dict[str, Any] = dict(process_partial_response(event, record_handler, _processor(), context))
    failures = len(response.get("batchItemFailures", []))
    if failures:
        logger.warning("stream batch partially failed", extra={"failed": failures, "records": len(event["Records"])})
    return response


startup_complete()  # the last statement: see runtime/__init__.py
