"""S3 notifications as SQS delivers them: test events, encoded keys, poison bodies."""

from __future__ import annotations

import json

import pytest

from runtime.common.errors import BadRequestError
from runtime.common.s3_events import parse_created_objects


def notification(*keys: str, event: str = "ObjectCreated:Put") -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "eventName": event,
                    "s3": {
                        "bucket": {"name": "uploads", "arn": "arn:aws:s3:::uploads"},
                        "object": {"key": key, "size": 10, "eTag": "abc", "sequencer": "0055AED6DCD90281E5"},
                    },
                }
                for key in keys
            ]
        }
    )


def test_test_event_is_nothing_to_do() -> None:
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "uploads"})
    assert parse_created_objects(body) == []


def test_keys_are_url_decoded() -> None:
    (obj,) = parse_created_objects(notification("uploads/u1/my+photo%281%29.jpg"))
    assert obj.key == "uploads/u1/my photo(1).jpg"
    assert (obj.bucket, obj.size, obj.sequencer) == ("uploads", 10, "0055AED6DCD90281E5")


def test_only_created_events_count() -> None:
    assert parse_created_objects(notification("a", event="ObjectRemoved:Delete")) == []


@pytest.mark.parametrize("body", ["not json", "[]", '{"Records": "x"}', '{"Records": [{"eventName": 1}]}'])
def test_poison_bodies_raise(body: str) -> None:
    with pytest.raises(BadRequestError):
        parse_created_objects(body)
