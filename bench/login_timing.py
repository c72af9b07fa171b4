"""Login timing: does "unknown email" cost what "wrong password" costs?

A login for an email without an account verifies the password against a dummy argon2id hash,
so an attacker timing the 401s cannot tell registered emails from others. This measures the
three outcomes through the real logic and repository (DynamoDB emulated by moto, in process)
with argon2id at the deployed parameters (OWASP: m=19 MiB, t=2, p=1).

Ends with `login timing ratio (unknown email / wrong password): <ratio>x` (target 0.8..1.25).
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

for _name, _value in {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}.items():
    os.environ.setdefault(_name, _value)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from runtime.auth.logic import AuthService, CodeHasher  # noqa: E402
from runtime.auth.passwords import OWASP, PasswordHasher  # noqa: E402
from runtime.auth.repository import UserRepository  # noqa: E402
from runtime.common.errors import UnauthorizedError  # noqa: E402
from runtime.common.tokens import KeyRing, TokenService  # noqa: E402

RUNS = int(os.environ.get("LOGIN_TIMING_RUNS", "30"))
PASSWORD = "correct horse battery staple"
WRONG = "not the password"
TABLE = "bench-users"


class _NoMail:
    def send(self, *, to: str, subject: str, text: str) -> None:
        return None


def _service(client: Any) -> AuthService:
    return AuthService(
        store=UserRepository(client, TABLE),
        passwords=PasswordHasher(OWASP),
        tokens=TokenService(KeyRing.from_secret("b" * 64), issuer="bench", audience="bench", ttl_seconds=900),
        mailer=_NoMail(),
        codes=CodeHasher.from_secrets([b"c" * 64]),
    )


def _time(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    with contextlib.suppress(UnauthorizedError):
        action()
    return time.perf_counter() - start


def main() -> None:
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        service = _service(client)
        service.register(email="bench@example.com", password=PASSWORD, full_name="Bench", tenant_id=None)
        cases = {
            "success": lambda: service.login(email="bench@example.com", password=PASSWORD),
            "wrong password": lambda: service.login(email="bench@example.com", password=WRONG),
            "unknown email": lambda: service.login(email="nobody@example.com", password=WRONG),
        }
        for action in cases.values():  # warm up (the dummy hash is made on first use)
            _time(action)
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(RUNS):
            for name, action in cases.items():  # interleaved, so load drifts hit all alike
                samples[name].append(_time(action))

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"argon2id m={OWASP.memory_kib} KiB t={OWASP.time_cost} p={OWASP.parallelism}, {RUNS} runs each")
    for name, values in samples.items():
        print(
            f"  {name:15s} median {statistics.median(values) * 1000:6.1f} ms"
            f"  p10 {statistics.quantiles(values, n=10)[0] * 1000:6.1f}"
            f"  p90 {statistics.quantiles(values, n=10)[-1] * 1000:6.1f}"
        )
    ratio = statistics.median(samples["unknown email"]) / statistics.median(samples["wrong password"])
    print(f"login timing ratio (unknown email / wrong password): {ratio:.2f}x")
    if not 0.8 <= ratio <= 1.25:
        sys.exit("unknown-email logins are distinguishable by time")


if __name__ == "__main__":
    main()
