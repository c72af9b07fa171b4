"""The QR session completion's world against moto: its service, the recorded sockets, the registry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from local.assembly import TableSpec
from runtime.common import settings
from runtime.common.names import Env
from runtime.realtime import clients
from runtime.realtime.connections import ConnectionRegistry
from runtime.uploads import completion_handler
from runtime.uploads.logic import SessionService
from runtime.uploads.repository import SessionRepository
from tests.support.events import WS_CALLBACK_URL
from tests.support.sockets import RecordingConnections

QrWorld = tuple[SessionService, RecordingConnections, ConnectionRegistry]


@contextmanager
def qr_world(tables: dict[str, TableSpec], dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[QrWorld]:
    """Sessions in the synthesized table, sockets recorded instead of posted; the completion
    handler's cached service is rebuilt around them and dropped afterwards."""
    monkeypatch.setenv(Env.WEBSOCKET_ENDPOINT, WS_CALLBACK_URL)
    settings.reset()
    clients.reset()
    completion_handler.completion.cache_clear()
    sockets = RecordingConnections()
    store = SessionRepository(tables[Env.UPLOAD_SESSIONS_TABLE].physical_name, dynamodb)
    registry = ConnectionRegistry(dynamodb, tables[Env.CONNECTIONS_TABLE].physical_name)
    with monkeypatch.context() as patch:
        patch.setattr(clients, "management_api", lambda endpoint_url: sockets)
        yield SessionService(store=store, signer=None), sockets, registry  # type: ignore[arg-type]
        completion_handler.completion.cache_clear()
    clients.reset()
