"""Browser uploads to a bucket of the product's stacks get S3's checks, which moto alone skips."""

from __future__ import annotations

import uuid

import httpx
import pytest
from botocore.config import Config

from tests.e2e.conftest import Runtime

pytestmark = pytest.mark.slow

TEN_MB = 10 * 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 1024


@pytest.fixture
def s3(app_runtime: Runtime):
    aws = app_runtime.endpoints["aws"]
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=aws["endpoint_url"],
        region_name=aws["region"],
        aws_access_key_id=aws["access_key_id"],
        aws_secret_access_key=aws["secret_access_key"],
        config=Config(signature_version="s3v4"),
    )


@pytest.fixture
def bucket(app_runtime: Runtime) -> str:
    return app_runtime.output("UploadsBucketName")


def presigned_post(s3, bucket: str, key: str) -> dict:
    return s3.generate_presigned_post(
        bucket,
        key,
        Fields={"Content-Type": "image/png"},
        Conditions=[{"Content-Type": "image/png"}, ["content-length-range", 1, TEN_MB]],
        ExpiresIn=300,
    )


def test_a_post_within_the_policy_is_stored(s3, bucket: str) -> None:
    key = f"uploads/{uuid.uuid4()}.png"
    post = presigned_post(s3, bucket, key)
    response = httpx.post(post["url"], data=post["fields"], files={"file": ("photo.png", PNG, "image/png")})
    assert response.status_code == 204
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(PNG)


def test_a_post_over_the_policy_size_is_refused_and_not_stored(s3, bucket: str) -> None:
    key = f"uploads/{uuid.uuid4()}.png"
    post = presigned_post(s3, bucket, key)
    big = b"\0" * (11 * 1024 * 1024)
    response = httpx.post(post["url"], data=post["fields"], files={"file": ("big.png", big, "image/png")})
    assert response.status_code == 400
    assert "<Code>EntityTooLarge</Code>" in response.text
    assert s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount") == 0


def test_a_post_with_another_content_type_is_refused(s3, bucket: str) -> None:
    post = presigned_post(s3, bucket, f"uploads/{uuid.uuid4()}.png")
    fields = {**post["fields"], "Content-Type": "text/html"}
    response = httpx.post(post["url"], data=fields, files={"file": ("x.html", b"<html>", "text/html")})
    assert response.status_code == 403
    assert "<Code>AccessDenied</Code>" in response.text
    assert "Policy Condition failed" in response.text


def test_a_presigned_put_must_carry_exactly_the_signed_headers(s3, bucket: str) -> None:
    key = f"session-uploads/{uuid.uuid4()}/image-1"
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": key, "ContentType": "image/png"}, ExpiresIn=300
    )
    wrong = httpx.put(url, content=PNG, headers={"Content-Type": "image/jpeg"})
    assert wrong.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in wrong.text
    unsigned = httpx.put(url, content=PNG, headers={"Content-Type": "image/png", "x-amz-acl": "public-read"})
    assert unsigned.status_code == 403
    assert "HeadersNotSigned" in unsigned.text
    right = httpx.put(url, content=PNG, headers={"Content-Type": "image/png"})
    assert right.status_code == 200
    assert s3.head_object(Bucket=bucket, Key=key)["ContentType"] == "image/png"


def test_the_bucket_answers_a_browser_preflight_with_its_cors_rules(app_runtime: Runtime, bucket: str) -> None:
    url = f"{app_runtime.endpoints['aws']['endpoint_url']}/{bucket}/uploads/x.png"
    response = httpx.options(url, headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "PUT"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "http://localhost:5173")
    assert "PUT" in response.headers["access-control-allow-methods"]
