"""Acknowledging the wildcards that CDK's own ``grant_*`` methods write, with one stated reason.

``grant_read_write_data`` allows ``<table>/index/*`` (every index of that one table) and the bucket
grants use action wildcards such as ``s3:GetObject*``; cdk-nag's IAM5 reports each one as its own
finding whose id embeds the resolved resource (a cross-stack ``Fn::ImportValue`` name that only
exists once CDK has prepared the app). So the acknowledgment is computed at validation time,
after references are resolved, from the role's actual policy: only the wildcards present in
that policy are acknowledged, each with the caller's reason.
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import IValidation


def _render(value: Any) -> str:
    """A resource expression the way cdk-nag prints it in finding ids."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(_render(p) for p in parts)
        if "Fn::ImportValue" in value:
            return _render(value["Fn::ImportValue"])
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return f"<{logical_id}.{attribute}>"
        if "Ref" in value:
            return f"<{value['Ref']}>"
    return str(value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@jsii.implements(IValidation)
class _AcknowledgeGrantWildcards:
    def __init__(self, role: iam.Role, reason: str, action: str | None) -> None:
        self._role = role
        self._reason = reason
        self._action = action

    def validate(self) -> list[str]:
        policy = self._role.node.try_find_child("DefaultPolicy")
        if not isinstance(policy, iam.Policy):
            return []
        document = Stack.of(self._role).resolve(policy.document.to_json())
        findings: set[str] = set()
        for statement in document.get("Statement", []):
            if self._action is not None and self._action not in _as_list(statement.get("Action", [])):
                continue
            for action in _as_list(statement.get("Action", [])):
                if "*" in str(action):
                    findings.add(f"AwsSolutions-IAM5[Action::{action}]")
            for resource in _as_list(statement.get("Resource", [])):
                rendered = _render(resource)
                if "*" in rendered:
                    findings.add(f"AwsSolutions-IAM5[Resource::{rendered}]")
        if findings:
            Validations.of(policy).acknowledge(
                *(Acknowledgment(id=finding, reason=self._reason) for finding in sorted(findings))
            )
        return []


def acknowledge_grant_wildcards(role: iam.Role, reason: str, *, action: str | None = None) -> None:
    """Acknowledge the IAM5 wildcards in ``role``'s grants (evaluated once references resolve).

    With ``action``, only the statements granting that action are considered, so any other
    wildcard in the same policy still fails the synth unless its owner explains it.
    """
    role.node.add_validation(_AcknowledgeGrantWildcards(role, reason, action))
