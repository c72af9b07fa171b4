"""Plain-Python items in and out of the low-level DynamoDB client.

Repositories use the client (one per container) rather than the resource API, and convert at
the edge: numbers come back as ``int`` (or ``float``), never ``Decimal``, so domain objects and
JSON responses need no special cases.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NoReturn

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from runtime.common.errors import ConflictError, ThrottledError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(v) for v in value]
    return value


def _dynamo_value(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _dynamo_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_dynamo_value(v) for v in value]
    return value


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    """A plain dict as a typed DynamoDB item (``None`` values are left out)."""
    return {k: _serializer.serialize(_dynamo_value(v)) for k, v in data.items() if v is not None}


def to_values(data: dict[str, Any]) -> dict[str, Any]:
    """Expression attribute values (``:name`` keys) as typed DynamoDB values."""
    return {k: _serializer.serialize(_dynamo_value(v)) for k, v in data.items()}


def from_item(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """A typed DynamoDB item as a plain dict (None stays None)."""
    if item is None:
        return None
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def raise_for_client_error(error: ClientError, *, conflict_message: str = "conflicting update") -> NoReturn:
    """Translate what a caller can act on into domain errors; re-raise everything else as is."""
    code = error_code(error)
    if code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
        raise ConflictError(conflict_message) from error
    if code in THROTTLING_CODES:
        raise ThrottledError("the service is busy, please retry") from error
    raise error
