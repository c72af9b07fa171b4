"""Real event shapes for driving handlers, built the way API Gateway and Lambda build them."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from Lambda's context object."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2026/11/22/[$LATEST]0000"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext(aws_request_id=str(uuid.uuid4()))


def http_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
    route_key: str | None = None,
    authorizer: dict[str, Any] | None = None,
    source_ip: str = "203.0.113.10",
) -> dict[str, Any]:
    """An API Gateway v2 HTTP API event, payload format 2.0."""
    is_base64 = False
    encoded: str | None = None
    if raw_body is not None:
        if isinstance(raw_body, bytes):
            encoded, is_base64 = base64.b64encode(raw_body).decode(), True
        else:
            encoded = raw_body
    elif body is not None:
        encoded = json.dumps(body)
    all_headers = {"content-type": "application/json", "user-agent": "pytest", **(headers or {})}
    all_headers = {key.lower(): value for key, value in all_headers.items()}
    now = time.time()
    raw_query = "&".join(f"{key}={value}" for key, value in (query or {}).items())
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key or f"{method} {path}",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api1234567",
            "domainName": "api1234567.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "api1234567",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": "pytest",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key or f"{method} {path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if encoded is not None:
        event["body"] = encoded
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    return event


WS_API_ID = "ws1234abcd"
WS_STAGE = "dev"
WS_DOMAIN = f"{WS_API_ID}.execute-api.us-east-1.amazonaws.com"
# What Lambda gets in WEBSOCKET_ENDPOINT: the stage's https callback URL.
WS_CALLBACK_URL = f"https://{WS_DOMAIN}/{WS_STAGE}"

_WS_EVENT_TYPES = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}


def ws_connection_id() -> str:
    """An id shaped like API Gateway's (12 random bytes, base64: e.g. ``L0SM9cOFvHcCIhw=``)."""
    return base64.b64encode(uuid.uuid4().bytes[:10]).decode()


def ws_event(
    route_key: str,
    connection_id: str,
    *,
    query: dict[str, str] | None = None,
    body: Any = None,
    raw_body: str | None = None,
    is_base64: bool = False,
    connected_at_ms: int | None = None,
    disconnect_status: int = 1001,
    source_ip: str = "203.0.113.10",
) -> dict[str, Any]:
    """An API Gateway WebSocket event as Lambda receives it (`$connect`, `$disconnect` or a message route).

    `$connect` carries the handshake's headers and query string; `$disconnect` the close code;
    message routes (``$default`` or a named one) the frame as ``body``.
    """
    now = time.time()
    connected_at = connected_at_ms if connected_at_ms is not None else int(now * 1000)
    event_type = _WS_EVENT_TYPES.get(route_key, "MESSAGE")
    context: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": base64.b64encode(uuid.uuid4().bytes[:9]).decode(),
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "messageDirection": "IN",
        "stage": WS_STAGE,
        "connectedAt": connected_at,
        "requestTimeEpoch": int(now * 1000),
        "identity": {"sourceIp": source_ip, "userAgent": "pytest-websocket"},
        "requestId": base64.b64encode(uuid.uuid4().bytes[:9]).decode(),
        "domainName": WS_DOMAIN,
        "connectionId": connection_id,
        "apiId": WS_API_ID,
    }
    event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": is_base64}
    if event_type == "CONNECT":
        headers = {
            "Host": WS_DOMAIN,
            "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
            "Sec-WebSocket-Key": base64.b64encode(uuid.uuid4().bytes).decode(),
            "Sec-WebSocket-Version": "13",
            "X-Amzn-Trace-Id": f"Root=1-{int(now):08x}-{uuid.uuid4().hex[:24]}",
            "X-Forwarded-For": source_ip,
            "X-Forwarded-Port": "443",
            "X-Forwarded-Proto": "https",
        }
        event["headers"] = headers
        event["multiValueHeaders"] = {key: [value] for key, value in headers.items()}
        if query:
            event["queryStringParameters"] = dict(query)
            event["multiValueQueryStringParameters"] = {key: [value] for key, value in query.items()}
    elif event_type == "DISCONNECT":
        headers = {"Host": WS_DOMAIN, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
        event["headers"] = headers
        event["multiValueHeaders"] = {key: [value] for key, value in headers.items()}
        context["disconnectStatusCode"] = disconnect_status
        context["disconnectReason"] = "Client-side close frame status not set" if disconnect_status == 1005 else ""
    else:
        context["messageId"] = base64.b64encode(uuid.uuid4().bytes[:9]).decode()
        if raw_body is not None:
            event["body"] = raw_body
        elif body is not None:
            event["body"] = json.dumps(body)
    return event


def dynamodb_stream_event(records: list[dict[str, Any]], stream_arn: str) -> dict[str, Any]:
    """Records as DynamoDB Streams' GetRecords returns them (e.g. from moto), wrapped the way Lambda's
    event source mapping delivers them: ``eventSourceARN`` added and the creation time in epoch seconds.
    """
    wrapped = []
    for record in records:
        body = dict(record["dynamodb"])
        created = body.get("ApproximateCreationDateTime")
        if created is not None and not isinstance(created, int | float):
            body["ApproximateCreationDateTime"] = int(created.timestamp())
        wrapped.append({**record, "dynamodb": body, "eventSourceARN": stream_arn})
    return {"Records": wrapped}


def sqs_event(bodies: list[str], queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:queue") -> dict[str, Any]:
    """An SQS event source mapping batch, one record per body."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"handle-{index}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(int(time.time() * 1000)),
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies)
        ]
    }


def s3_notification(bucket: str, *keys: str, sequencer: str = "0062E99A88DC407460") -> str:
    """The body S3 sends to SQS for ObjectCreated:Put (keys URL-encoded, as S3 encodes them)."""
    from urllib.parse import quote_plus

    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-east-1",
                    "eventTime": "2026-11-22T00:00:00.000Z",
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "uploads",
                        "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                        "object": {
                            "key": quote_plus(key, safe="/"),
                            "size": 1024,
                            "eTag": "d41d8cd9",
                            "sequencer": sequencer,
                        },
                    },
                }
                for key in keys
            ]
        }
    )


S3_TEST_EVENT = json.dumps(
    {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-11-22T00:00:00Z", "Bucket": "b"}
)
