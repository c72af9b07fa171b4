"""Object bytes in and out of S3 for the pipeline steps, and the keys each step writes."""

from __future__ import annotations

from typing import Any, NoReturn

import boto3
from botocore.exceptions import ClientError

from runtime.common.dynamo import error_code
from runtime.common.errors import ThrottledError
from runtime.common.names import Prefix

_TRANSIENT_S3 = frozenset({"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "503"})


def staging_key(owner_id: str, image_id: str, size: str) -> str:
    """Where Resize leaves a variant's pixels for Watermark (``imaging.staged``, not a JPEG)."""
    return f"{Prefix.PROCESSING}{owner_id}/{image_id}/{size}.pixels"


def variant_key(owner_id: str, image_id: str, size: str) -> str:
    return f"{Prefix.VARIANTS}{owner_id}/{image_id}/{size}.jpg"


class ObjectStore:
    """get/put/delete of whole objects; S3's transient errors become ``ThrottledError`` (retried)."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = client or boto3.client("s3")

    def get(self, bucket: str, key: str, *, max_bytes: int) -> bytes:
        """The object's bytes, refusing to read more than ``max_bytes`` (S3 limits uploads anyway)."""
        try:
            response = self._client.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{max_bytes}")
            body: bytes = response["Body"].read(max_bytes + 1)
        except ClientError as error:
            if error_code(error) in ("InvalidRange",):
                return b""  # a 0-byte object has no byte 0; Validate refuses it with a clear reason
            self._raise(error)
        return body

    def put_jpeg(self, bucket: str, key: str, data: bytes) -> None:
        """A final variant: immutable under its key, so clients may cache it for good."""
        self._put(bucket, key, data, ContentType="image/jpeg", CacheControl="private, max-age=31536000")

    def put_staged(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        """An intermediate for the next step (the bucket's lifecycle rule removes leftovers)."""
        self._put(bucket, key, data, ContentType=content_type)

    def _put(self, bucket: str, key: str, data: bytes, **attributes: str) -> None:
        try:
            self._client.put_object(Bucket=bucket, Key=key, Body=data, **attributes)
        except ClientError as error:
            self._raise(error)

    def delete(self, bucket: str, keys: list[str]) -> None:
        if not keys:
            return
        try:
            self._client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
        except ClientError as error:
            self._raise(error)

    @staticmethod
    def _raise(error: ClientError) -> NoReturn:
        if error_code(error) in _TRANSIENT_S3:
            raise ThrottledError("storage is busy, retrying") from error
        raise error
