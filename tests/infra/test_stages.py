"""Each stage gives its stacks named for it, wired by typed references."""

from __future__ import annotations

import pytest

from stacks.config import stage_config
from tests.infra.conftest import STACK_KEYS, Synthesized


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_stacks_named_for_the_stage(synthesized: dict[str, Synthesized], stage: str) -> None:
    synth = synthesized[stage]
    names = {stack.stack_name for stack in synth.deployment.stacks}
    assert names == {f"Messaging-{stage}-{key}" for key in STACK_KEYS}
    for key in STACK_KEYS:
        assert (synth.outdir / f"Messaging-{stage}-{key}.template.json").exists()


def test_api_publishes_its_url(dev: Synthesized) -> None:
    outputs = dev.template_json("api")["Outputs"]
    assert "HttpApiUrl" in outputs


def test_unknown_stage_is_refused_with_the_valid_names() -> None:
    with pytest.raises(ValueError, match="dev, local, prod"):
        stage_config("staging")
