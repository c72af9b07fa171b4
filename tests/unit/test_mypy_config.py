"""mypy reads only the aws_cdk modules the code imports (pyproject.toml): a module imported
but not listed would be skipped, its classes typed Any, and its mistakes unchecked. This keeps
the list in step with the imports."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _config() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as source:
        config: dict[str, Any] = tomllib.load(source)["tool"]["mypy"]
    return config


def followed_cdk_modules(config: dict[str, Any]) -> set[str]:
    return {
        module
        for override in config.get("overrides", [])
        if override.get("follow_imports") == "normal"
        for module in override["module"]
        if module == "aws_cdk" or module.startswith("aws_cdk.")
    }


def imported_cdk_modules(source: str) -> set[str]:
    """``aws_cdk`` modules a file imports: ``import aws_cdk.x``, ``from aws_cdk.x import y`` and
    ``from aws_cdk import aws_x`` (a submodule, as opposed to a class such as ``Stack``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "aws_cdk"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "aws_cdk":
            found.add(node.module)
            if node.module == "aws_cdk":
                found |= {f"aws_cdk.{alias.name}" for alias in node.names if alias.name[:1].islower()}
    return found


def _checked_files(config: dict[str, Any]) -> list[Path]:
    files: list[Path] = []
    for entry in config["files"]:
        path = ROOT / entry
        files.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return files


def test_every_imported_cdk_module_is_type_checked() -> None:
    config = _config()
    imported = set().union(*(imported_cdk_modules(path.read_text()) for path in _checked_files(config)))
    assert {"aws_cdk", "aws_cdk.aws_lambda"} <= imported  # the scan sees the stacks
    assert imported - followed_cdk_modules(config) == set()


def test_the_rest_of_aws_cdk_is_skipped() -> None:
    overrides = _config()["overrides"]
    assert any(o["module"] == ["aws_cdk.*"] and o.get("follow_imports") == "skip" for o in overrides)


def test_the_scan_tells_submodules_from_classes() -> None:
    source = "\n".join(
        [
            "from aws_cdk import Stack, aws_sqs as sqs",
            "import aws_cdk.aws_s3",
            "from aws_cdk.assertions import Template",
        ]
    )
    assert imported_cdk_modules(source) == {"aws_cdk", "aws_cdk.aws_sqs", "aws_cdk.aws_s3", "aws_cdk.assertions"}
