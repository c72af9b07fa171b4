"""Posting frames to sockets through API Gateway's ``@connections`` API, many at a time.

One management client and one thread pool per container. Each post is independent: a socket
that is gone answers 410 at once and is reported as ``gone`` (the caller deletes it), a
throttled post backs off with jitter and tries again a bounded number of times within a
deadline, and nothing one socket does can hold up the others beyond its own slot in the pool.
Outcomes are classified by error code and HTTP status, never by message text.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from functools import cache
from typing import Any

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from runtime.common.dynamo import error_code
from runtime.common.observability import logger
from runtime.realtime.clients import FANOUT_CONCURRENCY
from runtime.realtime.ports import FanoutResult, PostOutcome

GONE_CODES = frozenset({"GoneException"})
RETRYABLE_CODES = frozenset(
    {
        "LimitExceededException",
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)


def _retryable(error: Exception) -> bool:
    if isinstance(error, ConnectionError | HTTPClientError):
        return True
    if isinstance(error, ClientError):
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return error_code(error) in RETRYABLE_CODES or status == 429 or status >= 500
    return False


@cache
def shared_executor() -> ThreadPoolExecutor:
    """The container's pool for fan-out; threads are reused across invocations."""
    return ThreadPoolExecutor(max_workers=FANOUT_CONCURRENCY, thread_name_prefix="fanout")


class ConnectionGateway:
    """``post_to_connection`` with outcome classification, bounded backoff and parallel fan-out."""

    def __init__(
        self,
        client: Any,
        *,
        executor: Executor | None = None,
        max_attempts: int = 4,
        base_delay: float = 0.05,
        max_delay: float = 0.8,
        deadline_seconds: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._executor = executor
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._deadline_seconds = deadline_seconds
        self._sleep = sleep
        self._clock = clock

    def post(self, connection_id: str, data: bytes, *, deadline: float | None = None) -> PostOutcome:
        deadline = deadline if deadline is not None else self._clock() + self._deadline_seconds
        for attempt in range(self._max_attempts):
            try:
                self._client.post_to_connection(ConnectionId=connection_id, Data=data)
                return PostOutcome.DELIVERED
            except Exception as error:  # classified below; an unknown failure must not stop the fan-out
                if isinstance(error, ClientError) and error_code(error) in GONE_CODES:
                    return PostOutcome.GONE
                if not _retryable(error):
                    logger.warning(
                        "post to connection refused",
                        extra={"connection_id": connection_id, "error_code": _code(error)},
                    )
                    return PostOutcome.REJECTED
                # Full jitter keeps a throttled burst from retrying in lockstep.
                delay = random.uniform(0, min(self._max_delay, self._base_delay * 2**attempt))  # noqa: S311
                if attempt + 1 == self._max_attempts or self._clock() + delay > deadline:
                    logger.warning(
                        "post to connection failed after retries",
                        extra={"connection_id": connection_id, "error_code": _code(error), "attempts": attempt + 1},
                    )
                    return PostOutcome.FAILED
                self._sleep(delay)
        return PostOutcome.FAILED  # pragma: no cover - the loop always returns

    def fan_out(self, connection_ids: Iterable[str], data: bytes) -> FanoutResult:
        """Post ``data`` to every connection, in parallel (bounded by the pool), and sort the outcomes."""
        ids = list(dict.fromkeys(connection_ids))
        result = FanoutResult()
        if not ids:
            return result
        deadline = self._clock() + self._deadline_seconds
        if len(ids) == 1:
            result.add(ids[0], self.post(ids[0], data, deadline=deadline))
            return result
        executor = self._executor or shared_executor()
        outcomes = executor.map(lambda cid: self.post(cid, data, deadline=deadline), ids)
        for connection_id, outcome in zip(ids, outcomes, strict=True):
            result.add(connection_id, outcome)
        return result


def _code(error: Exception) -> str:
    return error_code(error) if isinstance(error, ClientError) else type(error).__name__
