"""`$connect`: a token (either query name) or an open QR session, else the handshake is refused."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from runtime.realtime import handler
from tests.runtime.realtime.conftest import World, emitted_metrics
from tests.support.events import lambda_context, ws_connection_id, ws_event


def test_token_in_query_registers_the_user_connection(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    connection_id, response = world.connect("user-1", "tenant-a")

    assert response["statusCode"] == 200
    item = world.get(world.connections_table, f"CONN#{connection_id}", "META")
    assert item is not None
    assert (item["user_id"], item["tenant_id"]) == ("user-1", "tenant-a")
    # Kept a day at most, and indexed by user for the fan-out.
    assert 0 < item["ttl"] - time.time() <= 24 * 3600
    assert "session_id" not in item
    assert emitted_metrics(capsys.readouterr().out)["ConnectionEstablished"] == 1


@pytest.mark.parametrize("value", ["{token}", "Bearer {token}"])
def test_authorization_query_parameter_is_accepted(world: World, value: str) -> None:
    token = world.tokens("user-2", "tenant-b")
    connection_id, response = world.connect(Authorization=value.format(token=token))

    assert response["statusCode"] == 200
    item = world.get(world.connections_table, f"CONN#{connection_id}", "META")
    assert item is not None
    assert item["tenant_id"] == "tenant-b"


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"token": "not-a-jwt"},
        {"Authorization": "Bearer "},
        {"sessionId": "not-a-uuid"},
        {"sessionId": "2b1f6c1e-6f2a-4f57-9d39-5d1c3c1b0a11"},  # well-formed, unknown
    ],
)
def test_bad_or_missing_credentials_refuse_the_handshake(world: World, query: dict[str, str]) -> None:
    connection_id, response = world.connect(**query)

    assert response["statusCode"] == 401
    assert "error" in json.loads(response["body"])
    assert world.get(world.connections_table, f"CONN#{connection_id}", "META") is None


def test_token_signed_with_another_key_is_refused(world: World) -> None:
    import jwt

    forged = jwt.encode(
        {"sub": "u", "tenant_id": "t", "iat": int(time.time()), "exp": int(time.time()) + 60},
        "x" * 40,
        algorithm="HS256",
    )
    _, response = world.connect(token=forged)
    assert response["statusCode"] == 401


def test_open_qr_session_connects_and_records_the_socket(world: World) -> None:
    session_id = world.session()

    connection_id, response = world.connect(sessionId=session_id)

    assert response["statusCode"] == 200
    connection = world.get(world.connections_table, f"CONN#{connection_id}", "META")
    assert connection is not None
    assert connection["session_id"] == session_id
    assert "user_id" not in connection
    session = world.get(world.sessions_table, session_id)
    assert session is not None
    assert session["connection_id"] == connection_id


@pytest.mark.parametrize(("expires_in", "status"), [(-5, "AWAITING_SCAN"), (600, "COMPLETED")])
def test_expired_or_completed_session_is_refused(world: World, expires_in: int, status: str) -> None:
    session_id = world.session(expires_in=expires_in, status=status)

    _, response = world.connect(sessionId=session_id)

    assert response["statusCode"] == 401
    session = world.get(world.sessions_table, session_id)
    assert session is not None
    assert "connection_id" not in session


def test_internal_failure_refuses_without_internals(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the connections table is unreachable (its name points nowhere)
    monkeypatch.setenv("CONNECTIONS_TABLE", "no-such-table")
    from runtime.common import settings

    settings.reset()
    event: dict[str, Any] = ws_event("$connect", ws_connection_id(), query={"token": world.tokens("u")})

    response = handler.connect_handler(event, lambda_context())

    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {"error": "internal server error"}
