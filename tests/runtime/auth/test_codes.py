"""Email verification and password reset: codes by mail, single use, expiring, bounded guesses."""

from __future__ import annotations

import time

import boto3

from runtime.auth.logic import CodePolicy, Purpose
from runtime.auth.repository import UserRepository
from tests.runtime.auth.conftest import MAIL_FROM, PASSWORD, REGION, Account, Mailbox, UsersTable, call, register

NEW_PASSWORD = "a brand new passphrase"
INVALID_CODE = {"error": "invalid or expired code"}
ACCEPTED = {"message": "if the address belongs to an account, a code is on its way"}


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**8:08d}"


def age_code(table: UsersTable, user_id: str, purpose: str, *, issued_ago: int, expires_in: int) -> None:
    """Move a stored code back in time (what waiting would do)."""
    now = int(time.time())
    table.client.update_item(
        TableName=table.name,
        Key={"pk": {"S": f"USER#{user_id}"}, "sk": {"S": f"CODE#{purpose}"}},
        UpdateExpression="SET issued_at = :issued, expires_at = :expires",
        ExpressionAttributeValues={":issued": {"N": str(now - issued_ago)}, ":expires": {"N": str(now + expires_in)}},
    )


def profile(table: UsersTable, account: Account) -> dict:
    item = table.item(f"USER#{account.user_id}", "PROFILE")
    assert item is not None
    return item


# --- verify email -----------------------------------------------------------------------------


def test_code_from_the_registration_mail_verifies_the_email_once(
    alice: Account, auth_env: UsersTable, mailbox: Mailbox
) -> None:
    code = mailbox.last_code(alice.email)

    reply = call("POST", "/auth/verify-email", body={"email": "Alice@example.com", "code": code})

    assert reply.status == 200
    assert reply.body == {"email": "alice@example.com", "email_verified": True}
    assert call("GET", "/auth/me", token=alice.token).body["email_verified"] is True
    assert auth_env.item(f"USER#{alice.user_id}", "CODE#verify-email") is None
    # Single use: the same code again is refused and changes nothing.
    before = auth_env.items()
    again = call("POST", "/auth/verify-email", body={"email": alice.email, "code": code})
    assert (again.status, again.body) == (400, INVALID_CODE)
    assert auth_env.items() == before


def test_wrong_code_and_unknown_email_are_the_same_400(alice: Account, auth_env: UsersTable, mailbox: Mailbox) -> None:
    code = mailbox.last_code(alice.email)
    before = auth_env.items()

    unknown = call("POST", "/auth/verify-email", body={"email": "nobody@example.com", "code": code})
    assert auth_env.items() == before
    wrong = call("POST", "/auth/verify-email", body={"email": alice.email, "code": other_code(code)})

    assert wrong.status == unknown.status == 400
    assert wrong.body == unknown.body == INVALID_CODE
    # The wrong guess was counted, and nothing else changed.
    stored = auth_env.item(f"USER#{alice.user_id}", "CODE#verify-email")
    assert stored is not None
    assert stored["attempts"]["N"] == "1"
    assert profile(auth_env, alice)["email_verified"]["BOOL"] is False


def test_guesses_are_bounded_then_even_the_right_code_fails(
    alice: Account, auth_env: UsersTable, mailbox: Mailbox
) -> None:
    code = mailbox.last_code(alice.email)
    for _ in range(CodePolicy().max_attempts):
        assert call("POST", "/auth/verify-email", body={"email": alice.email, "code": other_code(code)}).status == 400

    reply = call("POST", "/auth/verify-email", body={"email": alice.email, "code": code})

    assert (reply.status, reply.body) == (400, INVALID_CODE)
    assert profile(auth_env, alice)["email_verified"]["BOOL"] is False


def test_expired_code_is_refused(alice: Account, auth_env: UsersTable, mailbox: Mailbox) -> None:
    code = mailbox.last_code(alice.email)
    age_code(auth_env, alice.user_id, "verify-email", issued_ago=16 * 60, expires_in=-60)

    reply = call("POST", "/auth/verify-email", body={"email": alice.email, "code": code})

    assert (reply.status, reply.body) == (400, INVALID_CODE)
    assert profile(auth_env, alice)["email_verified"]["BOOL"] is False


def test_resend_verification_sends_a_new_code_but_not_twice_a_minute(
    alice: Account, auth_env: UsersTable, mailbox: Mailbox
) -> None:
    first = mailbox.last_code(alice.email)

    # Moments after registering: accepted, but no second mail (the code is still fresh).
    reply = call("POST", "/auth/resend-verification", body={"email": alice.email})
    assert (reply.status, reply.body) == (202, ACCEPTED)
    assert len(mailbox.to(alice.email)) == 1

    age_code(auth_env, alice.user_id, "verify-email", issued_ago=120, expires_in=600)
    assert call("POST", "/auth/resend-verification", body={"email": alice.email}).status == 202
    assert len(mailbox.to(alice.email)) == 2
    second = mailbox.last_code(alice.email)

    # The new code replaces the old one.
    assert call("POST", "/auth/verify-email", body={"email": alice.email, "code": first}).status == 400
    assert call("POST", "/auth/verify-email", body={"email": alice.email, "code": second}).status == 200


