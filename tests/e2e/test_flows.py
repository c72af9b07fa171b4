"""The product's flows end to end on the local runtime, with the clients a browser or app would use."""

from __future__ import annotations

import io
import json
import time

import httpx
import pytest
from PIL import Image
from websockets.sync.client import connect

from tests.e2e.conftest import Runtime, wait_for

pytestmark = pytest.mark.slow


def test_a_qr_upload_completes_and_is_pushed_to_the_waiting_page(app_runtime: Runtime) -> None:
    api = app_runtime.output("HttpApiUrl")
    session = httpx.post(f"{api}/sessions", timeout=30).json()
    # Given the upload page is connected with its session id
    with connect(f"{app_runtime.output('WebSocketUrl')}?sessionId={session['sessionId']}", open_timeout=30) as page:
        target = httpx.get(f"{api}/upload-url", params={"sessionId": session["sessionId"]}, timeout=30).json()
        # When the phone PUTs to the presigned URL with exactly the headers it was given
        assert (
            httpx.put(target["uploadUrl"], content=b"\xff\xd8\xff" + b"0" * 512, headers=target["headers"]).status_code
            == 200
        )
        # Then the page hears about it over the WebSocket
        frame = json.loads(page.recv(timeout=60))
    assert frame["action"] == "UPLOAD_COMPLETED"
    assert (frame["sessionId"], frame["uploadKey"]) == (session["sessionId"], target["uploadKey"])
    status = httpx.get(f"{api}/sessions/{session['sessionId']}", timeout=30).json()
    assert status["status"] == "COMPLETED"


def test_an_uploaded_image_runs_through_the_state_machine(app_runtime: Runtime) -> None:
    api = app_runtime.output("HttpApiUrl")
    token = app_runtime.access_token()
    headers = {"Authorization": f"Bearer {token}"}
    buffer = io.BytesIO()
    Image.new("RGB", (2000, 1500), (200, 30, 30)).save(buffer, "JPEG")
    with connect(f"{app_runtime.output('WebSocketUrl')}?token={token}", open_timeout=30) as socket:
        upload = httpx.post(
            f"{api}/upload", json={"fileName": "red.jpg", "fileType": "image/jpeg"}, headers=headers, timeout=30
        ).json()
        stored = httpx.post(
            upload["uploadUrl"], data=upload["fields"], files={"file": ("red.jpg", buffer.getvalue(), "image/jpeg")}
        )
        assert stored.status_code == 204
        frame = json.loads(socket.recv(timeout=90))
    assert frame == {"action": "IMAGE_PROCESSED", "imageId": upload["imageId"], "status": "COMPLETED"}

    def finished() -> dict | None:
        image: dict = httpx.get(f"{api}/images/{upload['imageId']}", headers=headers, timeout=30).json()
        return image if image["status"] in ("COMPLETED", "FAILED") else None

    image = wait_for(finished, timeout=30)
    assert image["status"] == "COMPLETED"
    sizes = {v["size"]: (v["dimensions"]["width"], v["dimensions"]["height"]) for v in image["variants"]}
    assert sizes == {"small": (800, 600), "medium": (1200, 900), "large": (1440, 1080)}
    variant = httpx.get(image["variants"][0]["url"], timeout=30)
    assert variant.status_code == 200
    assert Image.open(io.BytesIO(variant.content)).format == "JPEG"
    machines = {r["function"] for r in app_runtime.invocations() if r["time"] > time.time() - 300}
    assert {"ValidateFunction", "ResizeFunction", "WatermarkFunction", "RecordFunction"} <= machines
