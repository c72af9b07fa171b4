"""The users table (docs/data-model.md "Users table") behind the ``UserStore`` protocol.

Items: the profile ``USER#{id}/PROFILE``, the email claim ``EMAIL#{email}/EMAIL`` that makes
emails unique, and one-time codes ``USER#{id}/CODE#{purpose}``. Every read is a GetItem, every
racing change a conditional write. Reads made for a signed-in caller take the caller's tenant
and treat a profile of another tenant as absent, so a handler cannot forget the check.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from runtime.auth.logic import Purpose, StoredCode, User
from runtime.common.dynamo import THROTTLING_CODES, error_code, from_item, raise_for_client_error, to_item, to_values
from runtime.common.errors import ConflictError, NotFoundError, ThrottledError
from runtime.common.names import Attr

PROFILE = "PROFILE"
EMAIL = "EMAIL"

# Reasons in a cancelled transaction that mean "try again" rather than "a condition failed".
_RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", *THROTTLING_CODES})


def user_key(user_id: str) -> dict[str, Any]:
    return to_item({Attr.PK: f"USER#{user_id}", Attr.SK: PROFILE})


def email_key(email: str) -> dict[str, Any]:
    return to_item({Attr.PK: f"EMAIL#{email}", Attr.SK: EMAIL})


def code_key(user_id: str, purpose: Purpose) -> dict[str, Any]:
    return to_item({Attr.PK: f"USER#{user_id}", Attr.SK: f"CODE#{purpose.value}"})


def _user(data: dict[str, Any]) -> User:
    return User(
        user_id=str(data["user_id"]),
        email=str(data["email"]),
        full_name=str(data["full_name"]),
        tenant_id=str(data["tenant_id"]),
        permissions=tuple(str(p) for p in data.get("permissions") or ()),
        email_verified=bool(data.get("email_verified", False)),
        created_at=int(data["created_at"]),
        password_hash=str(data["password_hash"]),
    )


def _code(data: dict[str, Any]) -> StoredCode:
    return StoredCode(
        code_hash=str(data["code_hash"]),
        attempts=int(data["attempts"]),
        issued_at=int(data["issued_at"]),
        expires_at=int(data["expires_at"]),
    )


def _code_item(user_id: str, purpose: Purpose, code: StoredCode) -> dict[str, Any]:
    return {
        Attr.PK: f"USER#{user_id}",
        Attr.SK: f"CODE#{purpose.value}",
        "code_hash": code.code_hash,
        "attempts": code.attempts,
        "issued_at": code.issued_at,
        "expires_at": code.expires_at,
        # DynamoDB deletes expired codes eventually; expires_at is what the checks compare.
        Attr.TTL: code.expires_at,
    }


class UserRepository:
    """Accounts and codes in the users table; the boto3 DynamoDB client is passed in."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # --- accounts -------------------------------------------------------------------------

    def create(self, user: User, verification: StoredCode) -> None:
        profile = {
            Attr.PK: f"USER#{user.user_id}",
            Attr.SK: PROFILE,
            "user_id": user.user_id,
            "email": user.email,
            "full_name": user.full_name,
            "tenant_id": user.tenant_id,
            "permissions": list(user.permissions),
            "password_hash": user.password_hash,
            "email_verified": user.email_verified,
            "created_at": user.created_at,
            "updated_at": user.created_at,
        }
        claim = {Attr.PK: f"EMAIL#{user.email}", Attr.SK: EMAIL, "user_id": user.user_id}
        code = _code_item(user.user_id, Purpose.VERIFY_EMAIL, verification)
        new_item = "attribute_not_exists(pk)"
        self._transact(
            [
                {"Put": {"TableName": self._table, "Item": to_item(profile), "ConditionExpression": new_item}},
                {"Put": {"TableName": self._table, "Item": to_item(claim), "ConditionExpression": new_item}},
                {"Put": {"TableName": self._table, "Item": to_item(code)}},
            ]
        )

    def get_by_email(self, email: str) -> User | None:
        claim = self._get(email_key(email))
        if claim is None:
            return None
        return self._profile(str(claim["user_id"]))

    def get(self, user_id: str, *, tenant_id: str) -> User | None:
        user = self._profile(user_id)
        return user if user is not None and user.tenant_id == tenant_id else None

    def find_in_tenant(self, email: str, *, tenant_id: str) -> User | None:
        user = self.get_by_email(email)
        return user if user is not None and user.tenant_id == tenant_id else None

    def update_full_name(self, user_id: str, *, tenant_id: str, full_name: str, now: int) -> User:
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=user_key(user_id),
                UpdateExpression="SET full_name = :name, updated_at = :now",
                ConditionExpression="attribute_exists(pk) AND tenant_id = :tenant",
                ExpressionAttributeValues=to_values({":name": full_name, ":now": now, ":tenant": tenant_id}),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise NotFoundError("account not found") from error
            raise_for_client_error(error)
        data = from_item(response["Attributes"])
        assert data is not None
        return _user(data)

    def replace_password_hash(self, user_id: str, *, old_hash: str, new_hash: str, now: int) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=user_key(user_id),
                UpdateExpression="SET password_hash = :new, updated_at = :now",
                ConditionExpression="password_hash = :old",
                ExpressionAttributeValues=to_values({":new": new_hash, ":old": old_hash, ":now": now}),
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise_for_client_error(error)
        return True

    # --- codes ----------------------------------------------------------------------------

    def put_code(self, user_id: str, purpose: Purpose, code: StoredCode, *, issued_before: int) -> bool:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(_code_item(user_id, purpose, code)),
                ConditionExpression="attribute_not_exists(pk) OR issued_at < :cutoff",
                ExpressionAttributeValues=to_values({":cutoff": issued_before}),
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise_for_client_error(error)
        return True

    def count_attempt(self, user_id: str, purpose: Purpose, *, now: int, max_attempts: int) -> StoredCode | None:
        """Spend a guess before comparing: concurrent guesses cannot exceed ``max_attempts``."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=code_key(user_id, purpose),
                UpdateExpression="SET attempts = attempts + :one",
                ConditionExpression="attribute_exists(pk) AND attempts < :max AND expires_at > :now",
                ExpressionAttributeValues=to_values({":one": 1, ":max": max_attempts, ":now": now}),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise_for_client_error(error)
        data = from_item(response["Attributes"])
        assert data is not None
        return _code(data)

    def mark_email_verified(self, user_id: str, *, code_hash: str, now: int) -> bool:
        return self._consume_code(
            user_id,
            Purpose.VERIFY_EMAIL,
            code_hash,
            update="SET email_verified = :true, updated_at = :now",
            values={":true": True, ":now": now},
        )

    def reset_password(self, user_id: str, *, code_hash: str, password_hash: str, now: int) -> bool:
        # The code arrived by email, so a successful reset also proves the address.
        return self._consume_code(
            user_id,
            Purpose.RESET_PASSWORD,
            code_hash,
            update="SET password_hash = :hash, email_verified = :true, updated_at = :now",
            values={":hash": password_hash, ":true": True, ":now": now},
        )

    # --- helpers --------------------------------------------------------------------------

    def _consume_code(
        self, user_id: str, purpose: Purpose, code_hash: str, *, update: str, values: dict[str, Any]
    ) -> bool:
        """Delete the code (if it is still the one that matched) and apply ``update``, atomically."""
        try:
            self._transact(
                [
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": code_key(user_id, purpose),
                            "ConditionExpression": "code_hash = :hash",
                            "ExpressionAttributeValues": to_values({":hash": code_hash}),
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": user_key(user_id),
                            "UpdateExpression": update,
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeValues": to_values(values),
                        }
                    },
                ]
            )
        except ConflictError:
            return False
        return True

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        try:
            # Strongly consistent: a login right after registering must see the account.
            response = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True)
        except ClientError as error:
            raise_for_client_error(error)
            raise  # unreachable: raise_for_client_error always raises
        return from_item(response.get("Item"))

    def _profile(self, user_id: str) -> User | None:
        data = self._get(user_key(user_id))
        return _user(data) if data is not None else None

    def _transact(self, items: list[dict[str, Any]]) -> None:
        """Run a transaction; a failed condition is ConflictError, contention is ThrottledError."""
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException":
                reasons = {str(r.get("Code", "")) for r in error.response.get("CancellationReasons", [])}
                if "ConditionalCheckFailed" in reasons:
                    raise ConflictError("conflicting update") from error
                if reasons & _RETRYABLE_REASONS:
                    raise ThrottledError("the service is busy, please retry") from error
            raise_for_client_error(error)


class AttemptCounter:
    """Fixed-window attempt counters (``LIMIT#{key}/WINDOW#{start}``) in the users table.

    One conditional ``UpdateItem`` per attempt: ``ADD hits`` only while ``hits < max``, so
    concurrent attempts are counted exactly and none slips past the limit; ``ttl`` deletes the
    window once it is over.
    """

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def hit(self, key: str, *, window_start: int, expires_at: int, max_hits: int) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item({Attr.PK: f"LIMIT#{key}", Attr.SK: f"WINDOW#{window_start}"}),
                UpdateExpression="ADD hits :one SET #ttl = if_not_exists(#ttl, :ttl)",
                ConditionExpression="attribute_not_exists(hits) OR hits < :max",
                ExpressionAttributeNames={"#ttl": Attr.TTL},
                ExpressionAttributeValues=to_values({":one": 1, ":max": max_hits, ":ttl": expires_at}),
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise_for_client_error(error)
        return True
