"""Fault injection for boto3 clients: the Nth call of an operation fails the way AWS fails it.

``FaultInjector.install`` wraps ``botocore.client.BaseClient._make_api_call``, so every client
(created before or after, cached per container or not, in any thread) goes through it; calls
that match no rule reach moto unchanged. A rule fails chosen calls of one operation (optionally
only those whose parameters match) with a ``ClientError`` carrying AWS's code and HTTP status:

- ``after=False`` (default): the request never reaches the service (throttled, 5xx), nothing
  changed;
- ``after=True``: the request went through and its effect is stored, then the answer is lost (a
  5xx or a timeout after the commit), the ambiguous case a retry must not turn into a duplicate.

The injected error bypasses botocore's own retries: it stands for what a handler sees once
those retries are exhausted (or for a client configured without them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.client
from botocore.exceptions import ClientError

# The HTTP status AWS answers each code with (DynamoDB throttling is a 400, S3's SlowDown a 503).
STATUS = {
    "ProvisionedThroughputExceededException": 400,
    "ThrottlingException": 400,
    "RequestLimitExceeded": 400,
    "InternalServerError": 500,
    "InternalError": 500,
    "ServiceUnavailable": 503,
    "SlowDown": 503,
    "AccessDenied": 403,
    "AuthorizationError": 403,
    "Throttling": 400,
}


@dataclass
class Rule:
    service: str
    operation: str
    code: str
    calls: frozenset[int] | None  # 1-based numbers of the matching calls to fail; None: every one
    after: bool
    when: Callable[[dict[str, Any]], bool] | None
    seen: int = 0
    injected: int = 0

    def matches(self, service: str, operation: str, params: dict[str, Any]) -> bool:
        return (
            service == self.service and operation == self.operation and (self.when is None or bool(self.when(params)))
        )

    def error(self) -> ClientError:
        status = STATUS.get(self.code, 500)
        return ClientError(
            {
                "Error": {"Code": self.code, "Message": f"injected {self.code}"},
                "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": 0},
            },
            self.operation,
        )


@dataclass
class FaultInjector:
    rules: list[Rule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(
        self,
        service: str,
        operation: str,
        code: str = "ProvisionedThroughputExceededException",
        *,
        calls: Iterable[int] | None = (1,),
        after: bool = False,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> Rule:
        """Fail the ``calls``-th matching calls (1-based; ``None``: all of them) with ``code``."""
        rule = Rule(service, operation, code, None if calls is None else frozenset(calls), after, when)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def _decide(self, service: str, operation: str, params: dict[str, Any]) -> Rule | None:
        with self._lock:
            chosen: Rule | None = None
            for rule in self.rules:
                if not rule.matches(service, operation, params):
                    continue
                rule.seen += 1
                if chosen is None and (rule.calls is None or rule.seen in rule.calls):
                    rule.injected += 1
                    chosen = rule
            return chosen

    @contextmanager
    def install(self) -> Iterator[FaultInjector]:
        original = botocore.client.BaseClient._make_api_call

        def make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            rule = self._decide(service, operation_name, api_params)
            if rule is not None and not rule.after:
                raise rule.error()
            result = original(client, operation_name, api_params)
            if rule is not None:
                raise rule.error()
            return result

        botocore.client.BaseClient._make_api_call = make_api_call
        try:
            yield self
        finally:
            botocore.client.BaseClient._make_api_call = original


def table(name: str) -> Callable[[dict[str, Any]], bool]:
    """Match calls on one table (``TableName``, or any item of a transaction / batch on it)."""

    def matches(params: dict[str, Any]) -> bool:
        if params.get("TableName") == name:
            return True
        for item in params.get("TransactItems") or []:
            if any(part.get("TableName") == name for part in item.values()):
                return True
        return name in (params.get("RequestItems") or {})

    return matches
