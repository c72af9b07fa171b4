"""What the uploads API accepts and returns (field names as CONTRACT.md spells them)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SessionStatus(StrEnum):
    AWAITING_SCAN = "AWAITING_SCAN"
    UPLOAD_REQUESTED = "UPLOAD_REQUESTED"
    COMPLETED = "COMPLETED"


class ImageStatus(StrEnum):
    UPLOADED = "UPLOADED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class CompletedSession:
    """A session an upload completed; ``first`` is False when an earlier delivery of the same
    event completed it but its page may not have been told (the notification was not recorded)."""

    created_at: int
    completed_at: int
    first: bool


class _Model(BaseModel):
    # Built on first use: most functions import this module for its enums and build none of these
    # (the pipeline's steps, the stream and WebSocket functions), the uploads API only its routes'.
    model_config = ConfigDict(defer_build=True)


ALLOWED_IMAGE_TYPES: dict[str, str] = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif"}
MAX_IMAGE_BYTES = 10 * 1024 * 1024


class SessionCreated(_Model):
    sessionId: str
    expiresAt: int


class UploadUrl(_Model):
    uploadUrl: str
    uploadKey: str
    headers: dict[str, str]
    expiresIn: int


# What a session id looks like (a lower-case canonical UUID), for the OpenAPI document only: the
# service checks it itself, because the contract answers a malformed id with 400, not a 422.
SESSION_ID_SCHEMA: dict[str, Any] = {"pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"}


class SessionView(_Model):
    sessionId: str
    status: SessionStatus
    expiresAt: int
    uploadKey: str | None = None


class UploadRequest(_Model):
    model_config = ConfigDict(extra="forbid")

    fileName: str = Field(min_length=1, max_length=255)
    # Validated by the service (another type is the contract's 400, not a 422); the enum documents it.
    fileType: str = Field(min_length=1, max_length=100, json_schema_extra={"enum": list(ALLOWED_IMAGE_TYPES)})


class PresignedUpload(_Model):
    imageId: str
    uploadUrl: str
    fields: dict[str, str]
    fileKey: str
    expiresIn: int


class ImageMetadata(_Model):
    width: int
    height: int
    format: str
    colorSpace: str


class Variant(_Model):
    size: str
    dimensions: dict[str, int]
    url: str
    fileSize: int


class ImageView(_Model):
    imageId: str
    status: ImageStatus
    fileName: str
    createdAt: int
    metadata: ImageMetadata | None = None
    variants: list[Variant] = Field(default_factory=list)
    error: str | None = None


class ImagePage(_Model):
    items: list[ImageView]
    next_token: str | None


def as_json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=False)
