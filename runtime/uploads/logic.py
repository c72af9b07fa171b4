"""Upload rules, free of Lambda and boto3: who may upload what, where, and for how long."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from runtime.common.errors import BadRequestError, ConflictError, NotFoundError
from runtime.common.identity import Identity
from runtime.common.names import Prefix
from runtime.common.pagination import decode_token, encode_token
from runtime.uploads.models import (
    ALLOWED_IMAGE_TYPES,
    MAX_IMAGE_BYTES,
    CompletedSession,
    ImageMetadata,
    ImagePage,
    ImageStatus,
    ImageView,
    PresignedUpload,
    SessionCreated,
    SessionStatus,
    SessionView,
    UploadUrl,
    Variant,
)

SESSION_LIFETIME_SECONDS = 30 * 60
# Sessions stay readable for a while after they expire, then DynamoDB's TTL removes them.
SESSION_RETENTION_SECONDS = 24 * 60 * 60
PUT_URL_SECONDS = 5 * 60
POST_URL_SECONDS = 5 * 60
GET_URL_SECONDS = 60 * 60
# An upload that never arrives leaves a record that expires on its own after a day.
PENDING_IMAGE_TTL_SECONDS = 24 * 60 * 60
DEFAULT_SESSION_CONTENT_TYPE = "image/jpeg"


class SessionStore(Protocol):
    def create(self, session_id: str, *, created_at: int, expires_at: int, ttl: int) -> None: ...
    def get(self, session_id: str) -> dict[str, Any] | None: ...
    def request_upload(self, session_id: str, *, upload_key: str, now: int) -> None: ...


class ImageStore(Protocol):
    def create(self, record: dict[str, Any]) -> None: ...
    def get(self, owner_id: str, image_id: str) -> dict[str, Any] | None: ...
    def list(
        self, owner_id: str, *, limit: int, start_key: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...


class Signer(Protocol):
    def presign_put(self, key: str, *, content_type: str, expires_in: int) -> str: ...
    def presign_post(self, key: str, *, content_type: str, max_bytes: int, expires_in: int) -> dict[str, Any]: ...
    def presign_get(self, key: str, *, expires_in: int) -> str: ...


def parse_session_id(value: str | None) -> str:
    """Session ids are the capability, so only canonical UUIDs are looked up at all."""
    if not value:
        raise BadRequestError("sessionId is required")
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise BadRequestError("sessionId is not a valid session id") from None
    if str(parsed) != value.lower():
        raise BadRequestError("sessionId is not a valid session id")
    return str(parsed)


def session_key_prefix(session_id: str) -> str:
    return f"{Prefix.SESSION_UPLOADS}{session_id}/"


@dataclass
class SessionService:
    store: SessionStore
    signer: Signer
    clock: Callable[[], float] = time.time

    def create(self) -> SessionCreated:
        now = int(self.clock())
        session_id = str(uuid.uuid4())
        expires_at = now + SESSION_LIFETIME_SECONDS
        self.store.create(session_id, created_at=now, expires_at=expires_at, ttl=expires_at + SESSION_RETENTION_SECONDS)
        return SessionCreated(sessionId=session_id, expiresAt=expires_at)

    def view(self, raw_session_id: str | None) -> SessionView:
        session = self._existing(parse_session_id(raw_session_id))
        return SessionView(
            sessionId=session["pk"],
            status=SessionStatus(session["status"]),
            expiresAt=int(session["expires_at"]),
            uploadKey=session.get("upload_key"),
        )

    def upload_url(self, raw_session_id: str | None, content_type: str | None) -> UploadUrl:
        session_id = parse_session_id(raw_session_id)
        content_type = content_type or DEFAULT_SESSION_CONTENT_TYPE
        if content_type not in ALLOWED_IMAGE_TYPES:
            raise BadRequestError("contentType must be one of " + ", ".join(ALLOWED_IMAGE_TYPES))
        session = self._existing(session_id)
        now_ms = int(self.clock() * 1000)
        now = now_ms // 1000
        if session["status"] == SessionStatus.COMPLETED:
            raise BadRequestError("session is already completed")
        if int(session["expires_at"]) <= now:
            raise BadRequestError("session has expired")
        key = f"{session_key_prefix(session_id)}image-{now_ms}"
        try:
            self.store.request_upload(session_id, upload_key=key, now=now)
        except ConflictError:
            # Completed or expired between the read and the write: answer as if we had seen it.
            raise BadRequestError("session can no longer accept an upload") from None
        url = self.signer.presign_put(key, content_type=content_type, expires_in=PUT_URL_SECONDS)
        return UploadUrl(
            uploadUrl=url, uploadKey=key, headers={"Content-Type": content_type}, expiresIn=PUT_URL_SECONDS
        )

    def _existing(self, session_id: str) -> dict[str, Any]:
        session = self.store.get(session_id)
        if session is None:
            raise NotFoundError("session not found")
        return session


def image_key(owner_id: str, image_id: str, extension: str) -> str:
    return f"{Prefix.IMAGE_UPLOADS}{owner_id}/{image_id}.{extension}"


def parse_image_key(key: str) -> tuple[str, str] | None:
    """(owner_id, image_id) of ``uploads/{owner}/{image}.{ext}``; None for any other key."""
    if not key.startswith(Prefix.IMAGE_UPLOADS):
        return None
    parts = key[len(Prefix.IMAGE_UPLOADS) :].split("/")
    if len(parts) != 2 or "." not in parts[1]:
        return None
    owner_id, file_name = parts
    image_id, _, extension = file_name.rpartition(".")
    if not owner_id or extension not in ALLOWED_IMAGE_TYPES.values():
        return None
    try:
        uuid.UUID(image_id)
    except ValueError:
        return None
    return owner_id, image_id


@dataclass
class ImageService:
    store: ImageStore
    signer: Signer
    clock: Callable[[], float] = time.time

    def request_upload(self, caller: Identity, *, file_name: str, file_type: str) -> PresignedUpload:
        extension = ALLOWED_IMAGE_TYPES.get(file_type.lower())
        if extension is None:
            raise BadRequestError("fileType must be one of " + ", ".join(ALLOWED_IMAGE_TYPES))
        image_id = str(uuid.uuid4())
        key = image_key(caller.user_id, image_id, extension)
        now = int(self.clock())
        post = self.signer.presign_post(
            key, content_type=file_type.lower(), max_bytes=MAX_IMAGE_BYTES, expires_in=POST_URL_SECONDS
        )
        self.store.create(
            {
                "owner_id": caller.user_id,
                "image_id": image_id,
                "tenant_id": caller.tenant_id,
                "status": ImageStatus.UPLOADED.value,
                "file_name": file_name,
                "file_type": file_type.lower(),
                "file_key": key,
                "created_at": now,
                "ttl": now + PENDING_IMAGE_TTL_SECONDS,
            }
        )
        return PresignedUpload(
            imageId=image_id,
            uploadUrl=post["url"],
            fields={k: str(v) for k, v in post["fields"].items()},
            fileKey=key,
            expiresIn=POST_URL_SECONDS,
        )

    def get(self, caller: Identity, image_id: str) -> ImageView:
        try:
            uuid.UUID(image_id)
        except ValueError:
            raise NotFoundError("image not found") from None
        record = self.store.get(caller.user_id, image_id)
        if record is None:
            raise NotFoundError("image not found")
        return self._view(record)

    def list(self, caller: Identity, *, limit: int, next_token: str | None) -> ImagePage:
        start = decode_token(next_token, expected_keys={"owner_id", "image_id", "created_at"})
        if start is not None and start.get("owner_id") != caller.user_id:
            raise BadRequestError("next_token is not valid")
        items, last = self.store.list(caller.user_id, limit=limit, start_key=start)
        return ImagePage(items=[self._view(item) for item in items], next_token=encode_token(last))

    def _view(self, record: dict[str, Any]) -> ImageView:
        metadata = record.get("metadata")
        variants = [
            Variant(
                size=v["size"],
                dimensions={"width": int(v["width"]), "height": int(v["height"])},
                url=self.signer.presign_get(v["key"], expires_in=GET_URL_SECONDS),
                fileSize=int(v["file_size"]),
            )
            for v in record.get("variants") or []
        ]
        return ImageView(
            imageId=record["image_id"],
            status=ImageStatus(record["status"]),
            fileName=record.get("file_name", ""),
            createdAt=int(record.get("created_at", 0)),
            metadata=ImageMetadata(**metadata) if metadata else None,
            variants=variants,
            error=record.get("error"),
        )


def parse_session_key(key: str) -> str | None:
    """The session id of ``session-uploads/{sessionId}/image-{ts}``; None for any other key."""
    if not key.startswith(Prefix.SESSION_UPLOADS):
        return None
    session_id, _, rest = key[len(Prefix.SESSION_UPLOADS) :].partition("/")
    if not rest.startswith("image-") or "/" in rest:
        return None
    try:
        return parse_session_id(session_id)
    except BadRequestError:
        return None


class CompletionStore(Protocol):
    def complete(self, session_id: str, *, upload_key: str, now: int) -> CompletedSession | None: ...

    def mark_notified(self, session_id: str, *, now: int) -> None: ...


class SessionNotifier(Protocol):
    def notify_session(self, session_id: str, frame: dict[str, Any]) -> int:
        """Push ``frame`` to the session's waiting pages; return how many received it."""
        ...


