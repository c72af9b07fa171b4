"""Read the synthesized cloud assembly: the one description of resources both worlds share.

The local runtime (and the handler tests) create their emulated resources from these
templates, so a table, index, route or queue added to a stack appears locally with no
change here.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]

_TABLE_TYPES = ("AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table")


def synthesize(stage: str, outdir: Path, *, nag: bool = False) -> Path:
    """Synthesize ``stage`` into ``outdir`` without bundling: local functions run from the tree."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from aws_cdk import App

    from stacks.app_builder import build_app, cdk_json_context

    app = App(context={**cdk_json_context(), "aws:cdk:bundling-stacks": []}, outdir=str(outdir))
    build_app(app, stage, nag=nag)
    app.synth()
    return outdir


@dataclass(frozen=True)
class TableSpec:
    """A DynamoDB table as a template declares it."""

    stack: str
    logical_id: str
    properties: dict[str, Any]

    @property
    def physical_name(self) -> str:
        """Like CloudFormation's generated names (stack, logical id), minus the random suffix."""
        return str(self.properties.get("TableName") or f"{self.stack}-{self.logical_id}")

    @property
    def stream_view_type(self) -> str | None:
        spec = self.properties.get("StreamSpecification") or {}
        return spec.get("StreamViewType")

    @property
    def ttl_attribute(self) -> str | None:
        spec = self.properties.get("TimeToLiveSpecification") or {}
        return spec.get("AttributeName") if spec.get("Enabled") else None

    def create_table_request(self) -> dict[str, Any]:
        """The CreateTable call that builds this table (keys, indexes, stream) on moto."""
        props = self.properties
        request: dict[str, Any] = {
            "TableName": self.physical_name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        gsis = [
            {
                "IndexName": g["IndexName"],
                "KeySchema": g["KeySchema"],
                "Projection": g.get("Projection") or {"ProjectionType": "ALL"},
            }
            for g in props.get("GlobalSecondaryIndexes", [])
        ]
        if gsis:
            request["GlobalSecondaryIndexes"] = gsis
        lsis = [
            {
                "IndexName": i["IndexName"],
                "KeySchema": i["KeySchema"],
                "Projection": i.get("Projection") or {"ProjectionType": "ALL"},
            }
            for i in props.get("LocalSecondaryIndexes", [])
        ]
        if lsis:
            request["LocalSecondaryIndexes"] = lsis
        if self.stream_view_type:
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": self.stream_view_type}
        return request


@dataclass
class CloudAssembly:
    """The templates of one synthesized stage, by stack name."""

    outdir: Path
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, outdir: Path) -> CloudAssembly:
        manifest = json.loads((outdir / "manifest.json").read_text())
        templates: dict[str, dict[str, Any]] = {}
        for name, artifact in manifest.get("artifacts", {}).items():
            if artifact.get("type") == "aws:cloudformation:stack":
                template_file = artifact["properties"]["templateFile"]
                templates[name] = json.loads((outdir / template_file).read_text())
        return cls(outdir=outdir, templates=templates)

    def resources(self, *types: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(stack, logical id, resource) for every resource of the given types."""
        return [
            (stack, logical_id, resource)
            for stack, template in sorted(self.templates.items())
            for logical_id, resource in template.get("Resources", {}).items()
            if resource.get("Type") in types
        ]

    def tables(self) -> list[TableSpec]:
        return [
            TableSpec(stack=stack, logical_id=logical_id, properties=resource.get("Properties", {}))
            for stack, logical_id, resource in self.resources(*_TABLE_TYPES)
        ]


def create_tables(client: Any, assembly: CloudAssembly) -> dict[str, TableSpec]:
    """Create every table of the assembly (with TTL) and return them by logical id."""
    created: dict[str, TableSpec] = {}
    for spec in assembly.tables():
        client.create_table(**spec.create_table_request())
        if spec.ttl_attribute:
            client.update_time_to_live(
                TableName=spec.physical_name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
            )
        created[spec.logical_id] = spec
    return created
