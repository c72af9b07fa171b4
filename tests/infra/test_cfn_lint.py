"""cfn-lint finds no errors in any synthesized template (warnings are reported, not fatal)."""

from __future__ import annotations

import pytest
from cfnlint.api import ManualArgs, lint_file

from tests.infra.conftest import STACK_KEYS, STAGES, Synthesized


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("key", STACK_KEYS)
def test_template_has_no_cfn_lint_errors(synthesized: dict[str, Synthesized], stage: str, key: str) -> None:
    path = synthesized[stage].outdir / f"Messaging-{stage}-{key}.template.json"
    matches = lint_file(path, config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    errors = [str(match) for match in matches if match.rule.id.startswith("E")]
    assert errors == []
