"""``execute-api:ManageConnections`` on one WebSocket stage, for a function in any stack.

The grant names ``<api>/<stage>/*/@connections/*``: connection ids exist only at run time, so the
resource must end in a wildcard, which cdk-nag's IAM5 reports. The finding's id embeds the API
id as it resolves in the function's stack (a ``Ref`` here, an ``Fn::ImportValue`` name elsewhere),
so the acknowledgment is computed at validation time, and only for this one statement: any other
wildcard in the same policy still fails the synth unless its owner explains it.
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_iam as iam
from constructs import IValidation

ACTION = "execute-api:ManageConnections"
REASON = "Connection ids are assigned at run time; the grant is confined to one stage of one WebSocket API."


def _render(value: Any) -> str:
    """A resource expression the way cdk-nag prints it in finding ids."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(_render(part) for part in parts)
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
class _AcknowledgeConnectionsWildcard:
    def __init__(self, role: iam.Role) -> None:
        self._role = role

    def validate(self) -> list[str]:
        policy = self._role.node.try_find_child("DefaultPolicy")
        if not isinstance(policy, iam.Policy):
            return []
        document = Stack.of(self._role).resolve(policy.document.to_json())
        findings = {
            f"AwsSolutions-IAM5[Resource::{_render(resource)}]"
            for statement in document.get("Statement", [])
            if ACTION in _as_list(statement.get("Action", []))
            for resource in _as_list(statement.get("Resource", []))
        }
        if findings:
            Validations.of(policy).acknowledge(*(Acknowledgment(id=f, reason=REASON) for f in sorted(findings)))
        return []


def grant_manage_connections(stage: apigw.WebSocketStage, role: iam.Role) -> None:
    """Let ``role`` post to, inspect and close the connections of ``stage`` (and nothing else)."""
    stage.grant_management_api_access(role)
    role.node.add_validation(_AcknowledgeConnectionsWildcard(role))
