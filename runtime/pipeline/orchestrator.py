"""Start one state-machine execution per uploaded image, exactly once per object version.

The execution name is derived from the object (image id + a digest of key and sequencer), so
a duplicate S3 event or an SQS redelivery asks Step Functions for a name it already has, and
``ExecutionAlreadyExists`` is the success it means: nothing new starts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

import boto3
from botocore.exceptions import ClientError

from runtime.common.dynamo import THROTTLING_CODES, error_code
from runtime.common.errors import ThrottledError
from runtime.common.s3_events import CreatedObject
from runtime.uploads.logic import parse_image_key

MAX_EXECUTION_NAME = 80


def execution_name(image_id: str, obj: CreatedObject) -> str:
    """A name Step Functions accepts ([A-Za-z0-9-_], <= 80) that is stable for one object version."""
    version = obj.sequencer or obj.etag or str(obj.size)
    digest = hashlib.sha256(f"{obj.bucket}/{obj.key}#{version}".encode()).hexdigest()
    return f"{image_id}-{digest}"[:MAX_EXECUTION_NAME]


class ExecutionStarter(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> bool: ...


class StepFunctionsStarter:
    """``StartExecution`` with the duplicate-name case turned into a plain ``False``."""

    def __init__(self, state_machine_arn: str, client: Any | None = None) -> None:
        self._arn = state_machine_arn
        self._client = client or boto3.client("stepfunctions")

    def start(self, name: str, payload: dict[str, Any]) -> bool:
        try:
            self._client.start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(payload))
        except ClientError as error:
            code = error_code(error)
            if code == "ExecutionAlreadyExists":
                return False
            if code in THROTTLING_CODES:
                raise ThrottledError("Step Functions throttled the start") from error
            raise
        return True


@dataclass
class Orchestrator:
    starter: ExecutionStarter

    def handle(self, objects: list[CreatedObject]) -> list[str]:
        """Start executions for the image uploads among ``objects``; return the names started."""
        started: list[str] = []
        for obj in objects:
            ref = parse_image_key(obj.key)
            if ref is None:
                continue
            owner_id, image_id = ref
            name = execution_name(image_id, obj)
            payload = {
                "bucket": obj.bucket,
                "key": obj.key,
                "size": obj.size,
                "owner_id": owner_id,
                "image_id": image_id,
            }
            if self.starter.start(name, payload):
                started.append(name)
        return started
