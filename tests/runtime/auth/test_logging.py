"""Logs, metrics and traces never carry a password, a code or a token, on any path."""

from __future__ import annotations

import boto3
import pytest

from runtime.auth.ratelimit import LOGIN
from tests.runtime.auth.conftest import MAIL_FROM, PASSWORD, REGION, Mailbox, UsersTable, call

NEW_PASSWORD = "another long passphrase"


def test_no_secret_reaches_the_logs(
    auth_env: UsersTable,
    mailbox: Mailbox,
    signing_key: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    secrets_seen: list[str] = [PASSWORD, NEW_PASSWORD, signing_key]
    registered = call(
        "POST", "/auth/register", body={"email": "zoe@example.com", "password": PASSWORD, "full_name": "Zoe"}
    )
    assert registered.status == 201
    secrets_seen += [registered.body["access_token"], mailbox.last_code("zoe@example.com")]

    login = call("POST", "/auth/login", body={"email": "zoe@example.com", "password": PASSWORD})
    secrets_seen.append(login.body["access_token"])
    call("POST", "/auth/login", body={"email": "zoe@example.com", "password": NEW_PASSWORD})
    call("POST", "/auth/login", body={"email": "nobody@example.com", "password": NEW_PASSWORD})
    # A password where a name belongs, and one that breaks the policy: validation errors echo no input.
    call("PATCH", "/auth/me", token=login.body["access_token"], body={"full_name": {"password": PASSWORD}})
    call("POST", "/auth/register", body={"email": "x@example.com", "password": "short", "full_name": PASSWORD * 9})
    call("POST", "/auth/forgot-password", body={"email": "zoe@example.com"})
    reset_code = mailbox.last_code("zoe@example.com")
    secrets_seen.append(reset_code)
    call("POST", "/auth/verify-email", body={"email": "zoe@example.com", "code": "00000000"})
    call(
        "POST",
        "/auth/reset-password",
        body={"email": "zoe@example.com", "code": reset_code, "new_password": NEW_PASSWORD},
    )
    # Guessing until the attempt limit answers 429: the refused password is not logged either.
    for _ in range(LOGIN.per_account.max_hits + 1):
        limited = call("POST", "/auth/login", body={"email": "zoe@example.com", "password": NEW_PASSWORD + "!"})
    assert limited.status == 429
    secrets_seen.append(NEW_PASSWORD + "!")
    # The mail service failing logs a traceback: it must not hold the code either.
    boto3.client("ses", region_name=REGION).delete_identity(Identity=MAIL_FROM)
    failed = call("POST", "/auth/register", body={"email": "yan@example.com", "password": PASSWORD, "full_name": "Yan"})
    secrets_seen.append(failed.body["access_token"])

    captured = capsys.readouterr()
    output = captured.out + captured.err + caplog.text
    assert "code email not sent" in output  # the failure was logged...
    assert "account created" in output
    for secret in secrets_seen:
        assert secret not in output  # ...and nothing secret was
