"""`make dev` reuses the synthesized stage only while what the templates depend on is unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from local import runtime


def test_the_key_changes_with_the_stage_and_with_a_stack_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "stacks").mkdir()
    stack = tmp_path / "stacks" / "data_stack.py"
    stack.write_text("TABLES = 1\n")
    (tmp_path / "cdk.json").write_text("{}")
    monkeypatch.setattr(runtime, "REPO_ROOT", tmp_path)
    first = runtime.synth_key("local")
    assert runtime.synth_key("local") == first
    assert runtime.synth_key("dev") != first
    stack.write_text("TABLES = 2\n")
    assert runtime.synth_key("local") != first


def test_function_code_is_not_part_of_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "runtime" / "health").mkdir(parents=True)
    handler = tmp_path / "runtime" / "health" / "handler.py"
    handler.write_text("A = 1\n")
    monkeypatch.setattr(runtime, "REPO_ROOT", tmp_path)
    first = runtime.synth_key("local")
    handler.write_text("A = 2\n")
    assert runtime.synth_key("local") == first
