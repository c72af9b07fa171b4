"""Outcome classification and retries of ``ConnectionGateway``, against botocore's Stubber on a real client."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from runtime.realtime.gateway import ConnectionGateway
from runtime.realtime.ports import PostOutcome

DATA = b'{"action":"message"}'


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url="https://ws1234abcd.execute-api.us-east-1.amazonaws.com/dev",
        region_name="us-east-1",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )


@pytest.fixture
def stub(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _gateway(client: Any, clock: FakeClock, **kwargs: Any) -> ConnectionGateway:
    return ConnectionGateway(client, sleep=clock.sleep, clock=clock, **kwargs)


def _ok(stub: Stubber, connection_id: str) -> None:
    stub.add_response("post_to_connection", {}, {"ConnectionId": connection_id, "Data": DATA})


def test_delivered(client: Any, stub: Stubber) -> None:
    _ok(stub, "abc=")
    assert _gateway(client, FakeClock()).post("abc=", DATA) is PostOutcome.DELIVERED


def test_gone_is_reported_at_once_without_retrying(client: Any, stub: Stubber) -> None:
    clock = FakeClock()
    stub.add_client_error("post_to_connection", service_error_code="GoneException", http_status_code=410)

    assert _gateway(client, clock).post("abc=", DATA) is PostOutcome.GONE
    assert clock.sleeps == []


def test_throttling_backs_off_then_delivers(client: Any, stub: Stubber) -> None:
    clock = FakeClock()
    for _ in range(2):
        stub.add_client_error("post_to_connection", service_error_code="LimitExceededException", http_status_code=429)
    _ok(stub, "abc=")

    assert _gateway(client, clock, base_delay=0.1).post("abc=", DATA) is PostOutcome.DELIVERED
    assert len(clock.sleeps) == 2
    assert clock.sleeps[0] <= 0.1
    assert clock.sleeps[1] <= 0.2


def test_throttling_gives_up_after_the_bounded_attempts(client: Any, stub: Stubber) -> None:
    clock = FakeClock()
    for _ in range(3):
        stub.add_client_error("post_to_connection", service_error_code="LimitExceededException", http_status_code=429)

    assert _gateway(client, clock, max_attempts=3).post("abc=", DATA) is PostOutcome.FAILED
    assert len(clock.sleeps) == 2


def test_no_retry_past_the_deadline(client: Any, stub: Stubber, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the jitter draws its maximum and that backoff would end past the deadline
    monkeypatch.setattr("runtime.realtime.gateway.random.uniform", lambda low, high: high)
    clock = FakeClock()
    stub.add_client_error("post_to_connection", service_error_code="InternalServerError", http_status_code=500)
    gateway = _gateway(client, clock, base_delay=2.0, max_delay=2.0, deadline_seconds=1.0)

    # Then the post gives up at once instead of sleeping past it
    assert gateway.post("abc=", DATA) is PostOutcome.FAILED
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("code", "status"), [("PayloadTooLargeException", 413), ("ForbiddenException", 403), ("BadRequestException", 400)]
)
def test_permanent_refusals_are_not_retried(client: Any, stub: Stubber, code: str, status: int) -> None:
    clock = FakeClock()
    stub.add_client_error("post_to_connection", service_error_code=code, http_status_code=status)

    assert _gateway(client, clock).post("abc=", DATA) is PostOutcome.REJECTED
    assert clock.sleeps == []


class ScriptedClient:
    """Answers per connection id; used where posts run in parallel (Stubber expects one order)."""

    def __init__(self, behaviour: dict[str, Exception]) -> None:
        self.behaviour = behaviour
        self.posted: list[str] = []

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> dict[str, Any]:
        self.posted.append(ConnectionId)
        if ConnectionId in self.behaviour:
            raise self.behaviour[ConnectionId]
        return {}


def test_fan_out_sorts_every_outcome_and_one_bad_socket_stops_nothing() -> None:
    from botocore.exceptions import ClientError

    gone = ClientError({"Error": {"Code": "GoneException"}, "ResponseMetadata": {"HTTPStatusCode": 410}}, "Post")
    client = ScriptedClient({"c1": gone, "c3": EndpointConnectionError(endpoint_url="x"), "c4": ValueError("bug")})
    clock = FakeClock()
    with ThreadPoolExecutor(4) as pool:
        gateway = ConnectionGateway(client, executor=pool, sleep=clock.sleep, clock=clock, max_attempts=2)
        result = gateway.fan_out(["c0", "c1", "c2", "c3", "c4", "c5", "c0"], DATA)

    assert sorted(result.delivered) == ["c0", "c2", "c5"]
    assert result.gone == ["c1"]
    assert result.failed == ["c3"]  # unreachable: retried, then reported for a later retry
    assert result.rejected == ["c4"]
    assert client.posted.count("c0") == 1  # duplicates are posted once
    assert client.posted.count("c3") == 2