@dataclass(frozen=True)
class Completion:
    session_id: str
    upload_key: str
    completed_at: int
    duration_seconds: int
    delivered: int
    repeated: bool = False


@dataclass
class SessionCompletion:
    """An object landed under a session's prefix: complete the session once and tell its page.

    The page is told at least once: the notification is recorded after it was sent, so a
    failure in between (the event is then redelivered) tells it again rather than never.
    """

    store: CompletionStore
    notifier: SessionNotifier
    clock: Callable[[], float] = time.time

    def complete(self, key: str) -> Completion | None:
        session_id = parse_session_key(key)
        if session_id is None:
            return None
        now = int(self.clock())
        session = self.store.complete(session_id, upload_key=key, now=now)
        if session is None:
            return None  # already completed and told (a repeated event), or unknown: nothing changes
        frame = {
            "action": "UPLOAD_COMPLETED",
            "sessionId": session_id,
            "uploadKey": key,
            "timestamp": session.completed_at,
        }
        delivered = self.notifier.notify_session(session_id, frame)
        self.store.mark_notified(session_id, now=now)
        return Completion(
            session_id=session_id,
            upload_key=key,
            completed_at=session.completed_at,
            duration_seconds=max(0, session.completed_at - session.created_at),
            delivered=delivered,
            repeated=not session.first,
        )
