"""A stand-in for API Gateway's @connections client, shared by every test that pushes frames.

moto's ``apigatewaymanagementapi`` accepts a post to any id and never answers Gone (shared FACTS);
this one answers the way API Gateway does and records every frame.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError


def _client_error(code: str, status: int, operation: str = "PostToConnection") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation
    )


@dataclass
class RecordingConnections:
    """A stand-in for the ``apigatewaymanagementapi`` client that behaves like API Gateway."""

    gone: set[str] = field(default_factory=set)
    throttle_first: dict[str, int] = field(default_factory=dict)
    always_throttled: set[str] = field(default_factory=set)
    frames: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> dict[str, Any]:
        with self._lock:
            self.calls += 1
            if ConnectionId in self.gone:
                raise _client_error("GoneException", 410)
            if ConnectionId in self.always_throttled:
                raise _client_error("LimitExceededException", 429)
            if self.throttle_first.get(ConnectionId, 0) > 0:
                self.throttle_first[ConnectionId] -= 1
                raise _client_error("LimitExceededException", 429)
            self.frames[ConnectionId].append(json.loads(Data))
        return {"ResponseMetadata": {"HTTPStatusCode": 200}}

    def received(self, connection_id: str, action: str | None = None) -> list[dict[str, Any]]:
        return [f for f in self.frames.get(connection_id, []) if action is None or f.get("action") == action]
