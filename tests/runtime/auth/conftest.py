"""The auth function against moto: users table from the stacks, SES with a verified sender.

Hashing uses argon2id with small parameters (the `test` stage is the only one allowed below
OWASP's minimum) so the suite stays fast; tests/unit/test_auth_passwords.py checks the real ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from local.assembly import TableSpec
from runtime.auth import handler
from runtime.common import settings
from runtime.common.names import Env
from tests.runtime.conftest import TokenFactory
from tests.support.events import http_event, lambda_context

MAIL_FROM = "no-reply@messaging.example.com"
PASSWORD = "correct horse battery"
REGION = "us-east-1"


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


def call(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | bytes | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> Reply:
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["authorization"] = f"Bearer {token}"
    event = http_event(method, path, body=body, raw_body=raw_body, headers=all_headers, query=query)
    response = handler.lambda_handler(event, lambda_context())
    return Reply(
        status=response["statusCode"],
        body=json.loads(response["body"]) if response.get("body") else None,
        headers=response.get("headers", {}),
    )


@dataclass
class Mailbox:
    """What the function handed to (moto's) SES."""

    def messages(self) -> list[Any]:
        return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)

    def to(self, address: str) -> list[Any]:
        return [m for m in self.messages() if address in m.destinations.get("ToAddresses", [])]

    def last_code(self, address: str) -> str:
        sent = self.to(address)
        assert sent, f"no mail to {address}"
        match = re.search(r"^\s+(\d{8})$", sent[-1].body, re.MULTILINE)
        assert match, "no code in the mail"
        return match.group(1)


@dataclass
class UsersTable:
    client: Any
    name: str

    def all_items(self) -> list[dict[str, Any]]:
        """Every item, sorted (tests may Scan; runtime code may not)."""
        items = self.client.scan(TableName=self.name, ConsistentRead=True)["Items"]
        return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))

    def items(self) -> list[dict[str, Any]]:
        """Every account item: all but the attempt counters, which every sign-in or reset attempt
        adds to by design (tests/runtime/auth/test_rate_limits.py checks those)."""
        return [item for item in self.all_items() if not item["pk"]["S"].startswith("LIMIT#")]

    def item(self, pk: str, sk: str) -> dict[str, Any] | None:
        return self.client.get_item(TableName=self.name, Key={"pk": {"S": pk}, "sk": {"S": sk}}).get("Item")


@pytest.fixture
def auth_env(tables: dict[str, TableSpec], signing_key: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[UsersTable]:
    monkeypatch.setenv(Env.MAIL_FROM, MAIL_FROM)
    monkeypatch.setenv(Env.STAGE, "test")
    monkeypatch.setenv("ARGON2_MEMORY_KIB", "256")
    monkeypatch.setenv("ARGON2_TIME_COST", "1")
    # The code routes' response floor is unit-tested with a fake clock (tests/unit/test_auth_enumeration.py).
    monkeypatch.setenv("CODE_RESPONSE_FLOOR_MS", "0")
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=MAIL_FROM)
    settings.reset()
    yield UsersTable(boto3.client("dynamodb", region_name=REGION), tables[Env.USERS_TABLE].physical_name)
    settings.reset()


@pytest.fixture
def mailbox(auth_env: UsersTable) -> Mailbox:
    return Mailbox()


@dataclass(frozen=True)
class Account:
    user_id: str
    email: str
    tenant_id: str
    token: str


def register(email: str, *, tenant_id: str | None = None, full_name: str = "Ada Lovelace") -> Account:
    body: dict[str, Any] = {"email": email, "password": PASSWORD, "full_name": full_name}
    if tenant_id is not None:
        body["tenant_id"] = tenant_id
    reply = call("POST", "/auth/register", body=body)
    assert reply.status == 201, reply.body
    user = reply.body["user"]
    return Account(user["user_id"], user["email"], user["tenant_id"], reply.body["access_token"])


@pytest.fixture
def alice(auth_env: UsersTable) -> Account:
    return register("alice@example.com", tenant_id="tenant-a", full_name="Alice Liddell")


@pytest.fixture
def bob(auth_env: UsersTable) -> Account:
    return register("bob@example.com", tenant_id="tenant-a", full_name="Bob Builder")


@pytest.fixture
def mallory(auth_env: UsersTable) -> Account:
    return register("mallory@example.com", tenant_id="tenant-b", full_name="Mallory Other")


__all__ = ["TokenFactory"]
