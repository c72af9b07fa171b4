"""`make dev` / `python -m local`: synthesize the local stage and describe what it serves.

The full runtime (HTTP and WebSocket gateways, emulated AWS services, function workers) grows
here; this entry point already reads everything from the cloud assembly, never from a list of
its own.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from local.assembly import REPO_ROOT, synthesize

STATE_DIR = REPO_ROOT / ".local"


def describe(outdir: Path) -> list[str]:
    """One line per resource that the runtime serves, read from the templates."""
    lines: list[str] = []
    for template_path in sorted(outdir.glob("*.template.json")):
        template: dict[str, Any] = json.loads(template_path.read_text())
        stack = template_path.name.removesuffix(".template.json")
        for logical_id, resource in template.get("Resources", {}).items():
            kind = resource["Type"]
            props = resource.get("Properties", {})
            if kind == "AWS::ApiGatewayV2::Route":
                lines.append(f"{stack}: route {props.get('RouteKey')}")
            elif kind == "AWS::Lambda::Function" and "Handler" in props:
                lines.append(f"{stack}: function {logical_id} -> {props['Handler']}")
            elif kind in ("AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SQS::Queue"):
                lines.append(f"{stack}: {kind.split('::')[-1]} {logical_id}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    parser.parse_args(argv)
    outdir = synthesize("local", STATE_DIR / "cdk.out")
    for line in describe(outdir):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
