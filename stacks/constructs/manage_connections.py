"""``execute-api:ManageConnections`` on one WebSocket stage, for a function in any stack.

The grant names ``<api>/<stage>/*/@connections/*``: connection ids exist only at run time, so the
resource must end in a wildcard, which cdk-nag's IAM5 reports. The finding's id embeds the API
id as it resolves in the function's stack (a ``Ref`` here, an ``Fn::ImportValue`` name elsewhere),
so the acknowledgment is computed at validation time (``stacks.nag``), and only for this one
statement: any other wildcard in the same policy still fails the synth unless its owner explains it.
"""

from __future__ import annotations

from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_iam as iam

from stacks.nag import acknowledge_grant_wildcards

ACTION = "execute-api:ManageConnections"
REASON = "Connection ids are assigned at run time; the grant is confined to one stage of one WebSocket API."


def grant_manage_connections(stage: apigw.WebSocketStage, role: iam.Role) -> None:
    """Let ``role`` post to, inspect and close the connections of ``stage`` (and nothing else)."""
    stage.grant_management_api_access(role)
    acknowledge_grant_wildcards(role, REASON, action=ACTION)
