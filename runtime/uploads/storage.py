"""Presigned S3 URLs: the only way clients read or write the buckets."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config


def s3_client() -> Any:
    # SigV4 everywhere: presigned POST policies and PUTs are checked against the signed headers.
    return boto3.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))


class UploadSigner:
    """Signs uploads into the uploads bucket and downloads from the images bucket."""

    def __init__(self, *, uploads_bucket: str, images_bucket: str, client: Any | None = None) -> None:
        self._uploads = uploads_bucket
        self._images = images_bucket
        self._client = client or s3_client()

    def presign_put(self, key: str, *, content_type: str, expires_in: int) -> str:
        """A PUT URL whose signature covers the Content-Type the client must send."""
        url: str = self._client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self._uploads, "Key": key, "ContentType": content_type},
            ExpiresIn=expires_in,
            HttpMethod="PUT",
        )
        return url

    def presign_post(self, key: str, *, content_type: str, max_bytes: int, expires_in: int) -> dict[str, Any]:
        """A POST policy S3 itself enforces: this exact key, this type, at most ``max_bytes``."""
        post: dict[str, Any] = self._client.generate_presigned_post(
            Bucket=self._uploads,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", 1, max_bytes],
            ],
            ExpiresIn=expires_in,
        )
        return post

    def presign_get(self, key: str, *, expires_in: int) -> str:
        url: str = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self._images, "Key": key}, ExpiresIn=expires_in
        )
        return url
