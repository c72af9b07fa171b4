"""HTTP routes for QR upload sessions (anonymous: the session id is the capability) and images."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from runtime import startup_complete
from runtime.common.http import BEARER, Path, Query, create_resolver, current_identity
from runtime.common.observability import logger, metrics, tracer
from runtime.common.pagination import DEFAULT_LIMIT, MAX_LIMIT
from runtime.common.settings import FunctionSettings, load
from runtime.uploads.logic import ImageService, SessionService
from runtime.uploads.models import (
    ALLOWED_IMAGE_TYPES,
    SESSION_ID_SCHEMA,
    ImagePage,
    ImageView,
    PresignedUpload,
    SessionCreated,
    SessionView,
    UploadRequest,
    UploadUrl,
)
from runtime.uploads.repository import ImageRepository, SessionRepository
from runtime.uploads.storage import UploadSigner, s3_client


class UploadSettings(FunctionSettings):
    upload_sessions_table: str
    images_table: str
    uploads_bucket: str
    images_bucket: str


@cache
def _signer() -> UploadSigner:
    settings = load(UploadSettings)
    return UploadSigner(
        uploads_bucket=settings.uploads_bucket, images_bucket=settings.images_bucket, client=s3_client()
    )


@cache
def sessions() -> SessionService:
    return SessionService(store=SessionRepository(load(UploadSettings).upload_sessions_table), signer=_signer())


@cache
def images() -> ImageService:
    return ImageService(store=ImageRepository(load(UploadSettings).images_table), signer=_signer())


app = create_resolver()


@app.post("/sessions")
def create_session() -> SessionCreated:
    created = sessions().create()
    metrics.add_metric(name="SessionsCreated", unit=MetricUnit.Count, value=1)
    logger.info("upload session created", extra={"session_id": created.sessionId})
    return created


@app.get("/upload-url")
def upload_url(
    session_id: Annotated[
        str | None, Query(alias="sessionId", max_length=64, json_schema_extra=SESSION_ID_SCHEMA)
    ] = None,
    content_type: Annotated[
        str | None, Query(alias="contentType", max_length=100, json_schema_extra={"enum": list(ALLOWED_IMAGE_TYPES)})
    ] = None,
) -> UploadUrl:
    return sessions().upload_url(session_id, content_type)


@app.get("/sessions/<sessionId>")
def get_session(sessionId: Annotated[str, Path(json_schema_extra=SESSION_ID_SCHEMA)]) -> SessionView:
    return sessions().view(sessionId)


@app.post("/upload", security=BEARER)
def request_image_upload(request: UploadRequest) -> PresignedUpload:
    caller = current_identity(app)
    upload = images().request_upload(caller, file_name=request.fileName, file_type=request.fileType)
    logger.info("image upload presigned", extra={"image_id": upload.imageId, "user_id": caller.user_id})
    return upload


@app.get("/images", security=BEARER)
def list_images(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> ImagePage:
    return images().list(current_identity(app), limit=limit, next_token=next_token)


@app.get("/images/<imageId>", security=BEARER)
def get_image(imageId: str) -> ImageView:
    return images().get(current_identity(app), imageId)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


startup_complete()  # the last statement: see runtime/__init__.py
