"""Opaque ``next_token`` values for DynamoDB pages.

A token is DynamoDB's ``LastEvaluatedKey`` as URL-safe base64 JSON. Clients must treat it as
opaque; a token that does not decode to a key of the expected shape is a 400, and since every
query fixes its partition from the request itself, a forged token cannot reach other data.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from runtime.common.errors import BadRequestError

MAX_LIMIT = 100
DEFAULT_LIMIT = 20


def encode_token(last_evaluated_key: dict[str, Any] | None) -> str | None:
    """Token for the page after this one, or None on the last page."""
    if not last_evaluated_key:
        return None
    raw = json.dumps(last_evaluated_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None, *, expected_keys: set[str]) -> dict[str, Any] | None:
    """The ``ExclusiveStartKey`` a token stands for; 400 when it is not one of ours."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadRequestError("next_token is not valid") from None
    if (
        not isinstance(key, dict)
        or set(key) != expected_keys
        or not all(isinstance(v, str | int) for v in key.values())
    ):
        raise BadRequestError("next_token is not valid")
    return key
