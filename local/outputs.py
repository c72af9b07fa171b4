"""``.local/outputs.json`` in the shape of ``cdk deploy --outputs-file``, with loopback URLs.

The keys are the templates' own ``Outputs`` (``{"<StackName>": {"HttpApiUrl": ...}}``), their
values resolved against the local world, so a client reads one file in both worlds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local.assembly import CloudAssembly
from local.cfn import Resolver, UnresolvableError


def stack_outputs(
    assembly: CloudAssembly, resolver: Resolver, warn: Callable[[str], None]
) -> dict[str, dict[str, str]]:
    """Every stack's outputs (a stack without outputs is left out, as the CDK CLI does)."""
    result: dict[str, dict[str, str]] = {}
    for stack, template in sorted(assembly.templates.items()):
        values: dict[str, str] = {}
        for key, output in template.get("Outputs", {}).items():
            condition = output.get("Condition")
            if condition and not resolver.condition(stack, condition):
                continue
            try:
                values[key] = resolver.resolve_str(output["Value"], stack)
            except UnresolvableError as error:
                warn(f"output {stack}.{key}: {error}")
        if values:
            result[stack] = values
    return result


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` so that a reader never sees half a file (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(data, indent=2) + "\n")
    partial.replace(path)