def test_resend_verification_is_silent_for_unknown_and_verified_emails(
    alice: Account, auth_env: UsersTable, mailbox: Mailbox
) -> None:
    assert (
        call("POST", "/auth/verify-email", body={"email": alice.email, "code": mailbox.last_code(alice.email)}).status
        == 200
    )
    before = auth_env.items()
    sent = len(mailbox.messages())

    verified = call("POST", "/auth/resend-verification", body={"email": alice.email})
    unknown = call("POST", "/auth/resend-verification", body={"email": "nobody@example.com"})

    assert (verified.status, verified.body) == (unknown.status, unknown.body) == (202, ACCEPTED)
    assert len(mailbox.messages()) == sent
    assert auth_env.items() == before


# --- forgot / reset password --------------------------------------------------------------------


def test_forgot_password_answers_the_same_for_known_and_unknown_emails(
    alice: Account, auth_env: UsersTable, mailbox: Mailbox
) -> None:
    before = auth_env.items()

    unknown = call("POST", "/auth/forgot-password", body={"email": "nobody@example.com"})
    assert auth_env.items() == before
    known = call("POST", "/auth/forgot-password", body={"email": "ALICE@example.com"})

    assert (known.status, known.body) == (unknown.status, unknown.body) == (202, ACCEPTED)
    assert mailbox.to("nobody@example.com") == []
    reset_mail = mailbox.to(alice.email)[-1]
    assert reset_mail.subject == "Reset your password"
    assert reset_mail.source == MAIL_FROM
    assert auth_env.item(f"USER#{alice.user_id}", "CODE#reset-password") is not None


def test_reset_password_with_the_mailed_code(alice: Account, auth_env: UsersTable, mailbox: Mailbox) -> None:
    call("POST", "/auth/forgot-password", body={"email": alice.email})
    code = mailbox.last_code(alice.email)

    reply = call(
        "POST", "/auth/reset-password", body={"email": alice.email, "code": code, "new_password": NEW_PASSWORD}
    )

    assert reply.status == 200
    assert "error" not in reply.body
    assert call("POST", "/auth/login", body={"email": alice.email, "password": PASSWORD}).status == 401
    assert call("POST", "/auth/login", body={"email": alice.email, "password": NEW_PASSWORD}).status == 200
    # The code is spent, and receiving it proved the address.
    assert auth_env.item(f"USER#{alice.user_id}", "CODE#reset-password") is None
    assert profile(auth_env, alice)["email_verified"]["BOOL"] is True
    again = call("POST", "/auth/reset-password", body={"email": alice.email, "code": code, "new_password": "x" * 12})
    assert (again.status, again.body) == (400, INVALID_CODE)


def test_reset_with_a_wrong_code_keeps_the_password(alice: Account, auth_env: UsersTable, mailbox: Mailbox) -> None:
    call("POST", "/auth/forgot-password", body={"email": alice.email})
    code = mailbox.last_code(alice.email)
    password_hash = profile(auth_env, alice)["password_hash"]

    reply = call(
        "POST",
        "/auth/reset-password",
        body={"email": alice.email, "code": other_code(code), "new_password": NEW_PASSWORD},
    )

    assert (reply.status, reply.body) == (400, INVALID_CODE)
    assert profile(auth_env, alice)["password_hash"] == password_hash
    assert call("POST", "/auth/login", body={"email": alice.email, "password": PASSWORD}).status == 200


def test_a_code_for_one_purpose_never_serves_another(alice: Account, auth_env: UsersTable, mailbox: Mailbox) -> None:
    verification_code = mailbox.last_code(alice.email)
    call("POST", "/auth/forgot-password", body={"email": alice.email})

    reply = call(
        "POST",
        "/auth/reset-password",
        body={"email": alice.email, "code": verification_code, "new_password": NEW_PASSWORD},
    )

    assert reply.status == 400
    assert call("POST", "/auth/login", body={"email": alice.email, "password": PASSWORD}).status == 200


def test_reset_without_asking_first_is_refused(alice: Account, auth_env: UsersTable) -> None:
    before = auth_env.items()
    reply = call(
        "POST", "/auth/reset-password", body={"email": alice.email, "code": "12345678", "new_password": NEW_PASSWORD}
    )
    assert (reply.status, reply.body) == (400, INVALID_CODE)
    # No reset code exists, so there is no guess counter to move either.
    assert auth_env.items() == before


# --- mail trouble ---------------------------------------------------------------------------------


def test_registration_succeeds_when_the_mail_service_refuses(auth_env: UsersTable, mailbox: Mailbox) -> None:
    # Given SES refusing the sender, the account still exists (nothing is lost) and the user
    # can ask for the code again later.
    boto3.client("ses", region_name=REGION).delete_identity(Identity=MAIL_FROM)

    account = register("carol@example.com")

    assert mailbox.messages() == []
    assert auth_env.item(f"USER#{account.user_id}", "CODE#verify-email") is not None
    assert call("POST", "/auth/forgot-password", body={"email": "carol@example.com"}).status == 202


def test_the_guess_limit_holds_however_the_guesses_arrive(alice: Account, auth_env: UsersTable) -> None:
    # The repository counts a guess before anyone compares it: after the limit, no caller (even
    # one racing the others) gets the stored hash back to compare against.
    repository = UserRepository(auth_env.client, auth_env.name)
    now = int(time.time())
    granted = [
        repository.count_attempt(alice.user_id, Purpose.VERIFY_EMAIL, now=now, max_attempts=CodePolicy().max_attempts)
        for _ in range(CodePolicy().max_attempts + 3)
    ]

    assert [g is not None for g in granted] == [True] * CodePolicy().max_attempts + [False] * 3
    assert [g.attempts for g in granted if g is not None] == list(range(1, CodePolicy().max_attempts + 1))
