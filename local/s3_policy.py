"""S3's checks on browser uploads, which moto skips: presigned URLs and POST policies.

moto 5.2 stores an 11 MB file POSTed against a 10 MB ``content-length-range`` and a file with
the wrong ``Content-Type`` (both answered 204), and accepts a SigV4 presigned PUT whatever
headers it carries. S3 refuses all three, so the local runtime checks them here, in front of
moto, with S3's status codes, error codes and messages; otherwise a local test would prove
nothing about upload limits. Signatures are recomputed with the local credentials (SigV4 and
the SigV2 that boto3 still uses for presigned URLs in us-east-1 without ``s3v4``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

MAX_PRESIGNED_EXPIRY = 604800
_V2_SUBRESOURCES = frozenset(
    {
        "acl",
        "cors",
        "delete",
        "lifecycle",
        "location",
        "logging",
        "notification",
        "partNumber",
        "policy",
        "requestPayment",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
        "restore",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
    }
)
# Form fields S3 never asks a policy condition for.
_POLICY_EXEMPT_FIELDS = frozenset({"policy", "x-amz-signature", "signature", "awsaccesskeyid", "file"})


@dataclass(frozen=True)
class S3Error:
    """An error as S3 answers it: status, code, message and the extra elements of its XML body."""

    status: int
    code: str
    message: str
    extra: dict[str, str] = field(default_factory=dict)

    def to_xml(self) -> bytes:
        parts = [f"<Code>{escape(self.code)}</Code>", f"<Message>{escape(self.message)}</Message>"]
        parts += [f"<{name}>{escape(value)}</{name}>" for name, value in self.extra.items()]
        request_id = uuid.uuid4().hex[:16].upper()
        parts += [
            f"<RequestId>{request_id}</RequestId>",
            f"<HostId>{base64.b64encode(request_id.encode()).decode()}</HostId>",
        ]
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>").encode()


@dataclass(frozen=True)
class PresignedRequest:
    """What the check of a presigned URL needs from an HTTP request."""

    method: str
    raw_path: str
    query: Sequence[tuple[str, str]]
    headers: Mapping[str, str]

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name:
                return value
        return None

    def param(self, name: str) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return None


def is_presigned(query: Sequence[tuple[str, str]]) -> bool:
    names = {key for key, _ in query}
    return "X-Amz-Signature" in names or ("Signature" in names and "AWSAccessKeyId" in names)


def _uri_encode(value: str) -> str:
    return quote(value, safe="-_.~")


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _expired(expires_at: datetime, now: datetime, expires_field: str, extra: dict[str, str]) -> S3Error:
    return S3Error(
        403,
        "AccessDenied",
        "Request has expired",
        {
            **extra,
            "Expires": expires_field or expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )


def _unknown_key() -> S3Error:
    return S3Error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")


def _mismatch(access_key: str, string_to_sign: str, signature: str, canonical: str | None = None) -> S3Error:
    extra = {"AWSAccessKeyId": access_key, "StringToSign": string_to_sign, "SignatureProvided": signature}
    if canonical is not None:
        extra["CanonicalRequest"] = canonical
    return S3Error(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        extra,
    )


def check_presigned(request: PresignedRequest, credentials: Mapping[str, str], now: datetime) -> S3Error | None:
    """The answer S3 gives a presigned request, or None when S3 would let it through."""
    if request.param("X-Amz-Signature") is not None:
        return _check_sigv4(request, credentials, now)
    return _check_sigv2(request, credentials, now)


def _check_sigv4(request: PresignedRequest, credentials: Mapping[str, str], now: datetime) -> S3Error | None:
    algorithm = request.param("X-Amz-Algorithm")
    credential = request.param("X-Amz-Credential") or ""
    amz_date = request.param("X-Amz-Date") or ""
    expires = request.param("X-Amz-Expires") or ""
    signed_headers = request.param("X-Amz-SignedHeaders") or ""
    signature = request.param("X-Amz-Signature") or ""
    if algorithm != "AWS4-HMAC-SHA256":
        return S3Error(400, "AuthorizationQueryParametersError", 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    scope = credential.split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        return S3Error(400, "AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter")
    access_key, date, region, service, _ = scope
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        lifetime = int(expires)
    except ValueError:
        return S3Error(400, "AuthorizationQueryParametersError", "X-Amz-Date or X-Amz-Expires is not valid")
    if lifetime > MAX_PRESIGNED_EXPIRY:
        return S3Error(
            400,
            "AuthorizationQueryParametersError",
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        )
    secret = credentials.get(access_key)
    if secret is None:
        return _unknown_key()
    if now > signed_at + timedelta(seconds=lifetime):
        return _expired(signed_at + timedelta(seconds=lifetime), now, "", {"X-Amz-Expires": expires})

    signed = [h for h in signed_headers.split(";") if h]
    unsigned_amz = sorted(
        name.lower() for name in request.headers if name.lower().startswith("x-amz-") and name.lower() not in signed
    )
    if unsigned_amz:
        return S3Error(
            403,
            "AccessDenied",
            "There were headers present in the request which were not signed",
            {"HeadersNotSigned": ", ".join(unsigned_amz)},
        )

    canonical_uri = quote(unquote(request.raw_path), safe="/~")
    canonical_query = "&".join(
        f"{_uri_encode(k)}={_uri_encode(v)}" for k, v in sorted(request.query) if k != "X-Amz-Signature"
    )
    canonical_headers = "".join(f"{name}:{' '.join((request.header(name) or '').split())}\n" for name in signed)
    payload_hash = request.header("x-amz-content-sha256") or "UNSIGNED-PAYLOAD"
    canonical = "\n".join(
        [request.method, canonical_uri, canonical_query, canonical_headers, signed_headers, payload_hash]
    )
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            f"{date}/{region}/{service}/aws4_request",
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    expected = hmac.new(
        _signing_key(secret, date, region, service), string_to_sign.encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return _mismatch(access_key, string_to_sign, signature, canonical)
    return None


def _check_sigv2(request: PresignedRequest, credentials: Mapping[str, str], now: datetime) -> S3Error | None:
    access_key = request.param("AWSAccessKeyId") or ""
    signature = request.param("Signature") or ""
    expires = request.param("Expires") or ""
    secret = credentials.get(access_key)
    if secret is None:
        return _unknown_key()
    try:
        expires_at = datetime.fromtimestamp(int(expires), tz=UTC)
    except ValueError:
        return S3Error(
            403,
            "AccessDenied",
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
        )
    if now > expires_at:
        return _expired(expires_at, now, expires, {})
    amz_headers = sorted(
        (name.lower(), " ".join(value.split()))
        for name, value in request.headers.items()
        if name.lower().startswith("x-amz-")
    )
    subresources = sorted((k, v) for k, v in request.query if k in _V2_SUBRESOURCES)
    resource = request.raw_path
    if subresources:
        resource += "?" + "&".join(f"{k}={v}" if v else k for k, v in subresources)
    string_to_sign = "\n".join(
        [
            request.method,
            request.header("content-md5") or "",
            request.header("content-type") or "",
            expires,
            *(f"{name}:{value}" for name, value in amz_headers),
            resource,
        ]
    )
    expected = base64.b64encode(hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()
    if not hmac.compare_digest(expected, signature):
        return _mismatch(access_key, string_to_sign, signature)
    return None


def _policy_failed(condition: Sequence[Any]) -> S3Error:
    return S3Error(
        403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {json.dumps(list(condition))}"
    )


def _parse_expiration(value: str) -> datetime:
    text = value.replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_post_policy(
    bucket: str,
    fields: Mapping[str, str],
    file_name: str | None,
    file_size: int | None,
    credentials: Mapping[str, str],
    now: datetime,
) -> S3Error | None:
    """S3's answer to a browser-based POST upload, or None when S3 would store the file.

    ``fields`` are the form's fields in order, except the file (named ``file``); S3 reads field
    names case-insensitively, the key's ``${filename}`` is the uploaded file's name.
    """
    form = {name.lower(): value for name, value in fields.items()}
    if file_size is None:
        return S3Error(
            400,
            "InvalidArgument",
            "POST requires exactly one file upload per request.",
            {"ArgumentName": "file", "ArgumentValue": "0"},
        )
    policy_b64 = form.get("policy")
    if policy_b64 is None:
        return S3Error(403, "AccessDenied", "Access Denied")
    if "x-amz-signature" in form:
        credential = form.get("x-amz-credential", "").split("/")
        if len(credential) != 5:
            return S3Error(
                400,
                "InvalidArgument",
                "Error parsing the X-Amz-Credential parameter",
                {"ArgumentName": "x-amz-credential"},
            )
        access_key, date, region, service, _ = credential
        secret = credentials.get(access_key)
        if secret is None:
            return _unknown_key()
        expected = hmac.new(
            _signing_key(secret, date, region, service), policy_b64.encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, form["x-amz-signature"]):
            return _mismatch(access_key, policy_b64, form["x-amz-signature"])
    elif "signature" in form:
        access_key = form.get("awsaccesskeyid", "")
        secret = credentials.get(access_key)
        if secret is None:
            return _unknown_key()
        expected = base64.b64encode(hmac.new(secret.encode(), policy_b64.encode(), hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(expected, form["signature"]):
            return _mismatch(access_key, policy_b64, form["signature"])
    else:
        return S3Error(
            400,
            "InvalidArgument",
            "Bucket POST must contain a field named 'x-amz-signature'. "
            "If it is specified, please check the order of the fields.",
            {"ArgumentName": "x-amz-signature"},
        )

    try:
        policy = json.loads(base64.b64decode(policy_b64, validate=True))
        expiration = _parse_expiration(str(policy["expiration"]))
        conditions = list(policy.get("conditions", []))
    except (binascii.Error, ValueError, KeyError, TypeError):
        return S3Error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.")
    if now > expiration:
        return S3Error(403, "AccessDenied", "Invalid according to Policy: Policy expired.")

    values = dict(form)
    values["bucket"] = bucket
    if "key" in values and file_name is not None:
        values["key"] = values["key"].replace("${filename}", file_name)
    covered = {"bucket"}
    for condition in conditions:
        if isinstance(condition, dict):
            for name, expected_value in condition.items():
                covered.add(name.lower())
                if values.get(name.lower()) != str(expected_value):
                    return _policy_failed(["eq", f"${name}", expected_value])
            continue
        if not isinstance(condition, list) or len(condition) != 3:
            return S3Error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Condition.")
        operator = str(condition[0]).lower()
        if operator == "content-length-range":
            low, high = int(condition[1]), int(condition[2])
            if file_size > high:
                return S3Error(
                    400,
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size",
                    {"ProposedSize": str(file_size), "MaxSizeAllowed": str(high)},
                )
            if file_size < low:
                return S3Error(
                    400,
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed size",
                    {"ProposedSize": str(file_size), "MinSizeAllowed": str(low)},
                )
            continue
        name = str(condition[1]).lstrip("$").lower()
        covered.add(name)
        actual = values.get(name, "")
        if operator == "eq" and actual != str(condition[2]):
            return _policy_failed(condition)
        if operator == "starts-with" and not actual.startswith(str(condition[2])):
            return _policy_failed(condition)
        if operator not in ("eq", "starts-with"):
            return S3Error(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {operator}")

    extra = sorted(
        name
        for name in form
        if name not in covered and name not in _POLICY_EXEMPT_FIELDS and not name.startswith("x-ignore-")
    )
    if extra:
        return S3Error(403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")
    return None
