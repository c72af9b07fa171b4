"""Other areas push frames through ``runtime.realtime.notify`` (QR completion, image pipeline)."""

from __future__ import annotations

import pytest

from runtime.realtime.notify import notifier
from tests.runtime.realtime.conftest import RecordingConnections, World


def test_notify_session_reaches_the_qr_page(world: World, sockets: RecordingConnections) -> None:
    session_id = world.session()
    page, _ = world.connect(sessionId=session_id)
    other_page, _ = world.connect(sessionId=world.session())
    frame = {"action": "UPLOAD_COMPLETED", "sessionId": session_id, "uploadKey": "k", "timestamp": 1}

    delivered = notifier().notify_session(session_id, frame)

    assert delivered == 1
    assert sockets.received(page) == [frame]
    assert sockets.received(other_page) == []


def test_notify_user_reaches_every_socket_and_drops_gone_ones(world: World, sockets: RecordingConnections) -> None:
    laptop, phone, stale = world.connected("alice"), world.connected("alice"), world.connected("alice")
    bob = world.connected("bob")
    sockets.gone.add(stale)
    frame = {"action": "IMAGE_PROCESSED", "imageId": "img-1", "status": "COMPLETED"}

    delivered = notifier().notify_user("alice", frame)

    assert delivered == 2
    assert sockets.received(laptop) == sockets.received(phone) == [frame]
    assert sockets.received(bob) == []
    assert world.get(world.connections_table, f"CONN#{stale}", "META") is None


def test_nobody_connected_is_zero_not_an_error(world: World, sockets: RecordingConnections) -> None:
    assert notifier().notify_user("nobody", {"action": "IMAGE_PROCESSED", "imageId": "x", "status": "FAILED"}) == 0


def test_a_frame_without_action_is_refused(world: World, sockets: RecordingConnections) -> None:
    with pytest.raises(ValueError, match="action"):
        notifier().notify_user("alice", {"imageId": "x"})
