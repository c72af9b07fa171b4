"""S3 and DynamoDB faults inside the image state machine, run with the deployed definition's retries.

The state machine is read from the synthesized stack (states, Retry, Catch, ResultPath and
payloads), and each Task calls the Lambda handler its resource names, so a change to the
stack's retry policy changes what these tests see. Intervals are not waited for. Whatever the
fault, an execution ends with the image COMPLETED (variants in place) or FAILED (nothing in the
output bucket), never left PROCESSING.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from local.assembly import CloudAssembly
from runtime.common.names import Env
from tests.runtime.pipeline.test_steps import IMAGES, OWNER, UPLOADS, Pipeline, pipeline  # noqa: F401 - fixture
from tests.support import images
from tests.support.events import lambda_context
from tests.support.faults import FaultInjector, table


def _ref(part: dict[str, Any]) -> str:
    if "Fn::GetAtt" in part:
        return str(part["Fn::GetAtt"][0])
    return str(part.get("Ref", "?"))


class StateMachine:
    """The image state machine of the synthesized stacks, executed in process."""

    def __init__(self, assembly: CloudAssembly) -> None:
        ((_, _, machine),) = assembly.resources("AWS::StepFunctions::StateMachine")
        parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
        self.definition = json.loads("".join(p if isinstance(p, str) else _ref(p) for p in parts))
        self.handlers = {
            logical_id: resource["Properties"]["Handler"]
            for _, logical_id, resource in assembly.resources("AWS::Lambda::Function")
            if "Handler" in resource["Properties"]
        }
        self.visited: list[str] = []
        self.attempts: dict[str, int] = {}

    def function(self, resource: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        module, _, name = self.handlers[resource].rpartition(".")
        handler: Callable[[dict[str, Any], Any], dict[str, Any]] = getattr(importlib.import_module(module), name)
        return handler

    def execute(self, job: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """(SUCCEEDED | FAILED, final state)."""
        state: dict[str, Any] = dict(job)
        name = self.definition["StartAt"]
        while True:
            self.visited.append(name)
            spec = self.definition["States"][name]
            if spec["Type"] == "Succeed":
                return "SUCCEEDED", state
            if spec["Type"] == "Fail":
                return "FAILED", state
            payload = _resolve(spec.get("Parameters", "$"), state)
            retries: dict[int, int] = {}
            while True:
                self.attempts[name] = self.attempts.get(name, 0) + 1
                try:
                    result = self.function(spec["Resource"])(payload, lambda_context())
                except Exception as error:
                    kind = type(error).__name__
                    retrier = _matching(spec.get("Retry", []), kind)
                    if retrier is not None and retries.get(retrier, 0) < spec["Retry"][retrier]["MaxAttempts"]:
                        retries[retrier] = retries.get(retrier, 0) + 1
                        continue
                    catcher = _matching(spec.get("Catch", []), kind)
                    if catcher is None:
                        return "FAILED", state  # an uncaught error fails the execution where it is
                    caught = spec["Catch"][catcher]
                    cause = {"errorMessage": str(error), "errorType": kind}
                    _assign(state, caught["ResultPath"], {"Error": kind, "Cause": json.dumps(cause)})
                    name = caught["Next"]
                    break
                _assign(state, spec.get("ResultPath", "$"), result)
                if spec.get("End"):
                    return "SUCCEEDED", state
                name = spec["Next"]
                break


def _matching(rules: list[dict[str, Any]], kind: str) -> int | None:
    for index, rule in enumerate(rules):
        if kind in rule["ErrorEquals"] or "States.ALL" in rule["ErrorEquals"]:
            return index
    return None


def _path(state: dict[str, Any], path: str) -> Any:
    value: Any = state
    for part in [p for p in path.removeprefix("$").split(".") if p]:
        value = value[part]
    return value


def _resolve(template: Any, state: dict[str, Any]) -> Any:
    if isinstance(template, str):
        return _path(state, template)
    resolved: dict[str, Any] = {}
    for key, value in template.items():
        if key.endswith(".$"):
            resolved[key[:-2]] = _path(state, value)
        elif isinstance(value, dict):
            resolved[key] = _resolve_object(value, state)
        else:
            resolved[key] = value
    return resolved


def _resolve_object(template: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    result = _resolve(template, state)
    assert isinstance(result, dict)
    return result


def _assign(state: dict[str, Any], path: str | None, value: Any) -> None:
    if path is None or path == "$":
        return  # the stack always names a result path; "$" would replace the state
    parts = path.removeprefix("$.").split(".")
    target = state
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


@pytest.fixture
def machine(local_assembly: CloudAssembly) -> StateMachine:
    return StateMachine(local_assembly)


@pytest.fixture
def owner_socket(pipeline: Pipeline, tables: dict[str, Any]) -> str:  # noqa: F811 - the fixture imported above
    from runtime.realtime.connections import ConnectionRegistry
    from runtime.realtime.models import Connection

    registry = ConnectionRegistry(pipeline.dynamodb, tables[Env.CONNECTIONS_TABLE].physical_name)
    registry.add(Connection(connection_id="owner=", connected_at_ms=1, expires_at=2**31, user_id=OWNER, tenant_id="t"))
    return "owner="


def images_table(pipeline: Pipeline) -> Callable[[dict[str, Any]], bool]:  # noqa: F811
    return table(pipeline.images_table)


def assert_completed(pipeline: Pipeline, job: dict[str, Any]) -> None:  # noqa: F811
    record = pipeline.record(job)
    assert record["status"] == "COMPLETED", record
    assert len(record["variants"]) == 3
    assert pipeline.outputs(job) == sorted(v["key"] for v in record["variants"])


def assert_failed_cleanly(pipeline: Pipeline, job: dict[str, Any]) -> None:  # noqa: F811
    record = pipeline.record(job)
    assert record["status"] == "FAILED", record
    assert record["error"] == "the image could not be processed"
    assert pipeline.outputs(job) == []


# --- S3 in the middle of Resize -----------------------------------------------------------------


def test_s3_error_mid_resize_is_retried_to_completion(
    pipeline: Pipeline,  # noqa: F811
    machine: StateMachine,
    faults: FaultInjector,
) -> None:
    job = pipeline.upload(images.jpeg(2400, 1800))
    # The second variant's upload fails once (after the first was written).
    rule = faults.fail("s3", "PutObject", "InternalError", calls=(2,), when=lambda p: p["Bucket"] == UPLOADS)

    outcome, _ = machine.execute(job)

    assert (outcome, rule.injected) == ("SUCCEEDED", 1)
    assert machine.attempts["ResizeImage"] == 2
    assert_completed(pipeline, job)
    assert pipeline.staged() == []


def test_s3_slowing_down_past_the_retries_fails_the_image_cleanly(
    pipeline: Pipeline,  # noqa: F811
    machine: StateMachine,
    faults: FaultInjector,
) -> None:
    job = pipeline.upload(images.jpeg(2400, 1800))
    rule = faults.fail("s3", "PutObject", "SlowDown", calls=None, when=lambda p: p["Bucket"] == UPLOADS)

    outcome, state = machine.execute(job)

    assert outcome == "FAILED"
    assert machine.attempts["ResizeImage"] == 4, "the first try and the definition's 3 retries"
    assert rule.injected == 4 * 3, "each attempt writes its three variants side by side"
    assert state["failure"]["recorded"] is True
    assert_failed_cleanly(pipeline, job)


def test_access_denied_reading_the_upload_in_resize_fails_the_image_cleanly(
    pipeline: Pipeline,  # noqa: F811
    machine: StateMachine,
    faults: FaultInjector,
) -> None:
    job = pipeline.upload(images.jpeg(1200, 900))
    faults.fail("s3", "GetObject", "AccessDenied", calls=(2,))  # Validate read it; Resize's read is refused

    outcome, _ = machine.execute(job)

    assert outcome == "FAILED"
    assert "MarkImageFailed" in machine.visited
    assert_failed_cleanly(pipeline, job)


def test_s3_error_while_watermarking_leaves_nothing_half_written(
    pipeline: Pipeline,  # noqa: F811
    machine: StateMachine,
    faults: FaultInjector,
) -> None:
    job = pipeline.upload(images.jpeg(2400, 1800))
    faults.fail("s3", "PutObject", "AccessDenied", calls=(2,), when=lambda p: p["Bucket"] == IMAGES)

    outcome, _ = machine.execute(job)

    assert outcome == "FAILED"
    assert_failed_cleanly(pipeline, job)


# --- DynamoDB in Record (and in MarkImageFailed) ---------------------------------------------


def test_record_throttled_is_retried_to_completion(
    pipeline: Pipeline,  # noqa: F811
    machine: StateMachine,
    faults: FaultInjector,
    owner_socket: str,
) -> None:
    job = pipeline.upload(images.jpeg(1600, 1200))
    # UpdateItem 1 is Validate's PROCESSING; 2 and 3 are Record's first two tries.
    faults.fail("dynamodb", "UpdateItem", calls=(2, 3), when=images_table(pipeline))

    outcome, _ = machine.execute(job)

    assert outcome == "SUCCEEDED"
    assert_completed(pipeline, job)
    assert [f["status"] for f in pipeline.sockets.received(owner_socket, "IMAGE_PROCESSED")] == ["COMPLETED"]


@pytest.mark.parametrize(
    ("service", "operation", "code", "after"),
    [
        ("dynamodb", "UpdateItem", "InternalServerError", True),  # COMPLETED written, the answer lost
        ("sns", "Publish", "Throttling", False),  # COMPLETED written, announcing it throttled
    ],
)
def test_record_failing_after_its_write_is_retried_without_losing_the_result(
    pipeline: Pipeline,  # noqa: F811
    machine: StateMachine,
    faults: FaultInjector,
    owner_socket: str,
    service: str,
    operation: str,
    code: str,
    after: bool,
) -> None:
    job = pipeline.upload(images.jpeg(1600, 1200))
    calls = (2,) if operation == "UpdateItem" else (1,)
    when = images_table(pipeline) if service == "dynamodb" else None
    faults.fail(service, operation, code, calls=calls, after=after, when=when)

    outcome, _ = machine.execute(job)

    assert outcome == "SUCCEEDED"
    assert "MarkImageFailed" not in machine.visited
    assert_completed(pipeline, job)
    # Told at least once (twice when the first try got as far as the socket).
    assert {f["status"] for f in pipeline.sockets.received(owner_socket, "IMAGE_PROCESSED")} == {"COMPLETED"}


def test_a_permanent_failure_after_record_never_deletes_a_completed_images_variants(
    pipeline: Pipeline,  # noqa: F811
    machine: StateMachine,
    faults: FaultInjector,
) -> None:
    job = pipeline.upload(images.jpeg(1600, 1200))
    faults.fail("sns", "Publish", "AuthorizationError", calls=None)  # COMPLETED is written first

    outcome, state = machine.execute(job)

    # The execution fails (its announcement could not go out: alarmed on), the image stays whole.
    assert outcome == "FAILED"
    assert state["failure"]["recorded"] is False
    assert_completed(pipeline, job)


def test_mark_failed_throttled_is_retried_so_the_image_is_not_left_processing(
    pipeline: Pipeline,  # noqa: F811
    machine: StateMachine,
    faults: FaultInjector,
) -> None:
    job = pipeline.upload(b"not an image at all" * 10, "png")
    # UpdateItem 1 is Validate's; MarkImageFailed's first two tries are throttled.
    faults.fail("dynamodb", "UpdateItem", calls=(2, 3), when=images_table(pipeline))

    outcome, state = machine.execute(job)

    assert outcome == "FAILED"
    assert state["failure"]["recorded"] is True
    record = pipeline.record(job)
    assert record["status"] == "FAILED"
    assert "not a JPEG, PNG or GIF" in record["error"]
    assert machine.attempts["MarkImageFailed"] == 3
