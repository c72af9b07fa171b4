"""The upload-sessions table as `$connect` / `$disconnect` see it: is a QR session open, and whose socket is it."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from runtime.common.dynamo import error_code, raise_for_client_error, to_item, to_values
from runtime.common.names import Attr
from runtime.uploads.models import SessionStatus

# Statuses a QR page may still be waiting in; a completed session has nothing left to push.
OPEN_STATUSES = (SessionStatus.AWAITING_SCAN.value, SessionStatus.UPLOAD_REQUESTED.value)
_STATUS_VALUES = {f":s{i}": status for i, status in enumerate(OPEN_STATUSES)}
_ATTACH_CONDITION = f"attribute_exists(#pk) AND expires_at > :now AND #s IN ({', '.join(_STATUS_VALUES)})"


class UploadSessionStore:
    """One conditional write per event: the condition is the validity check, so it cannot race."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def attach(self, session_id: str, connection_id: str, now: int) -> bool:
        """Record the page's socket on an open session; False when it is unknown, expired or completed."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item({Attr.PK: session_id}),
                UpdateExpression="SET connection_id = :c",
                ConditionExpression=_ATTACH_CONDITION,
                ExpressionAttributeNames={"#pk": Attr.PK, "#s": "status"},
                ExpressionAttributeValues=to_values({":c": connection_id, ":now": now, **_STATUS_VALUES}),
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise_for_client_error(error)
        return True

    def detach(self, session_id: str, connection_id: str) -> None:
        """Forget the socket, unless a newer one has replaced it (then that one stays)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item({Attr.PK: session_id}),
                UpdateExpression="REMOVE connection_id",
                ConditionExpression="connection_id = :c",
                ExpressionAttributeValues=to_values({":c": connection_id}),
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return
            raise_for_client_error(error)
