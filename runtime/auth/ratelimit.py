"""Attempt limits on sign-in and password reset, per account and per client address.

API Gateway's stage throttle counts requests per stage: it cannot tell one account from
another, so it cannot stop a slow guess at one account spread over many addresses, nor one
address trying many accounts a little each. These limits can. Each is a fixed window counter
(one item per key and window, counted with a conditional write, deleted by TTL), so
concurrent attempts can never exceed it.

The account key is the email as submitted (normalised), whether or not an account has it:
an unknown email is limited exactly like a known one, so a 429 reveals nothing. Keys are
stored as hashes, so the table holds no address of anyone who merely tried.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from runtime.common.errors import RateLimitedError

TOO_MANY_ATTEMPTS = "too many attempts, try again later"


@dataclass(frozen=True)
class Limit:
    """At most ``max_hits`` attempts of ``action`` per subject within each window of ``window_seconds``."""

    action: str
    scope: str
    max_hits: int
    window_seconds: int


@dataclass(frozen=True)
class Policy:
    """The limits of one action: one per account, one per client address."""

    per_account: Limit
    per_address: Limit


def _policy(action: str, *, per_account: int, per_address: int, window_seconds: int) -> Policy:
    return Policy(
        per_account=Limit(action, "account", per_account, window_seconds),
        per_address=Limit(action, "ip", per_address, window_seconds),
    )


# Sign-in: a person who mistypes gets 10 tries in 15 minutes; an address behind a NAT (an office,
# a carrier) serves many people, so it gets ten times that. OWASP's Authentication Cheat Sheet
# asks for exactly this pair: limits per account and per source, without locking anyone out.
LOGIN = _policy("login", per_account=10, per_address=100, window_seconds=900)
# Password reset (asking for a code and using one): each code already allows 5 guesses and a new
# code at most once a minute; this caps both across codes and across accounts from one address.
RESET = _policy("reset", per_account=10, per_address=50, window_seconds=900)


class WindowCounter(Protocol):
    def hit(self, key: str, *, window_start: int, expires_at: int, max_hits: int) -> bool:
        """Count one attempt in the window; False (and nothing counted) when it already holds ``max_hits``."""


def subject_key(limit: Limit, subject: str) -> str:
    digest = hashlib.sha256(f"{limit.action}\x00{limit.scope}\x00{subject}".encode()).hexdigest()[:32]
    return f"{limit.action}#{limit.scope}#{digest}"


class RateLimiter:
    """Checks attempts against their limits; knows nothing of HTTP or DynamoDB."""

    def __init__(self, counter: WindowCounter, *, clock: Callable[[], float] = time.time) -> None:
        self._counter = counter
        self._clock = clock

    def check(self, policy: Policy, *, account: str, address: str | None) -> None:
        """Count an attempt; RateLimitedError (429) when the address or the account is over its limit.

        The address is checked first, so one address spraying many accounts is stopped without
        spending those accounts' own allowance.
        """
        if address:
            self._hit(policy.per_address, address)
        self._hit(policy.per_account, account.strip().lower())

    def _hit(self, limit: Limit, subject: str) -> None:
        now = int(self._clock())
        window_start = now - now % limit.window_seconds
        window_end = window_start + limit.window_seconds
        if not self._counter.hit(
            subject_key(limit, subject),
            window_start=window_start,
            # Kept a window past its end: TTL deletes lazily, and nothing reads an old window.
            expires_at=window_end + limit.window_seconds,
            max_hits=limit.max_hits,
        ):
            raise RateLimitedError(TOO_MANY_ATTEMPTS, retry_after_seconds=max(1, window_end - now))
