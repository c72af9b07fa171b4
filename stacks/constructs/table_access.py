"""DynamoDB access narrowed to the actions and indexes a function actually uses.

``TableV2.grant*`` always adds ``<table>/index/*``; a function that never queries an index, or
queries one, gets exactly that here, with no wildcard to explain.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam

READ = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem")
WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")


def grant_table(
    grantee: iam.IGrantable,
    table: dynamodb.ITableV2,
    actions: Sequence[str],
    *,
    query_indexes: Sequence[str] = (),
) -> None:
    """``actions`` on the table itself, and ``dynamodb:Query`` on each named index."""
    iam.Grant.add_to_principal(grantee=grantee, actions=list(actions), resource_arns=[table.table_arn])
    if query_indexes:
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:Query"],
            resource_arns=[f"{table.table_arn}/index/{index}" for index in query_indexes],
        )
