"""The presigned upload grants, decoded and checked the way S3 checks them.

moto does not enforce POST policies or signed headers (shared FACTS), so what S3 will enforce
is read straight from what the client is handed: the POST policy (exact key, exact content
type, size range, expiry, nothing looser such as ``starts-with``) and its SigV4 signature, and
for the QR upload the PUT URL's expiry and signed headers. Nothing secret reaches the logs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from runtime.uploads.models import MAX_IMAGE_BYTES
from tests.runtime.conftest import TokenFactory
from tests.runtime.test_uploads import UPLOADS, call, uploads_env  # noqa: F401 (fixture)


def _sigv4_signature(string_to_sign: str, credential: str) -> str:
    _, date, region, service, _ = credential.split("/")
    # The fake credentials the function signed with (moto's, while it is mocking)
    key = f"AWS4{os.environ['AWS_SECRET_ACCESS_KEY']}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("file_type", ["image/jpeg", "image/png", "image/gif"])
def test_the_post_policy_grants_exactly_one_object_of_one_type_and_size(
    uploads_env: Any,  # noqa: F811
    token_factory: TokenFactory,
    file_type: str,
) -> None:
    before = time.time()
    status, body = call(
        "POST", "/upload", body={"fileName": "cat", "fileType": file_type}, headers=token_factory.headers("user-1")
    )
    assert status == 200
    fields = body["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))

    # Expiry: the advertised five minutes, from now (S3 refuses the POST after it)
    expires = time.mktime(time.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert before + body["expiresIn"] - 5 <= expires <= time.time() + body["expiresIn"] + 1
    assert body["expiresIn"] == 300

    # Conditions: exact matches only, every field the client sends is covered, nothing else
    conditions = policy["conditions"]
    exact = {k: v for c in conditions if isinstance(c, dict) for k, v in c.items()}
    ranges = [c for c in conditions if isinstance(c, list)]
    assert ranges == [["content-length-range", 1, MAX_IMAGE_BYTES]], "no starts-with, one size range"
    assert MAX_IMAGE_BYTES == 10 * 1024 * 1024
    assert exact["bucket"] == UPLOADS
    assert exact["key"] == body["fileKey"] == fields["key"]
    assert exact["Content-Type"] == fields["Content-Type"] == file_type
    assert exact["x-amz-algorithm"] == fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    signed = {name.lower() for name in exact}
    assert {name.lower() for name in fields} - {"policy", "x-amz-signature"} <= signed

    # The signature is SigV4 over exactly this policy: any edit by the client breaks it
    assert fields["x-amz-signature"] == _sigv4_signature(fields["policy"], fields["x-amz-credential"])


def test_the_qr_put_url_expires_in_five_minutes_and_signs_its_content_type(uploads_env: Any) -> None:  # noqa: F811
    _, created = call("POST", "/sessions")
    status, grant = call("GET", "/upload-url", query={"sessionId": created["sessionId"]})
    assert status == 200
    query = {k: v[0] for k, v in parse_qs(urlsplit(grant["uploadUrl"]).query).items()}
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == "300"
    assert set(query["X-Amz-SignedHeaders"].split(";")) == {"content-type", "host"}
    assert grant["headers"] == {"Content-Type": "image/jpeg"}
    assert urlsplit(grant["uploadUrl"]).path.endswith(grant["uploadKey"])
    assert grant["uploadKey"].startswith(f"session-uploads/{created['sessionId']}/image-")


def test_no_signature_or_token_reaches_the_logs(
    uploads_env: Any,  # noqa: F811
    token_factory: TokenFactory,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    headers = token_factory.headers("user-1")
    _, post = call("POST", "/upload", body={"fileName": "a.png", "fileType": "image/png"}, headers=headers)
    _, created = call("POST", "/sessions")
    _, put = call("GET", "/upload-url", query={"sessionId": created["sessionId"]})
    call("GET", "/images", headers=headers)
    call("GET", "/images/nope", headers=headers, path_parameters={"image_id": "nope"})
    secrets_seen = [
        headers["authorization"].removeprefix("Bearer "),
        post["fields"]["x-amz-signature"],
        post["fields"]["policy"],
        parse_qs(urlsplit(put["uploadUrl"]).query)["X-Amz-Signature"][0],
    ]
    captured = capsys.readouterr()
    output = captured.out + captured.err + caplog.text
    assert "image upload presigned" in output  # the flows were logged...
    for secret in secrets_seen:
        assert secret not in output  # ...without what would let a reader use them
