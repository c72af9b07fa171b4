"""Handlers run against moto: AWS's APIs emulated in process, nothing leaves the machine.

Tables are created from the synthesized `local` stage (keys, indexes, streams, TTL exactly as
the stacks declare them), so a handler test can never pass against a table shape that does
not deploy.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.assembly import CloudAssembly, TableSpec, create_tables
from runtime.common import settings, tokens
from runtime.common.identity import Identity
from runtime.common.names import Env

# Which environment variable names which table (the stacks set the same variables).
TABLE_ENV = {
    "UsersTable": Env.USERS_TABLE,
    "ChatTable": Env.CHAT_TABLE,
    "ConnectionsTable": Env.CONNECTIONS_TABLE,
    "UploadSessionsTable": Env.UPLOAD_SESSIONS_TABLE,
    "ImagesTable": Env.IMAGES_TABLE,
    "IdempotencyTable": Env.IDEMPOTENCY_TABLE,
}


def _env_for(logical_id: str) -> str | None:
    for prefix, env in TABLE_ENV.items():
        if logical_id.startswith(prefix) and logical_id[len(prefix) :].isalnum():
            return env
    return None


@pytest.fixture
def aws() -> Iterator[None]:
    """Everything boto3 does inside the test goes to moto's in-process backends."""
    with mock_aws():
        yield


@pytest.fixture
def dynamodb(aws: None) -> Any:
    return boto3.client("dynamodb", region_name="us-east-1")


@pytest.fixture
def s3(aws: None) -> Any:
    return boto3.client("s3", region_name="us-east-1")


@pytest.fixture
def tables(
    dynamodb: Any, local_assembly: CloudAssembly, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, TableSpec]]:
    """Every table of the stacks, created in moto, with the functions' variables pointing at them."""
    created = create_tables(dynamodb, local_assembly)
    by_env: dict[str, TableSpec] = {}
    for logical_id, spec in created.items():
        env = _env_for(logical_id)
        if env:
            monkeypatch.setenv(env, spec.physical_name)
            by_env[env] = spec
    settings.reset()
    yield by_env
    settings.reset()


@dataclass(frozen=True)
class TokenFactory:
    """Issues real tokens signed with the test deployment's key."""

    service: tokens.TokenService

    def __call__(self, user_id: str, tenant_id: str = "tenant-a", permissions: tuple[str, ...] = ()) -> str:
        identity = Identity(user_id=user_id, tenant_id=tenant_id, permissions=permissions)
        return self.service.issue(identity).access_token

    def headers(self, user_id: str, tenant_id: str = "tenant-a") -> dict[str, str]:
        return {"authorization": f"Bearer {self(user_id, tenant_id)}"}


@pytest.fixture
def signing_key(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A generated signing key in (moto's) Secrets Manager, as the data stack creates it."""
    key = secrets.token_urlsafe(48)
    client = boto3.client("secretsmanager", region_name="us-east-1")
    arn = client.create_secret(Name="jwt-signing-key", SecretString=key)["ARN"]
    monkeypatch.setenv(Env.JWT_SECRET_ARN, arn)
    monkeypatch.setenv(Env.TOKEN_ISSUER, "messaging-platform")
    monkeypatch.setenv(Env.TOKEN_AUDIENCE, "messaging-clients")
    monkeypatch.setenv(Env.ACCESS_TOKEN_TTL_SECONDS, "900")
    _reset_token_caches()
    yield key
    _reset_token_caches()


def _reset_token_caches() -> None:
    from aws_lambda_powertools.utilities import parameters

    settings.reset()
    tokens._service_factory.cache_clear()
    parameters.clear_caches()


@pytest.fixture
def token_factory(signing_key: str) -> TokenFactory:
    return TokenFactory(tokens.token_service())
