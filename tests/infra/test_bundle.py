"""The real Lambda bundle builds without Docker and holds the Lambda platform's binaries.

This downloads wheels from the package registry on first run (cached under .cache/), so it is
marked slow; `make test` runs it, `make test-fast` does not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack

from stacks.app_builder import cdk_json_context
from stacks.config import stage_config
from stacks.constructs import lambda_bundle
from stacks.constructs.python_function import PythonFunction

pytestmark = pytest.mark.slow


def _synth_one_function(outdir: Path) -> Path:
    """Synthesize a stack with one function, bundling enabled, and return its staged asset."""
    app = App(context={**cdk_json_context(), "aws:cdk:bundling-stacks": ["**"]}, outdir=str(outdir))
    stack = Stack(app, "BundleProbe")
    PythonFunction(
        stack,
        "Probe",
        config=stage_config("dev"),
        handler="runtime.health.handler.lambda_handler",
        service="probe",
        description="bundle probe",
    )
    app.synth()
    assets = json.loads((outdir / "BundleProbe.assets.json").read_text())["files"]
    (asset,) = (a for a in assets.values() if a["source"].get("packaging") == "zip")
    return outdir / asset["source"]["path"]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _synth_one_function(tmp_path_factory.mktemp("bundle"))


def test_bundle_holds_the_runtime_package(bundle: Path) -> None:
    assert (bundle / "runtime" / "__init__.py").exists()
    assert (bundle / "runtime" / "health" / "handler.py").exists()
    assert not list(bundle.glob("runtime/**/__pycache__"))


def test_bundle_holds_lambda_platform_wheels(bundle: Path) -> None:
    # Pillow's and argon2's compiled parts must be built for CPython 3.14 on Linux arm64.
    pillow = list((bundle / "PIL").glob("_imaging.cpython-314-aarch64-linux-gnu.so"))
    assert pillow, "Pillow's C extension for the Lambda platform is missing"
    assert (bundle / "jwt" / "__init__.py").exists()
    assert (bundle / "aws_lambda_powertools").is_dir()
    assert list((bundle / "pydantic_core").glob("*cpython-314-aarch64-linux-gnu.so"))
    assert not (bundle / "boto3").exists(), "boto3 comes with the Lambda runtime"


def test_second_synth_reuses_the_wheel_cache(tmp_path: Path, bundle: Path) -> None:
    marker = lambda_bundle.dependency_cache_dir() / ".complete"
    before = marker.stat().st_mtime_ns
    second = _synth_one_function(tmp_path)
    assert marker.stat().st_mtime_ns == before
    assert (second / "PIL").is_dir()
