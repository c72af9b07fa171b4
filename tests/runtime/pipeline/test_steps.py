"""The image state machine's steps against moto, driven with the payloads the state machine sends.

``run_pipeline`` plays the definition's control flow (Validate -> Resize -> Watermark -> Record,
any error caught into MarkFailed with Step Functions' ``{Error, Cause}``), so each upload case
in the issue ends where a real execution would: COMPLETED with correct variants, or FAILED with
a reason a user can read and nothing in the output bucket.
"""

from __future__ import annotations

import io
import json
import traceback
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from PIL import Image

from local.assembly import TableSpec
from runtime.common import settings
from runtime.common.names import Env
from runtime.common.observability import metrics
from runtime.pipeline import outcome_handler, steps_handler
from runtime.pipeline.imaging import process_image
from runtime.realtime import clients
from runtime.realtime.connections import ConnectionRegistry
from runtime.realtime.models import Connection
from runtime.uploads.repository import ImageRepository
from tests.support import images
from tests.support.events import WS_CALLBACK_URL, lambda_context
from tests.support.sockets import RecordingConnections

UPLOADS = "uploads-bucket"
IMAGES = "images-bucket"
OWNER = "user-1"


class Pipeline:
    def __init__(self, s3: Any, dynamodb: Any, tables: dict[str, TableSpec], sockets: RecordingConnections) -> None:
        self.s3 = s3
        self.dynamodb = dynamodb
        self.images_table = tables[Env.IMAGES_TABLE].physical_name
        self.sockets = sockets

    def upload(self, data: bytes, extension: str = "jpg") -> dict[str, Any]:
        image_id = str(uuid.uuid4())
        key = f"uploads/{OWNER}/{image_id}.{extension}"
        ImageRepository(self.images_table).create(
            {
                "owner_id": OWNER,
                "image_id": image_id,
                "status": "UPLOADED",
                "file_name": f"x.{extension}",
                "created_at": 1,
                "ttl": 9,
            }
        )
        self.s3.put_object(Bucket=UPLOADS, Key=key, Body=data)
        return {"bucket": UPLOADS, "key": key, "owner_id": OWNER, "image_id": image_id, "size": len(data)}

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        state: dict[str, Any] = dict(job)
        try:
            state["validation"] = steps_handler.validate({"job": job}, lambda_context())
            state["resized"] = steps_handler.resize({"job": job}, lambda_context())
            state["watermarked"] = steps_handler.watermark(
                {"job": state, "variants": state["resized"]["variants"]}, lambda_context()
            )
            state["recorded"] = outcome_handler.record(
                {
                    "job": state,
                    "metadata": state["validation"]["metadata"],
                    "variants": state["watermarked"]["variants"],
                },
                lambda_context(),
            )
        except Exception as error:
            state["error"] = {
                "Error": type(error).__name__,
                "Cause": json.dumps(
                    {
                        "errorMessage": str(error),
                        "errorType": type(error).__name__,
                        "stackTrace": traceback.format_exc(),
                    }
                ),
            }
            state["failure"] = outcome_handler.fail({"job": state, "error": state["error"]}, lambda_context())
        return state

    def record(self, job: dict[str, Any]) -> dict[str, Any]:
        record = ImageRepository(self.images_table).get(OWNER, job["image_id"])
        assert record is not None
        return record

    def outputs(self, job: dict[str, Any]) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=IMAGES, Prefix=f"variants/{OWNER}/{job['image_id']}/")
        return sorted(o["Key"] for o in listed.get("Contents", []))

    def staged(self) -> list[str]:
        return [o["Key"] for o in self.s3.list_objects_v2(Bucket=UPLOADS, Prefix="processing/").get("Contents", [])]

    def variant(self, key: str) -> Image.Image:
        body = self.s3.get_object(Bucket=IMAGES, Key=key)["Body"].read()
        image = Image.open(io.BytesIO(body))
        image.load()
        return image


