"""Register, log in, read and edit the profile, find a colleague: the happy paths and their rules."""

from __future__ import annotations

import argon2
import pytest

from runtime.auth.logic import DEFAULT_PERMISSIONS, DEFAULT_TENANT
from runtime.auth.passwords import PasswordHasher
from runtime.common import settings, tokens
from tests.runtime.auth.conftest import MAIL_FROM, PASSWORD, Account, Mailbox, UsersTable, call, register
from tests.runtime.conftest import TokenFactory

USER_FIELDS = {"user_id", "email", "full_name", "tenant_id", "permissions", "email_verified", "created_at"}


@pytest.mark.parametrize("path", ["/auth/register", "/auth/signup"])
def test_register_creates_the_account_and_signs_in(auth_env: UsersTable, mailbox: Mailbox, path: str) -> None:
    reply = call(
        "POST",
        path,
        body={"email": "  Ada@Example.COM ", "password": PASSWORD, "full_name": " Ada Lovelace ", "tenant_id": "acme"},
    )

    assert reply.status == 201
    assert set(reply.body) == {"user", "access_token", "token_type", "expires_in"}
    assert reply.body["token_type"] == "Bearer"
    assert reply.body["expires_in"] == 900
    user = reply.body["user"]
    assert set(user) == USER_FIELDS
    assert user["email"] == "ada@example.com"
    assert user["full_name"] == "Ada Lovelace"
    assert user["tenant_id"] == "acme"
    assert user["permissions"] == list(DEFAULT_PERMISSIONS)
    assert user["email_verified"] is False
    identity = tokens.token_service().verify(reply.body["access_token"])
    assert (identity.user_id, identity.tenant_id, identity.permissions) == (
        user["user_id"],
        "acme",
        DEFAULT_PERMISSIONS,
    )
    # Profile, email claim and verification code, written together.
    keys = [(i["pk"]["S"], i["sk"]["S"]) for i in auth_env.items()]
    assert sorted(keys) == sorted(
        [
            ("EMAIL#ada@example.com", "EMAIL"),
            (f"USER#{user['user_id']}", "PROFILE"),
            (f"USER#{user['user_id']}", "CODE#verify-email"),
        ]
    )
    profile = auth_env.item(f"USER#{user['user_id']}", "PROFILE")
    assert profile is not None
    assert profile["password_hash"]["S"].startswith("$argon2id$")
    assert PASSWORD not in str(profile)
    # The verification code went out by mail, from the configured sender, and is stored only hashed.
    sent = mailbox.to("ada@example.com")
    assert len(sent) == 1
    assert sent[0].source == MAIL_FROM
    code = mailbox.last_code("ada@example.com")
    stored = auth_env.item(f"USER#{user['user_id']}", "CODE#verify-email")
    assert stored is not None
    assert code not in str(stored)
    assert stored["attempts"]["N"] == "0"


def test_register_without_tenant_joins_the_default_tenant(auth_env: UsersTable) -> None:
    account = register("solo@example.com")
    assert account.tenant_id == DEFAULT_TENANT


def test_duplicate_email_is_409_whatever_its_case_and_changes_nothing(alice: Account, auth_env: UsersTable) -> None:
    before = auth_env.items()
    mails = len(Mailbox().messages())

    reply = call(
        "POST",
        "/auth/register",
        body={"email": "ALICE@example.com", "password": "another password", "full_name": "Impostor"},
    )

    assert reply.status == 409
    assert reply.body == {"error": "an account with this email already exists"}
    assert auth_env.items() == before
    assert len(Mailbox().messages()) == mails


@pytest.mark.parametrize("path", ["/auth/login", "/auth/signin"])
def test_login_returns_a_fresh_token_and_the_user(alice: Account, path: str) -> None:
    reply = call("POST", path, body={"email": "Alice@Example.com", "password": PASSWORD})

    assert reply.status == 200
    assert reply.body["user"]["user_id"] == alice.user_id
    assert reply.body["token_type"] == "Bearer"
    identity = tokens.token_service().verify(reply.body["access_token"])
    assert (identity.user_id, identity.tenant_id) == (alice.user_id, "tenant-a")


