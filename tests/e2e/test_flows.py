"""The product's flows end to end on the local runtime, with the clients a browser or app would use."""

from __future__ import annotations

import io
import json
import re
import time
import uuid
from typing import Any

import httpx
import pytest
from PIL import Image
from websockets.sync.client import ClientConnection, connect

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


def register(api: str) -> dict:
    email = f"e2e-{uuid.uuid4().hex[:10]}@example.com"
    response = httpx.post(
        f"{api}/auth/register",
        json={"email": email, "password": "E2e-password-1234", "full_name": "E2E User"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    account: dict = response.json()
    return {**account, "email": email, "headers": {"Authorization": f"Bearer {account['access_token']}"}}


def next_frame(socket: ClientConnection, action: str, where: Any = None, timeout: float = 30) -> dict:
    """The next frame with ``action`` that ``where`` accepts (every participant, the sender included,
    gets each message and call frame, so others are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        frame: dict = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        if frame.get("action") == action and (where is None or where(frame)):
            return frame


def test_registration_sends_a_verification_code_to_the_dev_mailbox(app_runtime: Runtime) -> None:
    api = app_runtime.output("HttpApiUrl")
    account = register(api)
    mail = wait_for(
        lambda: httpx.get(app_runtime.endpoints["mailbox"], params={"to": account["email"]}).json()["messages"]
    )
    code = next(word for word in re.findall(r"\b\d{4,10}\b", mail[0]["body"]))
    verified = httpx.post(f"{api}/auth/verify-email", json={"email": account["email"], "code": code}, timeout=30)
    assert verified.status_code in (200, 204), verified.text
    me = httpx.get(f"{api}/auth/me", headers=account["headers"], timeout=30).json()
    assert me["email_verified"] is True


def test_two_users_chat_and_call_over_http_and_websocket(app_runtime: Runtime) -> None:
    api, ws = app_runtime.output("HttpApiUrl"), app_runtime.output("WebSocketUrl")
    alice, bob = register(api), register(api)
    with (
        connect(f"{ws}?token={alice['access_token']}", open_timeout=30) as alice_socket,
        connect(f"{ws}?token={bob['access_token']}", open_timeout=30) as bob_socket,
    ):
        found = httpx.get(f"{api}/users", params={"email": bob["email"]}, headers=alice["headers"], timeout=30).json()
        conversation = httpx.post(
            f"{api}/conversations",
            json={"participant_ids": [found["user_id"]], "title": "e2e"},
            headers=alice["headers"],
            timeout=30,
        ).json()
        conversation_id = conversation["conversation_id"]

        # A message sent over HTTP reaches the other participant's socket.
        sent = httpx.post(
            f"{api}/conversations/{conversation_id}/messages",
            json={"content": "hello over http"},
            headers=alice["headers"],
            timeout=30,
        )
        assert sent.status_code == 201, sent.text
        assert next_frame(bob_socket, "message")["message"]["content"] == "hello over http"

        # A message sent over the WebSocket is acknowledged and lands in the HTTP history.
        bob_socket.send(
            json.dumps(
                {
                    "action": "sendMessage",
                    "conversation_id": conversation_id,
                    "content": "hello over ws",
                    "client_message_id": str(uuid.uuid4()),
                }
            )
        )
        assert next_frame(bob_socket, "ack")["for"] == "sendMessage"
        assert next_frame(alice_socket, "message", lambda f: f["message"]["content"] == "hello over ws")
        history = httpx.get(
            f"{api}/conversations/{conversation_id}/messages", headers=alice["headers"], timeout=30
        ).json()["items"]
        assert [m["content"] for m in history[:2]] == ["hello over ws", "hello over http"]

        # A call rings, is accepted and ended; each transition is pushed, and the log has its duration.
        call = httpx.post(
            f"{api}/conversations/{conversation_id}/calls",
            json={"call_type": "video"},
            headers=alice["headers"],
            timeout=30,
        ).json()
        assert call["status"] == "ringing"
        assert next_frame(bob_socket, "call", lambda f: f["call"]["call_id"] == call["call_id"])["call"]["status"] == (
            "ringing"
        )
        accepted = httpx.post(f"{api}/calls/{call['call_id']}/accept", headers=bob["headers"], timeout=30)
        assert accepted.json()["status"] == "connected"
        assert (
            next_frame(alice_socket, "call", lambda f: f["call"]["status"] == "connected")["call"]["call_id"]
            == (call["call_id"])
        )
        time.sleep(1.1)
        ended = httpx.post(f"{api}/calls/{call['call_id']}/end", headers=alice["headers"], timeout=30).json()
        assert ended["status"] == "ended"
        assert ended["duration_seconds"] >= 1
        log = httpx.get(f"{api}/conversations/{conversation_id}/calls", headers=bob["headers"], timeout=30).json()
        assert log["items"][0]["call_id"] == call["call_id"]
