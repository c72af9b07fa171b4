"""Every synthesized template is pinned by a snapshot: infrastructure changes show up in review.

Asset hashes change with any edit to runtime/, so they are masked, and so is the code hash CDK
puts in the logical id of a function's ``currentVersion`` (prod's provisioned-concurrency alias);
everything else must match.
Update deliberately with `pytest tests/infra --snapshot-update`.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.infra.conftest import STACK_KEYS, STAGES, Synthesized

_ASSET_HASH = re.compile(r"[0-9a-f]{64}")
_VERSION_HASH = re.compile(r"(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}")


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {_mask(key): _mask(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item) for item in value]
    if isinstance(value, str):
        return _VERSION_HASH.sub(r"\1<code-hash>", _ASSET_HASH.sub("<asset-hash>", value))
    return value


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("key", STACK_KEYS)
def test_template_matches_snapshot(
    synthesized: dict[str, Synthesized], snapshot_json: SnapshotAssertion, stage: str, key: str
) -> None:
    assert _mask(synthesized[stage].template_json(key)) == snapshot_json


def test_masking_hides_only_asset_hashes() -> None:
    digest = "a" * 64
    assert _mask({"S3Key": f"{digest}.zip", "Name": "keep"}) == {"S3Key": "<asset-hash>.zip", "Name": "keep"}


def test_masking_hides_the_code_hash_of_a_function_version() -> None:
    logical_id = "AuthFunctionCurrentVersion07F1B8DA" + "9f37cd44515b8f2378494e7fd68ce53e"
    masked = {"AuthFunctionCurrentVersion07F1B8DA<code-hash>": {"Ref": "AuthFunctionCurrentVersion07F1B8DA<code-hash>"}}
    assert _mask({logical_id: {"Ref": logical_id}}) == masked