@pytest.fixture
def pipeline(
    tables: dict[str, TableSpec], dynamodb: Any, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    s3.create_bucket(Bucket=UPLOADS)
    s3.create_bucket(Bucket=IMAGES)
    topic = boto3.client("sns", region_name="us-east-1").create_topic(Name="image-events")["TopicArn"]
    for name, value in (
        (Env.UPLOADS_BUCKET, UPLOADS),
        (Env.IMAGES_BUCKET, IMAGES),
        (Env.NOTIFICATIONS_TOPIC_ARN, topic),
        (Env.WEBSOCKET_ENDPOINT, WS_CALLBACK_URL),
    ):
        monkeypatch.setenv(name, value)
    settings.reset()
    clients.reset()
    steps_handler._steps.cache_clear()
    outcome_handler._steps.cache_clear()
    sockets = RecordingConnections()
    metrics.clear_metrics()
    with monkeypatch.context() as patch:
        patch.setattr(clients, "management_api", lambda endpoint_url: sockets)
        yield Pipeline(s3, dynamodb, tables, sockets)
        steps_handler._steps.cache_clear()
        outcome_handler._steps.cache_clear()
    clients.reset()


def test_a_photo_goes_through_every_step(pipeline: Pipeline, tables: dict[str, TableSpec]) -> None:
    registry = ConnectionRegistry(pipeline.dynamodb, tables[Env.CONNECTIONS_TABLE].physical_name)
    registry.add(
        Connection(connection_id="owner-socket", connected_at_ms=1, expires_at=2**31, user_id=OWNER, tenant_id="t")
    )
    photo = images.jpeg(4000, 3000)
    job = pipeline.upload(photo)
    state = pipeline.run(job)
    assert "error" not in state, state.get("error")
    record = pipeline.record(job)
    assert record["status"] == "COMPLETED"
    assert "ttl" not in record
    assert record["metadata"] == {"width": 4000, "height": 3000, "format": "JPEG", "colorSpace": "sRGB"}
    sizes = {v["size"]: (v["width"], v["height"]) for v in record["variants"]}
    assert sizes == {"small": (800, 600), "medium": (1200, 900), "large": (1440, 1080)}
    assert pipeline.outputs(job) == sorted(f"variants/{OWNER}/{job['image_id']}/{s}.jpg" for s in sizes)
    assert pipeline.staged() == [], "intermediates are removed once watermarked"
    # Resize hands Watermark pixels through S3, so each variant is encoded once: the very bytes
    # of the image core's one pass (no second JPEG generation).
    one_pass = {v.name: v.data for v in process_image(photo).variants}
    for size in sizes:
        key = f"variants/{OWNER}/{job['image_id']}/{size}.jpg"
        assert pipeline.s3.get_object(Bucket=IMAGES, Key=key)["Body"].read() == one_pass[size]
    large = pipeline.variant(f"variants/{OWNER}/{job['image_id']}/large.jpg")
    assert (large.format, large.size) == ("JPEG", (1440, 1080))
    assert large.info.get("progressive") or large.info.get("progression")
    assert pipeline.sockets.received("owner-socket", "IMAGE_PROCESSED") == [
        {"action": "IMAGE_PROCESSED", "imageId": job["image_id"], "status": "COMPLETED"}
    ]


def test_small_images_are_never_upscaled(pipeline: Pipeline) -> None:
    job = pipeline.upload(images.png(640, 480), "png")
    pipeline.run(job)
    record = pipeline.record(job)
    assert record["status"] == "COMPLETED"
    assert {(v["width"], v["height"]) for v in record["variants"]} == {(640, 480)}


@pytest.mark.parametrize(
    ("name", "data", "extension", "reason"),
    [
        ("truncated jpeg", images.jpeg(1200, 900)[:2000], "jpg", "damaged"),
        ("text file", b"hello, this is not an image at all\n" * 10, "jpg", "not a jpeg, png or gif"),
        ("zero bytes", b"", "png", "empty"),
        ("png bomb", images.png_bomb(50_000, 50_000), "png", "too large"),
    ],
)
def test_bad_uploads_fail_with_a_readable_reason_and_leave_no_output(
    pipeline: Pipeline, name: str, data: bytes, extension: str, reason: str
) -> None:
    job = pipeline.upload(data, extension)
    state = pipeline.run(job)
    assert state["error"]["Error"] == "InvalidImageError", name
    record = pipeline.record(job)
    assert record["status"] == "FAILED"
    assert reason in record["error"].lower()
    assert "traceback" not in record["error"].lower()
    assert pipeline.outputs(job) == []


def test_png_named_jpg_is_processed_as_png(pipeline: Pipeline) -> None:
    job = pipeline.upload(images.png(900, 600), "jpg")
    pipeline.run(job)
    record = pipeline.record(job)
    assert (record["status"], record["metadata"]["format"]) == ("COMPLETED", "PNG")


def test_animated_gif_uses_its_first_frame(pipeline: Pipeline) -> None:
    job = pipeline.upload(images.animated_gif([(255, 0, 0), (0, 0, 255)], size=(300, 200)), "gif")
    pipeline.run(job)
    record = pipeline.record(job)
    assert record["status"] == "COMPLETED"
    small = pipeline.variant(f"variants/{OWNER}/{job['image_id']}/small.jpg")
    red, _, blue = small.getpixel((10, 100))  # type: ignore[misc]
    assert red > 200
    assert blue < 60


def test_cmyk_jpeg_becomes_srgb(pipeline: Pipeline) -> None:
    cmyk = images.encode(Image.new("CMYK", (1000, 800), (0, 255, 255, 0)), "JPEG", quality=92)
    job = pipeline.upload(cmyk)
    pipeline.run(job)
    record = pipeline.record(job)
    assert (record["status"], record["metadata"]["colorSpace"]) == ("COMPLETED", "CMYK")
    assert pipeline.variant(f"variants/{OWNER}/{job['image_id']}/small.jpg").mode == "RGB"


def test_rotated_exif_photo_is_upright_and_stripped(pipeline: Pipeline) -> None:
    photo = images.encode(images.quadrants(1600, 1200), "JPEG", quality=92, exif=images.exif_with_gps(orientation=6))
    job = pipeline.upload(photo)
    pipeline.run(job)
    record = pipeline.record(job)
    assert record["status"] == "COMPLETED"
    assert (record["metadata"]["width"], record["metadata"]["height"]) == (1200, 1600)
    small = pipeline.variant(f"variants/{OWNER}/{job['image_id']}/small.jpg")
    assert small.size == (450, 600)
    assert not small.getexif(), "no EXIF (and so no GPS) leaves the system"


def test_a_repeated_run_reprocesses_from_any_state(pipeline: Pipeline) -> None:
    job = pipeline.upload(images.jpeg(1000, 1000))
    pipeline.run(job)
    pipeline.run(job)
    assert pipeline.record(job)["status"] == "COMPLETED"
