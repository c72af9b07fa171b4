"""Pushing a frame to a user's or a QR page's sockets from any function (QR completion, image pipeline).

Those functions get ``CONNECTIONS_TABLE`` and ``WEBSOCKET_ENDPOINT``, access to the connections
table and the right to manage this API's connections from ``RealtimeStack.grant_notify(...)``;
here they get the delivery the stream processor uses: index lookups, parallel posts, sockets
that answer Gone removed quietly.

    from runtime.realtime.notify import notifier

    notifier().notify_session(session_id, {"action": "UPLOAD_COMPLETED", "sessionId": ..., ...})
    notifier().notify_user(owner_id, {"action": "IMAGE_PROCESSED", "imageId": ..., "status": ...})
"""

from __future__ import annotations

import json
from typing import Any

from runtime.common.settings import load
from runtime.realtime import clients
from runtime.realtime.connections import ConnectionRegistry
from runtime.realtime.delivery import Delivery
from runtime.realtime.gateway import ConnectionGateway
from runtime.realtime.settings import NotifierSettings


class Notifier:
    """JSON frames to sockets, by user or by QR session; each call answers how many sockets it reached."""

    def __init__(self, delivery: Delivery) -> None:
        self._delivery = delivery

    def notify_user(self, user_id: str, frame: dict[str, Any]) -> int:
        """Every socket the user has open (user ids are unique across tenants)."""
        return len(self._delivery.to_users([user_id], None, encode(frame)).delivered)

    def notify_session(self, session_id: str, frame: dict[str, Any]) -> int:
        """The QR page(s) waiting on an upload session."""
        return len(self._delivery.to_session(session_id, encode(frame)).delivered)


def encode(frame: dict[str, Any]) -> bytes:
    """A server frame as sent on the wire; every frame names its ``action``."""
    if not isinstance(frame.get("action"), str):
        raise ValueError("a frame needs an action")
    return json.dumps(frame, separators=(",", ":"), default=str).encode()


def notifier() -> Notifier:
    """A notifier over the container's clients (built per call, cheap: clients and pool are cached)."""
    settings = load(NotifierSettings)
    connections = ConnectionRegistry(clients.dynamodb(), settings.connections_table)
    gateway = ConnectionGateway(clients.management_api(settings.websocket_endpoint))
    return Notifier(Delivery(connections, gateway))
