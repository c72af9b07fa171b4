"""The local runtime's TransactWriteItems (``local.moto_host.install_dynamodb_seams``) keeps DynamoDB's rules.

moto's own implementation copies every table a transaction touches; the seam checks every
condition first instead. What a client sees must not change: all writes or none, the
cancellation reasons in order, the old item on request, and stream records only for writes
that happened.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

from local.moto_host import install_dynamodb_seams


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for cls, name in [
        (DynamoDBBackend, "transact_write_items"),
        (DynamoDBBackend, "update_item"),
        (Table, "all_items"),
        (Table, "query"),
        (Table, "put_item"),
        (Table, "delete_item"),
    ]:
        monkeypatch.setattr(cls, name, getattr(cls, name))  # moto's own again after the test
    install_dynamodb_seams()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        yield client


def put(pk: str, value: str, *, new: bool = True) -> dict[str, Any]:
    item: dict[str, Any] = {"TableName": "t", "Item": {"pk": {"S": pk}, "sk": {"S": "x"}, "v": {"S": value}}}
    if new:
        item["ConditionExpression"] = "attribute_not_exists(pk)"
    return {"Put": item}


def items(client: Any) -> dict[str, str]:
    return {i["pk"]["S"]: i["v"]["S"] for i in client.scan(TableName="t")["Items"]}


def stream_count(client: Any) -> int:
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    arn = client.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return len(streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"])


def test_all_writes_apply_together(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=[put("a", "1")])
    update = {
        "Update": {
            "TableName": "t",
            "Key": {"pk": {"S": "a"}, "sk": {"S": "x"}},
            "UpdateExpression": "SET v = :v",
            "ExpressionAttributeValues": {":v": {"S": "3"}},
        }
    }
    dynamodb.transact_write_items(TransactItems=[put("b", "2"), update])
    assert items(dynamodb) == {"a": "3", "b": "2"}
    assert stream_count(dynamodb) == 3


def test_a_false_condition_cancels_every_write_and_says_which(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=[put("a", "1")])
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(
            TransactItems=[
                put("b", "2"),
                {**put("a", "9"), "Put": {**put("a", "9")["Put"], "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
            ]
        )
    error = raised.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    reasons = error["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"]["v"] == {"S": "1"}
    assert items(dynamodb) == {"a": "1"}
    assert stream_count(dynamodb) == 1, "nothing of the cancelled transaction reached the stream"


def test_two_operations_on_one_item_are_refused(dynamodb: Any) -> None:
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=[put("a", "1"), put("a", "2", new=False)])
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert items(dynamodb) == {}


def test_an_invalid_update_halfway_restores_what_was_written(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=[put("a", "1")])
    bad = {
        "Update": {
            "TableName": "t",
            "Key": {"pk": {"S": "c"}, "sk": {"S": "x"}},
            "UpdateExpression": "SET v = :missing",
            "ExpressionAttributeValues": {":v": {"S": "3"}},
        }
    }
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=[put("a", "changed", new=False), put("b", "2"), bad])
    assert items(dynamodb) == {"a": "1"}
