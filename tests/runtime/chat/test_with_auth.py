"""From sign-up to a conversation: real accounts from the auth function, then the chat routes.

The chat routes read the profiles the auth function writes (`USER#{id}` / `PROFILE`); here they
are written by `POST /auth/register` itself rather than by the test.
"""

from __future__ import annotations

import pytest

from tests.runtime.auth.conftest import Account, call, register
from tests.runtime.auth.conftest import auth_env as auth_env  # the auth function's environment
from tests.runtime.chat.conftest import Api, User

pytestmark = pytest.mark.usefixtures("auth_env")


def _as_user(account: Account) -> User:
    return User(user_id=account.user_id, tenant=account.tenant_id, token=account.token)


def test_registered_users_find_each_other_and_talk(api: Api) -> None:
    alice = register("alice@example.com", tenant_id="tenant-a")
    bob = register("bob@example.com", tenant_id="tenant-a")
    mallory = register("mallory@example.com", tenant_id="tenant-b")

    found = call("GET", "/users", token=alice.token, query={"email": "bob@example.com"})
    assert found.status == 200
    conversation = api.chat(
        "POST", "/conversations", as_user=_as_user(alice), body={"participant_ids": [found.body["user_id"]]}
    )
    assert conversation.status == 201
    conversation_id = conversation.body["conversation_id"]
    assert api.message(_as_user(bob), conversation_id, "hi Alice").status == 201
    history = api.chat("GET", f"/conversations/{conversation_id}/messages", as_user=_as_user(alice)).body
    assert [m["content"] for m in history["items"]] == ["hi Alice"]

    # Another tenant's account is "not found", whether named in a conversation or reading one.
    with_mallory = api.chat(
        "POST", "/conversations", as_user=_as_user(alice), body={"participant_ids": [mallory.user_id]}
    )
    assert with_mallory.status == 404
    assert api.chat("GET", f"/conversations/{conversation_id}/messages", as_user=_as_user(mallory)).status == 404
