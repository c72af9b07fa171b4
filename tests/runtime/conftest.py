"""Handlers run against moto: AWS's APIs emulated in process, nothing leaves the machine."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws


@pytest.fixture
def aws() -> Iterator[None]:
    """Everything boto3 does inside the test goes to moto's in-process backends."""
    with mock_aws():
        yield


@pytest.fixture
def dynamodb(aws: None) -> object:
    return boto3.client("dynamodb", region_name="us-east-1")


@pytest.fixture
def s3(aws: None) -> object:
    return boto3.client("s3", region_name="us-east-1")
