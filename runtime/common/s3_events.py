"""S3 event notifications as they arrive through SQS.

S3 sends an ``s3:TestEvent`` when a notification is configured (it has no ``Records``), keys
arrive URL-encoded (``+`` for spaces), and one message may hold several records. A body that
is not an S3 notification at all is a poison message: it raises, so the batch reports it as
failed and SQS parks it in the DLQ after its receive count.
"""

from __future__ import annotations

import json
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runtime.common.errors import BadRequestError


class _Object(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str = Field(min_length=1, max_length=1024)
    size: int = 0
    eTag: str = ""
    sequencer: str = ""


class _Bucket(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str


class _S3(BaseModel):
    model_config = ConfigDict(extra="ignore")

    bucket: _Bucket
    object: _Object


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")

    eventName: str
    s3: _S3


class _Notification(BaseModel):
    model_config = ConfigDict(extra="ignore")

    Records: list[_Record] = Field(max_length=100)


class CreatedObject(BaseModel):
    """One ObjectCreated record, key decoded."""

    bucket: str
    key: str
    size: int
    etag: str
    sequencer: str


def parse_created_objects(body: str) -> list[CreatedObject]:
    """The ObjectCreated records of one SQS message body; [] for S3's test event."""
    try:
        data = json.loads(body)
    except ValueError as error:
        raise BadRequestError("message body is not JSON") from error
    if isinstance(data, dict) and data.get("Event") == "s3:TestEvent":
        return []
    try:
        notification = _Notification.model_validate(data)
    except ValidationError as error:
        raise BadRequestError("message is not an S3 event notification") from error
    return [
        CreatedObject(
            bucket=record.s3.bucket.name,
            key=unquote_plus(record.s3.object.key),
            size=record.s3.object.size,
            etag=record.s3.object.eTag,
            sequencer=record.s3.object.sequencer,
        )
        for record in notification.Records
        if record.eventName.startswith("ObjectCreated:")
    ]
