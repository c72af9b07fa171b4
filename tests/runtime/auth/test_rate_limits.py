"""Attempt limits on sign-in and password reset, per account and per client address (runtime.auth.ratelimit).

API Gateway's stage throttle cannot see accounts; these limits are the application's own,
counted in the users table with conditional writes, answered with 429 and ``Retry-After``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime.auth import handler, ratelimit
from runtime.auth.ratelimit import LOGIN, RESET, Limit, RateLimiter, subject_key
from runtime.auth.repository import AttemptCounter
from runtime.common.errors import RateLimitedError
from tests.runtime.auth.conftest import PASSWORD, Account, UsersTable
from tests.support.events import http_event, lambda_context

WRONG = "not the password at all"


def attempt(path: str, body: dict[str, Any], *, ip: str = "198.51.100.7") -> tuple[int, Any, dict[str, str]]:
    event = http_event("POST", path, body=body, source_ip=ip)
    response = handler.lambda_handler(event, lambda_context())
    return response["statusCode"], json.loads(response["body"]), response.get("headers", {})


def limit_items(table: UsersTable) -> list[dict[str, Any]]:
    return [i for i in table.all_items() if i["pk"]["S"].startswith("LIMIT#")]


def test_login_is_limited_per_account_and_says_when_to_retry(auth_env: UsersTable, alice: Account) -> None:
    # Given ten wrong passwords for one account, each from a different address
    for n in range(LOGIN.per_account.max_hits):
        status, _, _ = attempt("/auth/login", {"email": alice.email, "password": WRONG}, ip=f"198.51.100.{n}")
        assert status == 401
    # When the right password arrives from yet another address
    status, body, headers = attempt("/auth/login", {"email": alice.email, "password": PASSWORD}, ip="192.0.2.1")
    # Then it is refused until the window ends, with the contract's error body
    assert status == 429
    assert body == {"error": ratelimit.TOO_MANY_ATTEMPTS}
    assert 1 <= int(headers["Retry-After"]) <= LOGIN.per_account.window_seconds
    # The alias shares the counter, and other accounts are untouched
    assert attempt("/auth/signin", {"email": alice.email, "password": PASSWORD}, ip="192.0.2.2")[0] == 429
    assert attempt("/auth/login", {"email": "bob@example.com", "password": WRONG}, ip="192.0.2.3")[0] == 401


def test_an_unknown_account_is_limited_exactly_like_a_known_one(auth_env: UsersTable, alice: Account) -> None:
    """Enumeration: the limit counts the email as typed, so a 429 says nothing about whether it exists."""
    answers = {}
    for email in (alice.email, "nobody@example.com"):
        for n in range(LOGIN.per_account.max_hits):
            attempt("/auth/login", {"email": email, "password": WRONG}, ip=f"198.51.100.{n}")
        status, body, headers = attempt("/auth/login", {"email": email, "password": WRONG}, ip="192.0.2.9")
        answers[email] = (status, body, sorted(headers))
    assert answers[alice.email] == answers["nobody@example.com"]
    assert answers[alice.email][0] == 429


def test_login_is_limited_per_address_across_accounts(auth_env: UsersTable, monkeypatch: pytest.MonkeyPatch) -> None:
    # The deployed allowance (100) takes a hundred logins to reach; the rule is the same at 12.
    assert LOGIN.per_address.max_hits == 10 * LOGIN.per_account.max_hits
    small = ratelimit.Policy(per_account=LOGIN.per_account, per_address=Limit("login", "ip", 12, 900))
    monkeypatch.setattr(handler, "LOGIN", small)
    # One address sprays one attempt at each of many accounts: no account reaches its own limit
    for n in range(small.per_address.max_hits):
        status, _, _ = attempt("/auth/login", {"email": f"user{n}@example.com", "password": WRONG}, ip="203.0.113.66")
        assert status == 401
    status, _, headers = attempt("/auth/login", {"email": "fresh@example.com", "password": WRONG}, ip="203.0.113.66")
    assert status == 429
    assert int(headers["Retry-After"]) >= 1
    # Another address is not affected
    assert attempt("/auth/login", {"email": "fresh@example.com", "password": WRONG}, ip="203.0.113.67")[0] == 401


def test_reset_flows_are_limited_per_account(auth_env: UsersTable, alice: Account) -> None:
    for n in range(RESET.per_account.max_hits):
        path = "/auth/forgot-password" if n % 2 else "/auth/reset-password"
        body: dict[str, Any] = {"email": alice.email}
        if path == "/auth/reset-password":
            body |= {"code": "00000000", "new_password": "a brand new passphrase"}
        assert attempt(path, body, ip=f"198.51.100.{n}")[0] in (202, 400)
    status, body, headers = attempt("/auth/forgot-password", {"email": alice.email}, ip="192.0.2.1")
    assert (status, body) == (429, {"error": ratelimit.TOO_MANY_ATTEMPTS})
    assert "Retry-After" in headers
    status, _, _ = attempt(
        "/auth/reset-password",
        {"email": alice.email, "code": "00000000", "new_password": "a brand new passphrase"},
        ip="192.0.2.2",
    )
    assert status == 429


def test_counters_are_hashed_and_expire(auth_env: UsersTable, alice: Account) -> None:
    attempt("/auth/login", {"email": alice.email, "password": WRONG}, ip="198.51.100.200")
    items = limit_items(auth_env)
    assert len(items) == 2  # one for the address, one for the account
    for item in items:
        # Neither the email nor the address is stored in the clear
        assert alice.email not in json.dumps(item)
        assert "198.51.100.200" not in json.dumps(item)
        assert item["sk"]["S"].startswith("WINDOW#")
        window_start = int(item["sk"]["S"].removeprefix("WINDOW#"))
        assert int(item["ttl"]["N"]) == window_start + 2 * LOGIN.per_account.window_seconds
        assert item["hits"]["N"] == "1"


def test_the_counter_stops_at_the_limit(auth_env: UsersTable) -> None:
    """The count is one conditional UpdateItem: past the limit nothing more is counted, nothing passes."""
    counter = AttemptCounter(handler._dynamodb(), auth_env.name)
    limit = Limit("login", "account", max_hits=5, window_seconds=60)
    limiter = RateLimiter(counter, clock=lambda: 1_000_000.0)

    def one() -> bool:
        try:
            limiter._hit(limit, "race@example.com")
        except RateLimitedError:
            return False
        return True

    results = [one() for _ in range(12)]
    assert results == [True] * 5 + [False] * 7
    key = subject_key(limit, "race@example.com")
    stored = auth_env.item(f"LIMIT#{key}", f"WINDOW#{1_000_000 - 1_000_000 % 60}")
    assert stored is not None
    assert stored["hits"]["N"] == "5"


def test_a_new_window_starts_afresh() -> None:
    class Memory:
        def __init__(self) -> None:
            self.counts: dict[tuple[str, int], int] = {}

        def hit(self, key: str, *, window_start: int, expires_at: int, max_hits: int) -> bool:
            current = self.counts.get((key, window_start), 0)
            if current >= max_hits:
                return False
            self.counts[(key, window_start)] = current + 1
            return True

    now = [1_000_020.0]
    limiter = RateLimiter(Memory(), clock=lambda: now[0])
    policy = ratelimit.Policy(per_account=Limit("login", "account", 2, 60), per_address=Limit("login", "ip", 100, 60))
    limiter.check(policy, account="a@example.com", address="192.0.2.1")
    limiter.check(policy, account="A@Example.com ", address="192.0.2.1")  # the same account
    with pytest.raises(RateLimitedError) as refused:
        limiter.check(policy, account="a@example.com", address="192.0.2.1")
    assert refused.value.retry_after_seconds == 60 - 1_000_020 % 60
    now[0] += 60
    limiter.check(policy, account="a@example.com", address="192.0.2.1")
