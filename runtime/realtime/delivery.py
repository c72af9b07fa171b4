"""From "these users (of this tenant)" or "this QR session" to frames on their sockets.

Used by the stream processor (messages, call transitions), by `signal` (relayed directly: it is
ephemeral and never stored) and by other areas that push to a socket (QR completion, image
pipeline) through ``runtime.realtime.notify``. Connections are found by index, filtered to the
tenant the frame belongs to (a socket of another tenant is never addressed, whatever the ids
say), posted to in parallel, and the ones that answer Gone are deleted.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_lambda_powertools.metrics import MetricUnit

from runtime.common.observability import logger, metrics
from runtime.realtime.models import Connection
from runtime.realtime.ports import ConnectionStore, FanoutResult, Gateway


class Delivery:
    """Resolve recipients to sockets and fan a frame out to them.

    ``cache_connections`` keeps each user's sockets for the life of this object: the stream
    processor makes one per batch, so a busy conversation costs one Query per participant per
    batch rather than per message.
    """

    def __init__(self, connections: ConnectionStore, gateway: Gateway, *, cache_connections: bool = False) -> None:
        self._connections = connections
        self._gateway = gateway
        self._cache: dict[str, list[Connection]] | None = {} if cache_connections else None

    def sockets_of(self, user_id: str) -> list[Connection]:
        if self._cache is None:
            return self._connections.of_user(user_id)
        if user_id not in self._cache:
            self._cache[user_id] = self._connections.of_user(user_id)
        return self._cache[user_id]

    def to_users(
        self,
        user_ids: Iterable[str],
        tenant_id: str | None,
        data: bytes,
        *,
        also: Iterable[str] = (),
    ) -> FanoutResult:
        """Every socket of every user, plus ``also`` (already-vetted connection ids).

        With a ``tenant_id`` (a conversation's), sockets opened under another tenant are skipped:
        a frame never crosses tenants even if a user id were reused.
        """
        targets: list[str] = []
        for user_id in dict.fromkeys(user_ids):
            for connection in self.sockets_of(user_id):
                if tenant_id is not None and connection.tenant_id != tenant_id:
                    logger.warning(
                        "skipped a connection of another tenant",
                        extra={"connection_id": connection.connection_id, "user_id": user_id},
                    )
                    continue
                targets.append(connection.connection_id)
        targets.extend(also)
        return self.to_connections(targets, data)

    def to_session(self, session_id: str, data: bytes) -> FanoutResult:
        """The QR page(s) waiting on an upload session."""
        return self.to_connections([c.connection_id for c in self._connections.of_session(session_id)], data)

    def to_connections(self, connection_ids: Iterable[str], data: bytes) -> FanoutResult:
        result = self._gateway.fan_out(connection_ids, data)
        for connection_id in result.gone:
            self.forget(connection_id)
        if result.delivered:
            metrics.add_metric(name="MessagesDelivered", unit=MetricUnit.Count, value=len(result.delivered))
        if result.gone:
            metrics.add_metric(name="StaleConnectionsRemoved", unit=MetricUnit.Count, value=len(result.gone))
        if result.failed or result.rejected:
            metrics.add_metric(
                name="DeliveriesFailed", unit=MetricUnit.Count, value=len(result.failed) + len(result.rejected)
            )
        return result

    def forget(self, connection_id: str) -> None:
        """Delete a socket that answered Gone (and its subscriptions); one failure must not stop the rest."""
        try:
            self._connections.remove(connection_id)
        except Exception:
            logger.exception("could not remove a stale connection", extra={"connection_id": connection_id})
        if self._cache is not None:
            for user_id, sockets in self._cache.items():
                self._cache[user_id] = [c for c in sockets if c.connection_id != connection_id]
