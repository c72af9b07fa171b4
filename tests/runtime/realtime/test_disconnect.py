"""`$disconnect`: the socket and its subscriptions go, a QR page lets go of its session, and a
user's last socket settles the calls they left hanging (the others hear of it through the stream)."""

from __future__ import annotations

import pytest

from runtime.realtime.models import CallStatus
from tests.runtime.realtime.conftest import RecordingConnections, World, emitted_metrics


def _call(world: World, call_id: str) -> dict[str, object]:
    item = world.get(world.chat_table, f"CALL#{call_id}", "CALL")
    assert item is not None
    return item


def test_disconnect_removes_connection_and_subscriptions(
    world: World, sockets: RecordingConnections, capsys: pytest.CaptureFixture[str]
) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    connection_id = world.connected("alice")
    world.send(connection_id, {"action": "subscribe", "conversation_id": conversation_id})
    capsys.readouterr()

    response = world.disconnect(connection_id)

    assert response["statusCode"] == 200
    assert world.get(world.connections_table, f"CONN#{connection_id}", "META") is None
    assert world.get(world.connections_table, f"CONN#{connection_id}", f"SUB#{conversation_id}") is None
    emitted = emitted_metrics(capsys.readouterr().out)
    assert emitted["ConnectionDisconnected"] == 1
    assert emitted["ConnectionDuration"] >= 0


def test_disconnect_of_an_unknown_connection_still_succeeds(world: World) -> None:
    assert world.disconnect("bm90LWhlcmU=")["statusCode"] == 200


def test_disconnect_always_succeeds_even_when_cleanup_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.common import settings

    monkeypatch.setenv("CONNECTIONS_TABLE", "no-such-table")
    settings.reset()

    assert world.disconnect("c29tZS1pZA==")["statusCode"] == 200


def test_qr_page_disconnect_clears_the_sessions_connection(world: World) -> None:
    session_id = world.session()
    connection_id, _ = world.connect(sessionId=session_id)

    world.disconnect(connection_id)

    session = world.get(world.sessions_table, session_id)
    assert session is not None
    assert "connection_id" not in session
    assert session["status"] == "AWAITING_SCAN"


def test_last_socket_closing_turns_a_ringing_call_into_missed(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    call_id = world.call(conversation_id, "alice")
    alice = world.connected("alice")
    bob = world.connected("bob")
    world.stream_records()  # what happened before the disconnect is not under test

    world.disconnect(alice)

    call = _call(world, call_id)
    assert call["status"] == "missed"
    assert call["end_reason"] == "disconnected"
    assert world.get(world.chat_table, "USER#alice", f"ACTIVECALL#{call_id}") is None
    # Bob is told through the one delivery path: the call's transition and its call message.
    world.process()
    call_frames = sockets.received(bob, "call")
    assert [f["call"]["status"] for f in call_frames] == ["missed"]
    messages = sockets.received(bob, "message")
    assert len(messages) == 1
    assert messages[0]["message"]["type"] == "call"
    assert messages[0]["message"]["call"] == {"call_id": call_id, "status": "missed", "call_type": "video"}


def test_a_connected_call_ends_with_its_duration(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    call_id = world.call(
        conversation_id, "alice", status=CallStatus.CONNECTED, accepted_by="bob", connected_seconds_ago=42
    )
    bob = world.connected("bob")

    world.disconnect(bob)

    call = _call(world, call_id)
    assert call["status"] == "ended"
    assert 42 <= int(call["duration_seconds"]) <= 45  # type: ignore[call-overload]
    for user in ("alice", "bob"):
        assert world.get(world.chat_table, f"USER#{user}", f"ACTIVECALL#{call_id}") is None


def test_another_open_socket_keeps_the_call_going(world: World, sockets: RecordingConnections) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    call_id = world.call(conversation_id, "alice")
    laptop, phone = world.connected("alice"), world.connected("alice")

    world.disconnect(laptop)
    assert _call(world, call_id)["status"] == "ringing"

    world.disconnect(phone)
    assert _call(world, call_id)["status"] == "missed"


def test_a_call_someone_else_is_ringing_is_left_alone(world: World, sockets: RecordingConnections) -> None:
    # Bob is being called by alice; bob closing his app does not decide alice's call.
    conversation_id = world.conversation(["alice", "bob"])
    call_id = world.call(conversation_id, "alice")
    bob = world.connected("bob")

    world.disconnect(bob)

    assert _call(world, call_id)["status"] == "ringing"


def test_a_call_that_already_ended_is_not_touched_and_its_stale_marker_goes(
    world: World, sockets: RecordingConnections
) -> None:
    conversation_id = world.conversation(["alice", "bob"])
    call_id = world.call(conversation_id, "alice", status=CallStatus.REJECTED)
    before = _call(world, call_id)
    alice = world.connected("alice")

    world.disconnect(alice)

    assert _call(world, call_id) == before
    assert world.get(world.chat_table, "USER#alice", f"ACTIVECALL#{call_id}") is None
