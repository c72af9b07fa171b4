"""The WebSocket API: handshake with an authorizer, route selection, and @connections pushes."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.e2e.conftest import Runtime, wait_for

pytestmark = pytest.mark.slow


GOOD_TOKEN = "letmein"  # what the fixture's authorizer accepts


def open_socket(outputs: dict[str, str]) -> ClientConnection:
    return connect(f"{outputs['WebSocketUrl']}?token={GOOD_TOKEN}", open_timeout=20)


def management(runtime: Runtime, outputs: dict[str, str]):
    """boto3's management client, on the callback URL the templates give the functions."""
    import boto3

    aws = runtime.endpoints["aws"]
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=outputs["CallbackUrl"],
        region_name=aws["region"],
        aws_access_key_id=aws["access_key_id"],
        aws_secret_access_key=aws["secret_access_key"],
    )


def whoami(socket: ClientConnection) -> dict:
    socket.send(json.dumps({"action": "whoami"}))
    return json.loads(socket.recv(timeout=20))


@pytest.mark.parametrize(("token", "status"), [("", 401), ("wrong", 403)])
def test_the_authorizer_refuses_the_handshake(fixture_outputs: dict[str, str], token: str, status: int) -> None:
    url = fixture_outputs["WebSocketUrl"] + (f"?token={token}" if token else "")
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=20)
    assert refused.value.response.status_code == status


def test_routes_are_selected_by_the_action_field(fixture_outputs: dict[str, str]) -> None:
    with open_socket(fixture_outputs) as socket:
        me = whoami(socket)
        assert me["principal"] == "alice"
        assert me["tenant"] == "t-1"
        assert me["connectionId"].endswith("=")
        socket.send("not json at all")
        assert json.loads(socket.recv(timeout=20)) == {"default": "not json at all"}
        socket.send(json.dumps({"action": "no-such-route"}))
        assert json.loads(socket.recv(timeout=20))["default"] == '{"action": "no-such-route"}'


def test_a_function_pushes_through_the_management_api(fixture_outputs: dict[str, str]) -> None:
    with open_socket(fixture_outputs) as socket:
        socket.send(json.dumps({"action": "push", "message": "hello"}))
        assert json.loads(socket.recv(timeout=20)) == {"pushed": "hello"}


def test_connections_endpoint_posts_describes_deletes_and_reports_gone(
    fixture_runtime: Runtime, fixture_outputs: dict[str, str]
) -> None:
    client = management(fixture_runtime, fixture_outputs)
    with open_socket(fixture_outputs) as socket:
        connection_id = whoami(socket)["connectionId"]
        client.post_to_connection(ConnectionId=connection_id, Data=b'{"from":"backend"}')
        assert json.loads(socket.recv(timeout=20)) == {"from": "backend"}
        described = client.get_connection(ConnectionId=connection_id)
        assert described["Identity"]["SourceIp"] == "127.0.0.1"
        assert described["ConnectedAt"] <= described["LastActiveAt"]
        client.delete_connection(ConnectionId=connection_id)
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=20)
    with pytest.raises(ClientError) as gone:
        client.post_to_connection(ConnectionId=connection_id, Data=b"{}")
    assert gone.value.response["Error"]["Code"] == "GoneException"
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410
    with pytest.raises(ClientError) as unknown:
        client.post_to_connection(ConnectionId="NoSuchConnection=", Data=b"{}")
    assert unknown.value.response["Error"]["Code"] == "GoneException"
    wait_for(lambda: any(r["trigger"] == "$disconnect" for r in fixture_runtime.invocations()))


def test_frames_over_32_kb_close_the_connection(fixture_outputs: dict[str, str]) -> None:
    with open_socket(fixture_outputs) as socket:
        socket.send(json.dumps({"action": "whoami", "padding": "x" * 40_000}))
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=20)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009


def test_posts_over_128_kb_are_refused(fixture_runtime: Runtime, fixture_outputs: dict[str, str]) -> None:
    client = management(fixture_runtime, fixture_outputs)
    with open_socket(fixture_outputs) as socket:
        connection_id = whoami(socket)["connectionId"]
        with pytest.raises(ClientError) as too_large:
            client.post_to_connection(ConnectionId=connection_id, Data=b"x" * (128 * 1024 + 1))
        assert too_large.value.response["Error"]["Code"] == "PayloadTooLargeException"
