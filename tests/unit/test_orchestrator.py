"""One execution per uploaded object version, whatever S3 and SQS repeat."""

from __future__ import annotations

import re
import uuid
from typing import Any

from runtime.common.s3_events import CreatedObject
from runtime.pipeline.orchestrator import Orchestrator, execution_name


class FakeStarter:
    """Step Functions' name uniqueness, in memory."""

    def __init__(self) -> None:
        self.started: dict[str, dict[str, Any]] = {}

    def start(self, name: str, payload: dict[str, Any]) -> bool:
        if name in self.started:
            return False
        self.started[name] = payload
        return True


def created(key: str, sequencer: str = "0001") -> CreatedObject:
    return CreatedObject(bucket="uploads", key=key, size=5, etag="e", sequencer=sequencer)


def test_execution_name_is_valid_and_stable() -> None:
    image_id = str(uuid.uuid4())
    name = execution_name(image_id, created(f"uploads/u/{image_id}.jpg"))
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", name)
    assert name == execution_name(image_id, created(f"uploads/u/{image_id}.jpg"))
    assert name != execution_name(image_id, created(f"uploads/u/{image_id}.jpg", sequencer="0002"))


def test_duplicate_events_start_nothing_new() -> None:
    starter = FakeStarter()
    orchestrator = Orchestrator(starter=starter)
    image_id = str(uuid.uuid4())
    obj = created(f"uploads/user-1/{image_id}.png")
    assert len(orchestrator.handle([obj])) == 1
    assert orchestrator.handle([obj]) == []
    (payload,) = starter.started.values()
    assert payload == {
        "bucket": "uploads",
        "key": f"uploads/user-1/{image_id}.png",
        "size": 5,
        "owner_id": "user-1",
        "image_id": image_id,
    }


def test_keys_outside_the_upload_layout_are_ignored() -> None:
    starter = FakeStarter()
    orchestrator = Orchestrator(starter=starter)
    keys = [
        "uploads/user-1/not-a-uuid.jpg",
        "uploads/a/b/c.jpg",
        f"other/{uuid.uuid4()}.jpg",
        f"uploads/u/{uuid.uuid4()}.exe",
    ]
    assert orchestrator.handle([created(k) for k in keys]) == []
