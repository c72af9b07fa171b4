"""An object under a session's prefix completes it once and tells its waiting page."""

from __future__ import annotations

import uuid
from typing import Any

from runtime.uploads.logic import SessionCompletion, parse_session_key


class FakeSessions:
    def __init__(self, session_id: str) -> None:
        self.items = {session_id: {"pk": session_id, "status": "UPLOAD_REQUESTED", "created_at": 1000}}

    def complete(self, session_id: str, *, upload_key: str, now: int) -> dict[str, Any] | None:
        item = self.items.get(session_id)
        if item is None or item["status"] == "COMPLETED":
            return None
        item.update(status="COMPLETED", upload_key=upload_key, completed_at=now)
        return dict(item)


class RecordingNotifier:
    def __init__(self) -> None:
        self.frames: list[tuple[str, dict[str, Any]]] = []

    def notify_session(self, session_id: str, frame: dict[str, Any]) -> int:
        self.frames.append((session_id, frame))
        return 1


def test_first_event_completes_and_notifies_repeats_change_nothing() -> None:
    session_id = str(uuid.uuid4())
    notifier = RecordingNotifier()
    completion = SessionCompletion(store=FakeSessions(session_id), notifier=notifier, clock=lambda: 1300.0)
    key = f"session-uploads/{session_id}/image-1300000"
    done = completion.complete(key)
    assert done is not None
    assert (done.duration_seconds, done.delivered) == (300, 1)
    assert notifier.frames == [
        (
            session_id,
            {"action": "UPLOAD_COMPLETED", "sessionId": session_id, "uploadKey": key, "timestamp": 1300},
        )
    ]
    assert completion.complete(key) is None
    assert len(notifier.frames) == 1


def test_unknown_sessions_and_foreign_keys_are_ignored() -> None:
    notifier = RecordingNotifier()
    completion = SessionCompletion(store=FakeSessions(str(uuid.uuid4())), notifier=notifier)
    assert completion.complete(f"session-uploads/{uuid.uuid4()}/image-1") is None
    assert completion.complete("uploads/u/x.jpg") is None
    assert notifier.frames == []


def test_session_keys_are_parsed_strictly() -> None:
    session_id = str(uuid.uuid4())
    assert parse_session_key(f"session-uploads/{session_id}/image-17") == session_id
    assert parse_session_key(f"session-uploads/{session_id}/other") is None
    assert parse_session_key(f"session-uploads/{session_id}/image-1/x") is None
    assert parse_session_key("session-uploads/not-a-uuid/image-1") is None
