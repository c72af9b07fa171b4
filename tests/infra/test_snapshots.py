"""Every synthesized template is pinned by a snapshot: infrastructure changes show up in review.

Asset hashes change with any edit to runtime/, so they are masked; everything else must match.
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


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _mask(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item) for item in value]
    if isinstance(value, str):
        return _ASSET_HASH.sub("<asset-hash>", value)
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
