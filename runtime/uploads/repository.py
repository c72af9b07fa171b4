"""DynamoDB access for upload sessions and image records; no other module touches these tables."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError

from runtime.common.dynamo import error_code, from_item, raise_for_client_error, to_item, to_values
from runtime.common.names import Index, IndexAttr
from runtime.uploads.models import CompletedSession, ImageStatus, SessionStatus


class SessionRepository:
    """Upload sessions keyed by their id (``pk``); every transition is a conditional write."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client or boto3.client("dynamodb")

    def create(self, session_id: str, *, created_at: int, expires_at: int, ttl: int) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(
                    {
                        "pk": session_id,
                        "status": SessionStatus.AWAITING_SCAN.value,
                        "created_at": created_at,
                        "expires_at": expires_at,
                        "ttl": ttl,
                    }
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            raise_for_client_error(error, conflict_message="session already exists")

    def get(self, session_id: str) -> dict[str, Any] | None:
        response = self._client.get_item(TableName=self._table, Key=to_item({"pk": session_id}), ConsistentRead=True)
        return from_item(response.get("Item"))

    def request_upload(self, session_id: str, *, upload_key: str, now: int) -> None:
        """Record the key a PUT was presigned for; only an unexpired, unfinished session may."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item({"pk": session_id}),
                UpdateExpression="SET #status = :requested, upload_key = :key, upload_requested_at = :now",
                ConditionExpression="attribute_exists(pk) AND #status <> :completed AND expires_at > :now",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_values(
                    {
                        ":requested": SessionStatus.UPLOAD_REQUESTED.value,
                        ":completed": SessionStatus.COMPLETED.value,
                        ":key": upload_key,
                        ":now": now,
                    }
                ),
            )
        except ClientError as error:
            raise_for_client_error(error, conflict_message="session can no longer accept an upload")

    def complete(self, session_id: str, *, upload_key: str, now: int) -> CompletedSession | None:
        """Mark the session completed by ``upload_key``; None when there is nothing (more) to do.

        A repeat of the same key is let through until the page was told (``notified_at``): the
        earlier delivery may have completed the session and then failed before the notification,
        and SQS redelivers exactly that event. Once told, repeats change nothing.
        """
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=to_item({"pk": session_id}),
                UpdateExpression="SET #status = :completed, upload_key = :key, "
                "completed_at = if_not_exists(completed_at, :now)",
                ConditionExpression="attribute_exists(pk) AND (#status <> :completed OR "
                "(upload_key = :key AND attribute_not_exists(notified_at)))",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_values(
                    {":completed": SessionStatus.COMPLETED.value, ":key": upload_key, ":now": now}
                ),
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise_for_client_error(error)
        old = from_item(response.get("Attributes")) or {}
        repeated = old.get("status") == SessionStatus.COMPLETED.value
        return CompletedSession(
            created_at=int(old.get("created_at", now)),
            completed_at=int(old.get("completed_at", now)) if repeated else now,
            first=not repeated,
        )

    def mark_notified(self, session_id: str, *, now: int) -> None:
        """The page was told (or had no socket to tell): later repeats of the event are ignored."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item({"pk": session_id}),
                UpdateExpression="SET notified_at = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_values({":now": now}),
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return  # swept by its TTL meanwhile: nobody is left to tell
            raise_for_client_error(error)


class ImageRepository:
    """Image records keyed by (owner, image): another user's id is simply not found."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client or boto3.client("dynamodb")

    def create(self, record: dict[str, Any]) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(record),
                ConditionExpression="attribute_not_exists(image_id)",
            )
        except ClientError as error:
            raise_for_client_error(error, conflict_message="image already exists")

    def get(self, owner_id: str, image_id: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({IndexAttr.OWNER_ID: owner_id, IndexAttr.IMAGE_ID: image_id}),
        )
        return from_item(response.get("Item"))

    def list(
        self, owner_id: str, *, limit: int, start_key: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": Index.IMAGES_BY_CREATED,
            "KeyConditionExpression": "owner_id = :owner",
            "ExpressionAttributeValues": to_values({":owner": owner_id}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start_key:
            request["ExclusiveStartKey"] = to_item(start_key)
        response = self._client.query(**request)
        items = [from_item(item) or {} for item in response.get("Items", [])]
        return items, from_item(response.get("LastEvaluatedKey"))

    def update_status(
        self,
        owner_id: str,
        image_id: str,
        *,
        status: ImageStatus,
        expected: tuple[ImageStatus, ...],
        attributes: dict[str, Any] | None = None,
        remove: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Move an image to ``status`` only from one of the ``expected`` states."""
        names = {"#status": "status"}
        values: dict[str, Any] = {":status": status.value}
        sets = ["#status = :status"]
        for index, (name, value) in enumerate((attributes or {}).items()):
            names[f"#a{index}"] = name
            values[f":a{index}"] = value
            sets.append(f"#a{index} = :a{index}")
        expected_names = []
        for index, state in enumerate(expected):
            values[f":e{index}"] = state.value
            expected_names.append(f":e{index}")
        expression = "SET " + ", ".join(sets)
        if remove:
            for index, name in enumerate(remove):
                names[f"#r{index}"] = name
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(remove)))
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=to_item({IndexAttr.OWNER_ID: owner_id, IndexAttr.IMAGE_ID: image_id}),
                UpdateExpression=expression,
                ConditionExpression=f"attribute_exists(image_id) AND #status IN ({', '.join(expected_names)})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_values(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            raise_for_client_error(error, conflict_message="image is not in a state that allows this")
        return from_item(response["Attributes"]) or {}
