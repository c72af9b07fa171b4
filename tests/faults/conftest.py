"""Fault injection against the handlers on moto: AWS failing the way it fails, mid-operation.

The handler fixtures are the runtime tests' own (tables from the synthesized stacks, real
tokens, a recording ``@connections`` client); ``faults`` wraps every boto3 call so that chosen
calls fail (``tests.support.faults``). Each test then checks the invariants that matter after
a fault: no message lost or stored twice, no image or session left ``PROCESSING``, and every
failure either retried to completion or reported so that SQS / Streams / Step Functions retry
it (and, per the stacks, park it in a DLQ).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.runtime.chat.conftest import _fresh_services, api  # noqa: F401 - fixtures
from tests.runtime.conftest import aws, dynamodb, s3, signing_key, tables, token_factory  # noqa: F401 - fixtures
from tests.runtime.realtime.conftest import _fresh_metrics, sockets, world  # noqa: F401 - fixtures
from tests.support.faults import FaultInjector


@pytest.fixture
def faults(aws: None) -> Iterator[FaultInjector]:  # noqa: F811 - the fixture imported above
    with FaultInjector().install() as injector:
        yield injector
