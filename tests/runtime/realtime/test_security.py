"""`$connect` refuses every flawed token the HTTP routes refuse, and no token reaches the logs.

A WebSocket client sends its token in the query string, which API Gateway hands the function
in the event: logging the event, or the query, would write every user's credential into the logs.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.runtime.realtime.conftest import RecordingConnections, World
from tests.support.tokens import forge_token


def forge(key: str, *, drop: tuple[str, ...] = (), **claims: Any) -> str:
    return forge_token(key, user_id="alice", tenant_id="tenant-a", drop=drop, **claims)


@pytest.mark.parametrize(
    ("drop", "claims"),
    [
        (("exp",), {}),
        ((), {"aud": "someone-else"}),
        ((), {"iss": "https://evil.example.com"}),
        ((), {"iat": int(time.time()) + 3600}),
        ((), {"exp": int(time.time()) - 60}),
    ],
)
def test_a_flawed_token_refuses_the_handshake(
    world: World, signing_key: str, drop: tuple[str, ...], claims: dict[str, Any]
) -> None:
    for name in ("token", "Authorization"):
        connection_id, response = world.connect(**{name: forge(signing_key, drop=drop, **claims)})
        assert response["statusCode"] == 401
        assert world.get(world.connections_table, f"CONN#{connection_id}", "META") is None


def test_the_forged_tokens_are_right_but_for_their_flaw(world: World, signing_key: str) -> None:
    _, response = world.connect(token=forge(signing_key))
    assert response["statusCode"] == 200


def test_no_token_reaches_the_logs(
    world: World,
    sockets: RecordingConnections,
    signing_key: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = forge(signing_key)
    expired = forge(signing_key, exp=int(time.time()) - 60)
    _, accepted = world.connect(token=good)
    _, refused = world.connect(Authorization=f"Bearer {expired}")
    assert (accepted["statusCode"], refused["statusCode"]) == (200, 401)
    connection_id = world.connected("bob")
    world.send(connection_id, {"action": "ping"})
    world.send(connection_id, raw=json.dumps({"action": "sendMessage", "token": good}))

    captured = capsys.readouterr()
    output = captured.out + captured.err + caplog.text
    assert "connect" in output.lower()  # the handshakes were logged...
    for secret in (good, expired, signing_key, good.split(".")[2]):
        assert secret not in output  # ...without the credential or the key