def test_unknown_email_and_wrong_password_are_the_same_401(
    alice: Account, auth_env: UsersTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Count argon2 verifications: both failures must pay for one (no fast path that leaks).
    verifications: list[str] = []
    real_verify = argon2.PasswordHasher.verify

    def counting_verify(self: argon2.PasswordHasher, hash: str, password: str) -> bool:
        verifications.append(hash)
        return real_verify(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting_verify)
    before = auth_env.items()

    wrong_password = call("POST", "/auth/login", body={"email": "alice@example.com", "password": "not it at all"})
    unknown_email = call("POST", "/auth/login", body={"email": "nobody@example.com", "password": "not it at all"})

    assert wrong_password.status == unknown_email.status == 401
    assert wrong_password.body == unknown_email.body == {"error": "invalid email or password"}
    assert wrong_password.headers == unknown_email.headers
    assert len(verifications) == 2
    assert all(h.startswith("$argon2id$") for h in verifications)
    assert auth_env.items() == before


def test_login_rehashes_a_password_hashed_with_old_parameters(
    alice: Account, auth_env: UsersTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a hash made with yesterday's parameters, when today's are stronger, then the next
    # successful login stores a hash with today's, and the password keeps working.
    old_hash = auth_env.item(f"USER#{alice.user_id}", "PROFILE")["password_hash"]["S"]  # type: ignore[index]
    assert argon2.extract_parameters(old_hash).memory_cost == 256
    monkeypatch.setenv("ARGON2_MEMORY_KIB", "512")
    settings.reset()

    assert call("POST", "/auth/login", body={"email": "alice@example.com", "password": PASSWORD}).status == 200

    new_hash = auth_env.item(f"USER#{alice.user_id}", "PROFILE")["password_hash"]["S"]  # type: ignore[index]
    assert new_hash != old_hash
    assert argon2.extract_parameters(new_hash).memory_cost == 512
    assert PasswordHasher().verify(new_hash, PASSWORD)
    assert call("POST", "/auth/login", body={"email": "alice@example.com", "password": PASSWORD}).status == 200


def test_wrong_password_does_not_rehash(alice: Account, auth_env: UsersTable, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGON2_MEMORY_KIB", "512")
    settings.reset()
    before = auth_env.items()
    assert call("POST", "/auth/login", body={"email": "alice@example.com", "password": "wrong password"}).status == 401
    assert auth_env.items() == before


def test_me_shows_the_callers_profile(alice: Account) -> None:
    reply = call("GET", "/auth/me", token=alice.token)

    assert reply.status == 200
    assert reply.body == {
        "user_id": alice.user_id,
        "email": "alice@example.com",
        "full_name": "Alice Liddell",
        "tenant_id": "tenant-a",
        "permissions": list(DEFAULT_PERMISSIONS),
        "email_verified": False,
        "created_at": reply.body["created_at"],
    }


def test_patch_me_updates_the_name(alice: Account) -> None:
    reply = call("PATCH", "/auth/me", token=alice.token, body={"full_name": "  Alice Pleasance  "})

    assert reply.status == 200
    assert reply.body["full_name"] == "Alice Pleasance"
    assert call("GET", "/auth/me", token=alice.token).body["full_name"] == "Alice Pleasance"
    login = call("POST", "/auth/login", body={"email": "alice@example.com", "password": PASSWORD})
    assert login.body["user"]["full_name"] == "Alice Pleasance"


def test_me_with_a_token_of_another_tenant_finds_nothing(
    alice: Account, auth_env: UsersTable, token_factory: TokenFactory
) -> None:
    # A (validly signed) token naming Alice's id in another tenant reaches nothing of hers:
    # the repository checks the tenant, not only the handler.
    forged = token_factory(alice.user_id, "tenant-b")
    before = auth_env.items()

    assert call("GET", "/auth/me", token=forged).status == 404
    patched = call("PATCH", "/auth/me", token=forged, body={"full_name": "Hijacked"})

    assert patched.status == 404
    assert patched.body == {"error": "account not found"}
    assert auth_env.items() == before


def test_me_for_an_account_that_no_longer_exists_is_404(auth_env: UsersTable, token_factory: TokenFactory) -> None:
    assert call("GET", "/auth/me", token=token_factory("no-such-user")).status == 404
    assert call("PATCH", "/auth/me", token=token_factory("no-such-user"), body={"full_name": "X"}).status == 404
    assert auth_env.items() == []


def test_users_by_email_finds_a_colleague_in_the_same_tenant(alice: Account, bob: Account) -> None:
    reply = call("GET", "/users", token=alice.token, query={"email": "BOB@example.com"})

    assert reply.status == 200
    assert reply.body == {"user_id": bob.user_id, "full_name": "Bob Builder", "email": "bob@example.com"}


def test_users_by_email_never_reaches_another_tenant(alice: Account, mallory: Account) -> None:
    across = call("GET", "/users", token=alice.token, query={"email": "mallory@example.com"})
    unknown = call("GET", "/users", token=alice.token, query={"email": "nobody@example.com"})

    # Another tenant's user and a user who does not exist look exactly alike.
    assert across.status == unknown.status == 404
    assert across.body == unknown.body == {"error": "user not found"}
    assert call("GET", "/users", token=mallory.token, query={"email": "alice@example.com"}).status == 404


def test_responses_carry_cors_headers_for_browsers(alice: Account) -> None:
    origin = {"origin": "https://app.example.com"}
    ok = call("GET", "/auth/me", token=alice.token, headers=origin)
    refused = call("GET", "/auth/me", token="nope", headers=origin)
    assert ok.headers["Access-Control-Allow-Origin"] == "*"
    assert refused.status == 401
    assert refused.headers["Access-Control-Allow-Origin"] == "*"


def test_patch_me_changes_only_the_name(alice: Account, auth_env: UsersTable) -> None:
    # Fields a client must never set for itself are ignored, not applied (no mass assignment).
    reply = call(
        "PATCH",
        "/auth/me",
        token=alice.token,
        body={
            "full_name": "Alice",
            "tenant_id": "tenant-b",
            "permissions": ["admin"],
            "email": "evil@example.com",
            "email_verified": True,
            "password_hash": "x",
        },
    )

    assert reply.status == 200
    profile = auth_env.item(f"USER#{alice.user_id}", "PROFILE")
    assert profile is not None
    assert profile["tenant_id"]["S"] == "tenant-a"
    assert profile["email"]["S"] == "alice@example.com"
    assert profile["email_verified"]["BOOL"] is False
    assert profile["password_hash"]["S"].startswith("$argon2id$")
    assert [p["S"] for p in profile["permissions"]["L"]] == list(DEFAULT_PERMISSIONS)
    assert auth_env.item("EMAIL#evil@example.com", "EMAIL") is None
