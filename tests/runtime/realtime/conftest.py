"""The realtime handlers against moto: tables from the stacks, real tokens, a recording @connections client.

moto's ``apigatewaymanagementapi`` accepts a post to any id and never answers Gone (shared
FACTS), so most tests swap the management client for ``RecordingConnections``, which answers
the way API Gateway does (410 ``GoneException`` for a closed socket, 429 when throttling) and
records every frame. One test keeps moto's client to prove the real wiring.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from local.assembly import TableSpec
from runtime.chat.keys import activity_sk, call_pk, conversation_pk, user_pk
from runtime.common import settings
from runtime.common.dynamo import to_item
from runtime.common.names import Env
from runtime.common.observability import metrics
from runtime.realtime import clients, handler
from runtime.realtime.chat_items import active_call_marker
from runtime.realtime.models import Call, CallStatus
from tests.runtime.conftest import TokenFactory
from tests.support.events import WS_CALLBACK_URL, dynamodb_stream_event, lambda_context, ws_connection_id, ws_event
from tests.support.sockets import RecordingConnections


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Iterator[None]:
    # One Metrics object per process (as per container): no metric leaks from one test into another.
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


@dataclass
class World:
    """Seeds the chat and sessions tables the way the chat / upload routes write them, and drives handlers."""

    dynamodb: Any
    tables: dict[str, TableSpec]
    tokens: TokenFactory
    _stream_position: dict[str, str] = field(default_factory=dict)

    @property
    def chat_table(self) -> str:
        return self.tables[Env.CHAT_TABLE].physical_name

    @property
    def connections_table(self) -> str:
        return self.tables[Env.CONNECTIONS_TABLE].physical_name

    @property
    def sessions_table(self) -> str:
        return self.tables[Env.UPLOAD_SESSIONS_TABLE].physical_name

    def put(self, table: str, item: dict[str, Any]) -> None:
        self.dynamodb.put_item(TableName=table, Item=to_item(item))

    def get(self, table: str, pk: str, sk: str | None = None) -> dict[str, Any] | None:
        from runtime.common.dynamo import from_item

        key = {"pk": pk} if sk is None else {"pk": pk, "sk": sk}
        return from_item(self.dynamodb.get_item(TableName=table, Key=to_item(key)).get("Item"))

    def conversation(self, participants: list[str], tenant_id: str = "tenant-a") -> str:
        conversation_id = str(uuid.uuid4())
        now_ms = int(time.time() * 1000)
        self.put(
            self.chat_table,
            {
                "pk": conversation_pk(conversation_id),
                "sk": "META",
                "conversation_id": conversation_id,
                "tenant_id": tenant_id,
                "participant_ids": participants,
                "title": None,
                "created_at": now_ms // 1000,
            },
        )
        for user_id in participants:
            self.put(
                self.chat_table,
                {
                    "pk": user_pk(user_id),
                    "sk": f"CONV#{conversation_id}",
                    "conversation_id": conversation_id,
                    "activity_sk": activity_sk(now_ms, conversation_id),
                },
            )
        return conversation_id

    def call(
        self,
        conversation_id: str,
        caller_id: str,
        *,
        status: CallStatus = CallStatus.RINGING,
        tenant_id: str = "tenant-a",
        accepted_by: str | None = None,
        connected_seconds_ago: int | None = None,
        markers: bool = True,
    ) -> str:
        call_id = str(uuid.uuid4())
        now_ms = int(time.time() * 1000)
        item: dict[str, Any] = {
            "pk": call_pk(call_id),
            "sk": "CALL",
            "call_id": call_id,
            "conversation_id": conversation_id,
            "tenant_id": tenant_id,
            "caller_id": caller_id,
            "call_type": "video",
            "status": status.value,
            "created_at_ms": now_ms,
            "call_conversation_pk": conversation_pk(conversation_id),
        }
        if accepted_by:
            item["accepted_by"] = accepted_by
        if connected_seconds_ago is not None:
            item["connected_at_ms"] = now_ms - connected_seconds_ago * 1000
        self.put(self.chat_table, item)
        if markers:
            call = Call(call_id, conversation_id, tenant_id, caller_id, status, "video", accepted_by=accepted_by)
            for user in {caller_id, accepted_by} - {None}:
                self.put(self.chat_table, active_call_marker(str(user), call, now_ms // 1000))
        return call_id

    def session(self, *, expires_in: int = 1800, status: str = "AWAITING_SCAN") -> str:
        session_id = str(uuid.uuid4())
        now = int(time.time())
        self.put(
            self.sessions_table,
            {"pk": session_id, "status": status, "expires_at": now + expires_in, "created_at": now, "ttl": now + 3600},
        )
        return session_id

    # --- driving the handlers --------------------------------------------------------------

    def connect(
        self, user_id: str | None = None, tenant_id: str = "tenant-a", **query: str
    ) -> tuple[str, dict[str, Any]]:
        connection_id = ws_connection_id()
        if user_id is not None:
            query = {"token": self.tokens(user_id, tenant_id), **query}
        response = handler.connect_handler(ws_event("$connect", connection_id, query=query), lambda_context())
        return connection_id, response

    def connected(self, user_id: str, tenant_id: str = "tenant-a") -> str:
        connection_id, response = self.connect(user_id, tenant_id)
        assert response["statusCode"] == 200, response
        return connection_id

    def send(self, connection_id: str, frame: Any = None, *, raw: str | None = None) -> dict[str, Any]:
        event = ws_event("$default", connection_id, body=frame, raw_body=raw)
        response = handler.default_handler(event, lambda_context())
        assert response["statusCode"] == 200
        reply: dict[str, Any] = json.loads(response["body"])
        return reply

    def disconnect(self, connection_id: str) -> dict[str, Any]:
        return handler.disconnect_handler(ws_event("$disconnect", connection_id), lambda_context())

    def stream_records(self) -> list[dict[str, Any]]:
        """New chat-table stream records since the last call (read from moto's stream)."""
        streams = boto3.client("dynamodbstreams", region_name="us-east-1")
        arn = self.stream_arn
        shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        records: list[dict[str, Any]] = []
        for shard in shards:
            shard_id = shard["ShardId"]
            after = self._stream_position.get(shard_id)
            request: dict[str, Any] = {"StreamArn": arn, "ShardId": shard_id}
            if after:
                request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
            else:
                request["ShardIteratorType"] = "TRIM_HORIZON"
            iterator = streams.get_shard_iterator(**request)["ShardIterator"]
            batch = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
            if batch:
                self._stream_position[shard_id] = batch[-1]["dynamodb"]["SequenceNumber"]
            records.extend(batch)
        return records

    @property
    def stream_arn(self) -> str:
        return str(self.dynamodb.describe_table(TableName=self.chat_table)["Table"]["LatestStreamArn"])

    def process(self, records: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Run the stream processor over ``records`` (default: everything new on the stream)."""
        batch = self.stream_records() if records is None else records
        return handler.stream_handler(dynamodb_stream_event(batch, self.stream_arn), lambda_context())


@pytest.fixture
def world(
    tables: dict[str, TableSpec], dynamodb: Any, token_factory: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    monkeypatch.setenv(Env.WEBSOCKET_ENDPOINT, WS_CALLBACK_URL)
    settings.reset()
    clients.reset()
    yield World(dynamodb=dynamodb, tables=tables, tokens=token_factory)
    clients.reset()
    settings.reset()


@pytest.fixture
def sockets(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingConnections]:
    """Every @connections post of the handlers goes here (undone before ``world`` resets the clients)."""
    fake = RecordingConnections()
    with monkeypatch.context() as patch:
        patch.setattr(clients, "management_api", lambda endpoint_url: fake)
        yield fake


def emitted_metrics(output: str) -> dict[str, float]:
    """Sum of every EMF metric printed to stdout (Powertools' ``log_metrics`` flushes one JSON per call)."""
    totals: dict[str, float] = defaultdict(float)
    for line in output.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        for definition in document["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                value = document[metric["Name"]]
                totals[metric["Name"]] += sum(value) if isinstance(value, list) else value
    return dict(totals)
