"""The connections table: who is connected, and which conversations each socket subscribed to.

Every lookup the fan-out needs is a Query on an index (``ConnectionsByUser``,
``ConnectionsBySession``, ``SubscribersByConversation``); removing a socket is a Query on its
partition and a batch delete of what it finds. Indexes are eventually consistent, so the
fan-out may still see a socket that has just closed: posting to it answers ``GoneException``
and the gateway removes it again, which is harmless.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from runtime.common.dynamo import from_item, raise_for_client_error, to_item, to_values
from runtime.common.names import Attr, Index, IndexAttr
from runtime.realtime.models import Connection

META = "META"
SUB_PREFIX = "SUB#"
_BATCH_WRITE_LIMIT = 25


def connection_pk(connection_id: str) -> str:
    return f"CONN#{connection_id}"


def _connection(item: dict[str, Any]) -> Connection:
    return Connection(
        connection_id=str(item["connection_id"]),
        connected_at_ms=int(item.get("connected_at_ms", 0)),
        expires_at=int(item.get(Attr.TTL, 0)),
        user_id=item.get(IndexAttr.USER_ID),
        tenant_id=item.get("tenant_id"),
        session_id=item.get(IndexAttr.SESSION_ID),
    )


class ConnectionRegistry:
    """Reads and writes connection and subscription items; the client is passed in."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # --- connections ----------------------------------------------------------------------

    def add(self, connection: Connection) -> None:
        item = {
            Attr.PK: connection_pk(connection.connection_id),
            Attr.SK: META,
            "connection_id": connection.connection_id,
            IndexAttr.USER_ID: connection.user_id,
            IndexAttr.SESSION_ID: connection.session_id,
            "tenant_id": connection.tenant_id,
            "connected_at": connection.connected_at_ms // 1000,
            "connected_at_ms": connection.connected_at_ms,
            Attr.TTL: connection.expires_at,
        }
        try:
            self._client.put_item(TableName=self._table, Item=to_item(item))
        except ClientError as error:
            raise_for_client_error(error)

    def get(self, connection_id: str) -> Connection | None:
        try:
            response = self._client.get_item(
                TableName=self._table,
                Key=to_item({Attr.PK: connection_pk(connection_id), Attr.SK: META}),
                ConsistentRead=True,
            )
        except ClientError as error:
            raise_for_client_error(error)
        item = from_item(response.get("Item"))
        return _connection(item) if item else None

    def remove(self, connection_id: str) -> Connection | None:
        """Delete the socket and its subscriptions; the connection as it was (None if unknown)."""
        items = list(self._partition(connection_pk(connection_id)))
        meta = next((item for item in items if item[Attr.SK] == META), None)
        self._delete_keys([(item[Attr.PK], item[Attr.SK]) for item in items])
        return _connection(meta) if meta else None

    def of_user(self, user_id: str) -> list[Connection]:
        return [_connection(item) for item in self._query_index(Index.CONNECTIONS_BY_USER, IndexAttr.USER_ID, user_id)]

    def of_session(self, session_id: str) -> list[Connection]:
        return [
            _connection(item)
            for item in self._query_index(Index.CONNECTIONS_BY_SESSION, IndexAttr.SESSION_ID, session_id)
        ]

    def has_other_connection(self, user_id: str, except_connection_id: str) -> bool:
        """Whether the user still has a socket besides this one (the index may lag our own delete)."""
        own = connection_pk(except_connection_id)
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": Index.CONNECTIONS_BY_USER,
            "KeyConditionExpression": "#u = :u",
            "ExpressionAttributeNames": {"#u": IndexAttr.USER_ID},
            "ExpressionAttributeValues": to_values({":u": user_id}),
            "ProjectionExpression": "#pk",
            "Limit": 2,
        }
        request["ExpressionAttributeNames"]["#pk"] = Attr.PK
        try:
            response = self._client.query(**request)
        except ClientError as error:
            raise_for_client_error(error)
        return any(item[Attr.PK]["S"] != own for item in response.get("Items", []))

    # --- subscriptions --------------------------------------------------------------------

    def subscribe(self, connection: Connection, conversation_id: str) -> None:
        item = {
            Attr.PK: connection_pk(connection.connection_id),
            Attr.SK: f"{SUB_PREFIX}{conversation_id}",
            "connection_id": connection.connection_id,
            IndexAttr.SUB_CONVERSATION_ID: conversation_id,
            # Not ``user_id``: that name would put the subscription into ConnectionsByUser.
            "subscriber_id": connection.user_id,
            "tenant_id": connection.tenant_id,
            Attr.TTL: connection.expires_at,
        }
        try:
            # A socket that closes meanwhile leaves this behind only until its TTL, or until a
            # delivery to it answers Gone and ``remove`` sweeps the whole partition.
            self._client.put_item(TableName=self._table, Item=to_item(item))
        except ClientError as error:
            raise_for_client_error(error)

    def unsubscribe(self, connection_id: str, conversation_id: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=to_item({Attr.PK: connection_pk(connection_id), Attr.SK: f"{SUB_PREFIX}{conversation_id}"}),
            )
        except ClientError as error:
            raise_for_client_error(error)

    def subscribers(self, conversation_id: str) -> list[dict[str, Any]]:
        """Subscription items of a conversation: connection_id, subscriber_id, tenant_id."""
        return list(
            self._query_index(Index.SUBSCRIBERS_BY_CONVERSATION, IndexAttr.SUB_CONVERSATION_ID, conversation_id)
        )

    # --- plumbing -------------------------------------------------------------------------

    def _partition(self, pk: str) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": Attr.PK},
            "ExpressionAttributeValues": to_values({":pk": pk}),
            "ConsistentRead": True,
        }
        yield from self._pages(request)

    def _query_index(self, index: str, attribute: str, value: str) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": attribute},
            "ExpressionAttributeValues": to_values({":v": value}),
        }
        yield from self._pages(request)

    def _pages(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        while True:
            try:
                response = self._client.query(**request)
            except ClientError as error:
                raise_for_client_error(error)
            for item in response.get("Items", []):
                plain = from_item(item)
                if plain is not None:
                    yield plain
            if not response.get("LastEvaluatedKey"):
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _delete_keys(self, keys: list[tuple[str, str]]) -> None:
        for start in range(0, len(keys), _BATCH_WRITE_LIMIT):
            requests = [
                {"DeleteRequest": {"Key": to_item({Attr.PK: pk, Attr.SK: sk})}}
                for pk, sk in keys[start : start + _BATCH_WRITE_LIMIT]
            ]
            pending: dict[str, Any] = {self._table: requests}
            for attempt in range(5):
                if attempt:
                    time.sleep(0.05 * 2**attempt)
                try:
                    response = self._client.batch_write_item(RequestItems=pending)
                except ClientError as error:
                    raise_for_client_error(error)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
