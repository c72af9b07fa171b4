"""Pushing a frame to a user's or a QR page's sockets from another area (QR completion, image pipeline).

Those functions get ``CONNECTIONS_TABLE`` and ``WEBSOCKET_ENDPOINT`` plus the right to manage
this API's connections from ``RealtimeStack.grant_push(...)``; here they get the same
delivery the stream processor uses (index lookups, tenant filter, parallel posts, Gone cleanup).

    from runtime.realtime.notify import notifier
    notifier().to_session(session_id, {"action": "UPLOAD_COMPLETED", ...})
"""

from __future__ import annotations

import json
from typing import Any

from runtime.common.settings import load
from runtime.realtime import clients
from runtime.realtime.connections import ConnectionRegistry
from runtime.realtime.delivery import Delivery
from runtime.realtime.gateway import ConnectionGateway
from runtime.realtime.ports import FanoutResult
from runtime.realtime.settings import NotifierSettings


class Notifier:
    """JSON frames to sockets, by user (within a tenant) or by QR session."""

    def __init__(self, delivery: Delivery) -> None:
        self._delivery = delivery

    def to_user(self, user_id: str, tenant_id: str, frame: dict[str, Any]) -> FanoutResult:
        return self._delivery.to_users([user_id], tenant_id, _encode(frame))

    def to_session(self, session_id: str, frame: dict[str, Any]) -> FanoutResult:
        return self._delivery.to_session(session_id, _encode(frame))


def _encode(frame: dict[str, Any]) -> bytes:
    if not isinstance(frame.get("action"), str):
        raise ValueError("a frame needs an action")
    return json.dumps(frame, separators=(",", ":")).encode()


def notifier() -> Notifier:
    """A notifier over the container's clients (cheap to build; the clients are cached)."""
    settings = load(NotifierSettings)
    connections = ConnectionRegistry(clients.dynamodb(), settings.connections_table)
    gateway = ConnectionGateway(clients.management_api(settings.websocket_endpoint))
    return Notifier(Delivery(connections, gateway))
