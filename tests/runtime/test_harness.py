"""The handler-test harness builds what the stacks declare, and real tokens verify."""

from __future__ import annotations

from typing import Any

from local.assembly import TableSpec
from runtime.common import tokens
from runtime.common.names import Env, Index
from tests.runtime.conftest import TokenFactory


def test_tables_come_from_the_templates(tables: dict[str, TableSpec], dynamodb: Any) -> None:
    chat = dynamodb.describe_table(TableName=tables[Env.CHAT_TABLE].physical_name)["Table"]
    assert {i["IndexName"] for i in chat["GlobalSecondaryIndexes"]} == {
        Index.USER_CONVERSATIONS,
        Index.MESSAGES_BY_TYPE,
        Index.CONVERSATION_CALLS,
    }
    assert chat["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert set(tables) >= {Env.USERS_TABLE, Env.CONNECTIONS_TABLE, Env.UPLOAD_SESSIONS_TABLE, Env.IMAGES_TABLE}


def test_issued_tokens_verify_against_the_stored_key(token_factory: TokenFactory) -> None:
    identity = tokens.token_service().verify(token_factory("user-1", "tenant-b"))
    assert (identity.user_id, identity.tenant_id) == ("user-1", "tenant-b")
