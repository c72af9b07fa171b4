"""The S3 checks the local runtime adds in front of moto, against URLs and forms boto3 signs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
from botocore.config import Config

from local.s3_policy import PresignedRequest, check_post_policy, check_presigned

KEY_ID = "AKIALOCALDEVELOPMENT"
SECRET = "local-development-secret"
CREDENTIALS = {KEY_ID: SECRET}
ENDPOINT = "http://127.0.0.1:3002"
TEN_MB = 10 * 1024 * 1024


def s3(signature_version: str | None = None):
    config = Config(signature_version=signature_version) if signature_version else None
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=config,
    )


def put_request(url: str, headers: dict[str, str]) -> PresignedRequest:
    parts = urlsplit(url)
    return PresignedRequest(
        method="PUT",
        raw_path=parts.path,
        query=parse_qsl(parts.query, keep_blank_values=True),
        headers={"host": parts.netloc, **headers},
    )


@pytest.fixture(params=["s3v4", None], ids=["sigv4", "sigv2"])
def presigned_png(request: pytest.FixtureRequest) -> str:
    return s3(request.param).generate_presigned_url(
        "put_object",
        Params={"Bucket": "uploads-bucket", "Key": "session-uploads/abc/image 1.png", "ContentType": "image/png"},
        ExpiresIn=300,
    )


def test_a_put_with_exactly_the_signed_headers_passes(presigned_png: str) -> None:
    assert (
        check_presigned(put_request(presigned_png, {"content-type": "image/png"}), CREDENTIALS, datetime.now(UTC))
        is None
    )


def test_a_put_with_another_content_type_is_refused(presigned_png: str) -> None:
    error = check_presigned(put_request(presigned_png, {"content-type": "text/html"}), CREDENTIALS, datetime.now(UTC))
    assert error is not None
    assert (error.status, error.code) == (403, "SignatureDoesNotMatch")


def test_an_unsigned_amz_header_is_refused() -> None:
    url = s3("s3v4").generate_presigned_url(
        "put_object", Params={"Bucket": "uploads-bucket", "Key": "k", "ContentType": "image/png"}, ExpiresIn=60
    )
    request = put_request(url, {"content-type": "image/png", "x-amz-meta-owner": "someone"})
    error = check_presigned(request, CREDENTIALS, datetime.now(UTC))
    assert error is not None
    assert (error.status, error.code, error.extra["HeadersNotSigned"]) == (403, "AccessDenied", "x-amz-meta-owner")


def test_an_expired_url_is_refused(presigned_png: str) -> None:
    later = datetime.now(UTC) + timedelta(seconds=301)
    error = check_presigned(put_request(presigned_png, {"content-type": "image/png"}), CREDENTIALS, later)
    assert error is not None
    assert (error.status, error.code, error.message) == (403, "AccessDenied", "Request has expired")


def test_an_unknown_access_key_is_refused(presigned_png: str) -> None:
    error = check_presigned(put_request(presigned_png, {"content-type": "image/png"}), {}, datetime.now(UTC))
    assert error is not None
    assert (error.status, error.code) == (403, "InvalidAccessKeyId")


def test_the_error_body_is_s3_xml() -> None:
    url = s3("s3v4").generate_presigned_url("put_object", Params={"Bucket": "b-1", "Key": "k"}, ExpiresIn=60)
    error = check_presigned(put_request(url, {"x-amz-acl": "public-read"}), CREDENTIALS, datetime.now(UTC))
    assert error is not None
    body = error.to_xml().decode()
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>')
    assert "<RequestId>" in body


@pytest.fixture(params=["s3v4", None], ids=["sigv4", "sigv2"])
def image_post(request: pytest.FixtureRequest) -> dict:
    return s3(request.param).generate_presigned_post(
        "uploads-bucket",
        "uploads/user-1/photo.png",
        Fields={"Content-Type": "image/png"},
        Conditions=[{"Content-Type": "image/png"}, ["content-length-range", 1, TEN_MB]],
        ExpiresIn=300,
    )


def check(post: dict, fields: dict[str, str] | None = None, size: int = 1000, *, now: datetime | None = None):
    return check_post_policy(
        "uploads-bucket", fields or post["fields"], "photo.png", size, CREDENTIALS, now or datetime.now(UTC)
    )


def test_a_post_within_its_policy_passes(image_post: dict) -> None:
    assert check(image_post) is None


def test_a_post_over_the_size_limit_is_entity_too_large(image_post: dict) -> None:
    error = check(image_post, size=11 * 1024 * 1024)
    assert error is not None
    assert (error.status, error.code, error.extra["MaxSizeAllowed"]) == (400, "EntityTooLarge", str(TEN_MB))


def test_an_empty_post_is_entity_too_small(image_post: dict) -> None:
    error = check(image_post, size=0)
    assert error is not None
    assert (error.status, error.code) == (400, "EntityTooSmall")


def test_a_post_with_another_content_type_breaks_the_policy(image_post: dict) -> None:
    error = check(image_post, {**image_post["fields"], "Content-Type": "text/html"})
    assert error is not None
    assert (error.status, error.code) == (403, "AccessDenied")
    assert error.message == 'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "image/png"]'


def test_a_post_with_a_field_the_policy_does_not_cover_is_refused(image_post: dict) -> None:
    error = check(image_post, {**image_post["fields"], "acl": "public-read"})
    assert error is not None
    assert error.message == "Invalid according to Policy: Extra input fields: acl"


def test_a_post_with_another_key_breaks_the_policy(image_post: dict) -> None:
    error = check(image_post, {**image_post["fields"], "key": "uploads/someone-else/photo.png"})
    assert error is not None
    assert (error.status, error.code) == (403, "AccessDenied")


def test_a_tampered_policy_is_a_signature_mismatch(image_post: dict) -> None:
    fields = dict(image_post["fields"])
    fields["policy"] = fields["policy"][:-4] + "AAA="
    error = check(image_post, fields)
    assert error is not None
    assert (error.status, error.code) == (403, "SignatureDoesNotMatch")


def test_an_expired_policy_is_refused(image_post: dict) -> None:
    error = check(image_post, now=datetime.now(UTC) + timedelta(minutes=6))
    assert error is not None
    assert error.message == "Invalid according to Policy: Policy expired."


def test_a_post_without_a_policy_is_anonymous_and_refused() -> None:
    error = check_post_policy("uploads-bucket", {"key": "x"}, "x", 10, CREDENTIALS, datetime.now(UTC))
    assert error is not None
    assert (error.status, error.code) == (403, "AccessDenied")
