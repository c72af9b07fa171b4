"""An object under a session's prefix completes it once and tells its waiting page."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from runtime.uploads.logic import SessionCompletion, parse_session_key
from runtime.uploads.models import CompletedSession


class FakeSessions:
    """The repository's rules in memory: complete once; a repeat of the same key until the page was told."""

    def __init__(self, session_id: str) -> None:
        self.items: dict[str, dict[str, Any]] = {
            session_id: {"pk": session_id, "status": "UPLOAD_REQUESTED", "created_at": 1000}
        }

    def complete(self, session_id: str, *, upload_key: str, now: int) -> CompletedSession | None:
        item = self.items.get(session_id)
        if item is None:
            return None
        repeated = item["status"] == "COMPLETED"
        if repeated and (item["upload_key"] != upload_key or "notified_at" in item):
            return None
        item.setdefault("completed_at", now)
        item.update(status="COMPLETED", upload_key=upload_key)
        return CompletedSession(created_at=item["created_at"], completed_at=item["completed_at"], first=not repeated)

    def mark_notified(self, session_id: str, *, now: int) -> None:
        self.items[session_id]["notified_at"] = now


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


class FailingNotifier(RecordingNotifier):
    def notify_session(self, session_id: str, frame: dict[str, Any]) -> int:
        raise ConnectionError("connections table throttled")


def test_a_failure_after_completing_tells_the_page_on_the_redelivery() -> None:
    # Given the session was completed but telling its page failed (the event is redelivered)
    session_id = str(uuid.uuid4())
    store = FakeSessions(session_id)
    key = f"session-uploads/{session_id}/image-1"
    with pytest.raises(ConnectionError):
        SessionCompletion(store=store, notifier=FailingNotifier(), clock=lambda: 1300.0).complete(key)
    # When the redelivery arrives later, Then the page is told, with the first completion's time
    notifier = RecordingNotifier()
    done = SessionCompletion(store=store, notifier=notifier, clock=lambda: 1400.0).complete(key)
    assert done is not None
    assert done.repeated
    assert [frame["timestamp"] for _, frame in notifier.frames] == [1300]
    # and another key (a second upload) never completes it again
    other = f"session-uploads/{session_id}/image-2"
    assert SessionCompletion(store=store, notifier=notifier).complete(other) is None


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
