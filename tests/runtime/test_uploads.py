"""QR upload sessions and image uploads through real API Gateway v2 events against moto."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import boto3
import pytest

from local.assembly import TableSpec
from runtime.common import settings
from runtime.common.names import Env
from runtime.uploads import handler
from runtime.uploads.logic import parse_image_key
from runtime.uploads.models import MAX_IMAGE_BYTES
from tests.runtime.conftest import TokenFactory
from tests.support.events import http_event, lambda_context

UPLOADS = "uploads-bucket"
IMAGES = "images-bucket"


@pytest.fixture
def uploads_env(tables: dict[str, TableSpec], signing_key: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=UPLOADS)
    s3.create_bucket(Bucket=IMAGES)
    monkeypatch.setenv(Env.UPLOADS_BUCKET, UPLOADS)
    monkeypatch.setenv(Env.IMAGES_BUCKET, IMAGES)
    settings.reset()
    for factory in (handler.sessions, handler.images, handler._signer):
        factory.cache_clear()
    yield boto3.client("dynamodb", region_name="us-east-1")
    for factory in (handler.sessions, handler.images, handler._signer):
        factory.cache_clear()


def call(method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    response = handler.lambda_handler(http_event(method, path, **kwargs), lambda_context())
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else {}


def session_item(dynamodb: Any, session_id: str) -> dict[str, Any] | None:
    table = handler.load(handler.UploadSettings).upload_sessions_table
    return dynamodb.get_item(TableName=table, Key={"pk": {"S": session_id}}).get("Item")


class TestSessions:
    def test_create_then_poll(self, uploads_env: Any) -> None:
        status, created = call("POST", "/sessions")
        assert status == 200
        assert uuid.UUID(created["sessionId"])
        status, view = call(
            "GET", f"/sessions/{created['sessionId']}", path_parameters={"session_id": created["sessionId"]}
        )
        assert status == 200
        assert view == {
            "sessionId": created["sessionId"],
            "status": "AWAITING_SCAN",
            "expiresAt": created["expiresAt"],
            "uploadKey": None,
        }

    def test_upload_url_presigns_a_put_for_the_session_prefix(self, uploads_env: Any) -> None:
        _, created = call("POST", "/sessions")
        session_id = created["sessionId"]
        status, body = call("GET", "/upload-url", query={"sessionId": session_id})
        assert status == 200
        assert body["uploadKey"].startswith(f"session-uploads/{session_id}/image-")
        assert body["headers"] == {"Content-Type": "image/jpeg"}
        assert "X-Amz-Signature=" in body["uploadUrl"]
        assert "content-type" in body["uploadUrl"].lower()
        item = session_item(uploads_env, session_id)
        assert item is not None
        assert item["status"]["S"] == "UPLOAD_REQUESTED"
        assert item["upload_key"]["S"] == body["uploadKey"]

    @pytest.mark.parametrize(
        ("query", "status", "message"),
        [
            ({}, 400, "sessionId is required"),
            ({"sessionId": "not-a-uuid"}, 400, "not a valid session id"),
            ({"sessionId": str(uuid.uuid4())}, 404, "session not found"),
        ],
    )
    def test_upload_url_refuses_bad_ids(
        self, uploads_env: Any, query: dict[str, str], status: int, message: str
    ) -> None:
        got, body = call("GET", "/upload-url", query=query)
        assert got == status
        assert message in body["error"]

    def test_upload_url_refuses_expired_and_completed_sessions(
        self, uploads_env: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _, created = call("POST", "/sessions")
        session_id = created["sessionId"]
        repo = handler.sessions().store
        repo.complete(session_id, upload_key=f"session-uploads/{session_id}/image-1", now=created["expiresAt"] - 10)  # type: ignore[attr-defined]
        status, body = call("GET", "/upload-url", query={"sessionId": session_id})
        assert (status, body["error"]) == (400, "session is already completed")

        _, other = call("POST", "/sessions")
        service = handler.sessions()
        monkeypatch.setattr(service, "clock", lambda: other["expiresAt"] + 1)
        before = session_item(uploads_env, other["sessionId"])
        status, body = call("GET", "/upload-url", query={"sessionId": other["sessionId"]})
        assert (status, body["error"]) == (400, "session has expired")
        assert session_item(uploads_env, other["sessionId"]) == before

    def test_unsupported_content_type_changes_nothing(self, uploads_env: Any) -> None:
        _, created = call("POST", "/sessions")
        before = session_item(uploads_env, created["sessionId"])
        status, _ = call("GET", "/upload-url", query={"sessionId": created["sessionId"], "contentType": "text/html"})
        assert status == 400
        assert session_item(uploads_env, created["sessionId"]) == before


class TestImageUploads:
    def test_presigned_post_is_limited_by_s3_policy(self, uploads_env: Any, token_factory: TokenFactory) -> None:
        headers = token_factory.headers("user-1")
        status, body = call("POST", "/upload", body={"fileName": "cat.png", "fileType": "image/png"}, headers=headers)
        assert status == 200
        assert body["fileKey"] == f"uploads/user-1/{body['imageId']}.png"
        assert parse_image_key(body["fileKey"]) == ("user-1", body["imageId"])
        policy = json.loads(base64.b64decode(body["fields"]["policy"]))
        conditions = policy["conditions"]
        assert ["content-length-range", 1, MAX_IMAGE_BYTES] in conditions
        assert {"Content-Type": "image/png"} in conditions
        assert {"key": body["fileKey"]} in conditions
        assert {"bucket": UPLOADS} in conditions
        assert body["fields"]["Content-Type"] == "image/png"
        assert body["expiresIn"] == 300

    def test_then_the_image_is_listed_and_readable_by_its_owner_only(
        self, uploads_env: Any, token_factory: TokenFactory
    ) -> None:
        owner = token_factory.headers("user-1")
        _, upload = call("POST", "/upload", body={"fileName": "a.jpg", "fileType": "image/jpeg"}, headers=owner)
        image_id = upload["imageId"]
        status, view = call("GET", f"/images/{image_id}", headers=owner, path_parameters={"image_id": image_id})
        assert status == 200
        assert view["status"] == "UPLOADED"
        assert view["fileName"] == "a.jpg"
        status, page = call("GET", "/images", headers=owner)
        assert status == 200
        assert [i["imageId"] for i in page["items"]] == [image_id]
        assert page["next_token"] is None

        stranger = token_factory.headers("user-2")
        status, body = call("GET", f"/images/{image_id}", headers=stranger, path_parameters={"image_id": image_id})
        assert (status, body) == (404, {"error": "image not found"})
        status, page = call("GET", "/images", headers=stranger)
        assert page["items"] == []

    def test_listing_pages_newest_first(
        self, uploads_env: Any, token_factory: TokenFactory, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        owner = token_factory.headers("user-1")
        service = handler.images()
        ids = []
        for second in range(3):
            monkeypatch.setattr(service, "clock", lambda s=second: 1_800_000_000 + s)
            _, upload = call(
                "POST", "/upload", body={"fileName": f"{second}.gif", "fileType": "image/gif"}, headers=owner
            )
            ids.append(upload["imageId"])
        _, first = call("GET", "/images", headers=owner, query={"limit": "2"})
        assert [i["imageId"] for i in first["items"]] == [ids[2], ids[1]]
        _, second_page = call("GET", "/images", headers=owner, query={"limit": "2", "next_token": first["next_token"]})
        assert [i["imageId"] for i in second_page["items"]] == [ids[0]]
        assert second_page["next_token"] is None

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            ({"fileName": "a.bmp", "fileType": "image/bmp"}, 400),
            ({"fileName": "a.svg", "fileType": "image/svg+xml"}, 400),
            ({"fileName": "a.jpg"}, 422),
            ({"fileName": 5, "fileType": "image/jpeg"}, 400),
            ({"fileName": "", "fileType": "image/jpeg"}, 422),
        ],
    )
    def test_bad_requests_change_nothing(
        self, uploads_env: Any, token_factory: TokenFactory, body: dict[str, Any], status: int
    ) -> None:
        owner = token_factory.headers("user-1")
        got, error = call("POST", "/upload", body=body, headers=owner)
        assert got == status
        assert "error" in error
        _, page = call("GET", "/images", headers=owner)
        assert page["items"] == []

    def test_malformed_json_is_400(self, uploads_env: Any, token_factory: TokenFactory) -> None:
        status, body = call("POST", "/upload", raw_body="{not json", headers=token_factory.headers("user-1"))
        assert (status, body) == (400, {"error": "request body is not valid JSON"})

    @pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic dXNlcjpwdw==", "Bearer "])
    def test_image_routes_need_a_valid_token(self, uploads_env: Any, authorization: str | None) -> None:
        headers = {"authorization": authorization} if authorization is not None else {}
        for method, path, kwargs in (
            ("POST", "/upload", {"body": {"fileName": "a.jpg", "fileType": "image/jpeg"}}),
            ("GET", "/images", {}),
            ("GET", f"/images/{uuid.uuid4()}", {}),
        ):
            status, body = call(method, path, headers=headers, **kwargs)
            assert status == 401, (method, path)
            assert "error" in body

    def test_bad_next_token_is_400(self, uploads_env: Any, token_factory: TokenFactory) -> None:
        status, body = call("GET", "/images", headers=token_factory.headers("user-1"), query={"next_token": "garbage!"})
        assert status == 400
        assert body == {"error": "next_token is not valid"}


def test_a_bad_token_is_401_even_with_a_bad_body(uploads_env: Any) -> None:
    # The token is checked before the body is validated: an unauthenticated caller learns nothing.
    status, body = call("POST", "/upload", raw_body="{not json", headers={"authorization": "Bearer nope"})
    assert (status, body) == (401, {"error": "invalid or expired token"})


def test_an_oversize_body_is_413_before_anything_else(uploads_env: Any) -> None:
    status, body = call("POST", "/upload", raw_body="x" * (65 * 1024), headers={"authorization": "Bearer nope"})
    assert (status, body) == (413, {"error": "request body is too large"})
