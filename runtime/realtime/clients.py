"""boto3 clients, one of each per container, created on first use (never per request).

The management API client's connection pool is sized to the fan-out's concurrency, and its
own retries are off: the gateway retries throttling itself with jittered backoff, and must
never retry a ``GoneException``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Parallel posts per fan-out; past ~32 the client's own CPU per call is the ceiling (FACTS).
FANOUT_CONCURRENCY = 32


@cache
def dynamodb() -> Any:
    return boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 4}))


@cache
def management_api(endpoint_url: str) -> Any:
    """A client of this stage's ``@connections`` endpoint (``https://{api}.execute-api.../{stage}``)."""
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=endpoint_url,
        config=Config(
            max_pool_connections=FANOUT_CONCURRENCY,
            retries={"mode": "standard", "max_attempts": 1},
            connect_timeout=2,
            read_timeout=4,
            tcp_keepalive=True,
        ),
    )


def reset() -> None:
    """Forget cached clients (tests start a fresh emulation per case)."""
    dynamodb.cache_clear()
    management_api.cache_clear()
