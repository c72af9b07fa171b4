"""The local runtime's key lookups for moto's queries (``local.dynamodb_index``) answer as moto does.

Random writes through every write path (PutItem, UpdateItem, DeleteItem, BatchWriteItem,
TransactWriteItems, conditional writes that fail), and after them random queries on the table,
a local index and two global indexes (sort-key conditions, filters, ``Limit``, every page by
``ExclusiveStartKey``, both directions): each page must equal moto's own answer on the same data.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

from local import dynamodb_index
from local.moto_host import install_dynamodb_seams

PARTITIONS = ["a", "b", "c"]
GSI_VALUES = ["x", "y", "z"]
SORT_VALUES = [f"{n:02d}" for n in range(12)]


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for cls, name in [
        (Table, "all_items"),
        (Table, "query"),
        (Table, "put_item"),
        (Table, "delete_item"),
        (DynamoDBBackend, "update_item"),
        (DynamoDBBackend, "transact_write_items"),
    ]:
        monkeypatch.setattr(cls, name, getattr(cls, name))  # restored after the test
    install_dynamodb_seams()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        attribute = [("pk", "S"), ("sk", "S"), ("gh", "S"), ("gr", "S"), ("num", "N"), ("lr", "S")]
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in attribute],
            BillingMode="PAY_PER_REQUEST",
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "ByG",
                    "KeySchema": [
                        {"AttributeName": "gh", "KeyType": "HASH"},
                        {"AttributeName": "gr", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                },
                {
                    "IndexName": "ByNum",
                    "KeySchema": [{"AttributeName": "num", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                },
            ],
            LocalSecondaryIndexes=[
                {
                    "IndexName": "ByL",
                    "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "lr", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        yield dynamodb


def _random_item(rng: random.Random) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": {"S": rng.choice(PARTITIONS)}, "sk": {"S": rng.choice(SORT_VALUES)}}
    if rng.random() < 0.7:
        item["gh"] = {"S": rng.choice(GSI_VALUES)}
    if rng.random() < 0.7:
        item["gr"] = {"S": rng.choice(SORT_VALUES)}
    if rng.random() < 0.5:
        item["num"] = {"N": str(rng.choice([1, 2, 3]))}
    if rng.random() < 0.5:
        item["lr"] = {"S": rng.choice(SORT_VALUES)}
    item["v"] = {"N": str(rng.randint(0, 9))}
    return item


def _random_key(rng: random.Random) -> dict[str, Any]:
    return {"pk": {"S": rng.choice(PARTITIONS)}, "sk": {"S": rng.choice(SORT_VALUES)}}


def _random_update(rng: random.Random) -> dict[str, Any]:
    choice = rng.randrange(4)
    if choice == 0:
        return {
            "UpdateExpression": "SET gh = :g, gr = :r",
            "ExpressionAttributeValues": {":g": {"S": rng.choice(GSI_VALUES)}, ":r": {"S": rng.choice(SORT_VALUES)}},
        }
    if choice == 1:
        return {"UpdateExpression": "REMOVE gh"}
    if choice == 2:
        return {"UpdateExpression": "ADD num :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}
    return {
        "UpdateExpression": "SET v = :v, lr = :l",
        "ExpressionAttributeValues": {":v": {"N": str(rng.randint(0, 9))}, ":l": {"S": rng.choice(SORT_VALUES)}},
    }


def _write(client: Any, rng: random.Random) -> None:
    kind = rng.randrange(6)
    try:
        if kind == 0:
            client.put_item(TableName="t", Item=_random_item(rng))
        elif kind == 1:
            client.update_item(TableName="t", Key=_random_key(rng), **_random_update(rng))
        elif kind == 2:
            client.delete_item(TableName="t", Key=_random_key(rng))
        elif kind == 3:
            keys = {(i["pk"]["S"], i["sk"]["S"]): i for i in (_random_item(rng) for _ in range(4))}
            requests: list[dict[str, Any]] = [{"PutRequest": {"Item": i}} for i in keys.values()]
            delete = _random_key(rng)
            if (delete["pk"]["S"], delete["sk"]["S"]) not in keys:
                requests.append({"DeleteRequest": {"Key": delete}})
            client.batch_write_item(RequestItems={"t": requests})
        elif kind == 4:
            put, update, delete = _random_item(rng), _random_key(rng), _random_key(rng)
            if len({(k["pk"]["S"], k["sk"]["S"]) for k in (put, update, delete)}) < 3:
                return
            client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": "t", "Item": put}},
                    {"Update": {"TableName": "t", "Key": update, **_random_update(rng)}},
                    {"Delete": {"TableName": "t", "Key": delete, "ConditionExpression": "attribute_exists(pk)"}},
                ]
            )
        else:  # a conditional write that may fail and must change nothing
            client.update_item(
                TableName="t",
                Key=_random_key(rng),
                UpdateExpression="SET gh = :g",
                ConditionExpression="v = :v",
                ExpressionAttributeValues={":g": {"S": rng.choice(GSI_VALUES)}, ":v": {"N": str(rng.randint(0, 9))}},
            )
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("ConditionalCheckFailedException", "TransactionCanceledException"):
            raise


def _random_query(rng: random.Random) -> dict[str, Any]:
    index = rng.choice([None, "ByG", "ByNum", "ByL"])
    values: dict[str, Any] = {}
    if index == "ByG":
        condition, sort_attr = "gh = :h", "gr"
        values[":h"] = {"S": rng.choice(GSI_VALUES)}
    elif index == "ByNum":
        condition, sort_attr = "num = :h", None
        values[":h"] = {"N": str(rng.choice([1, 2, 3, 4]))}
    else:
        condition, sort_attr = "pk = :h", "lr" if index == "ByL" else "sk"
        values[":h"] = {"S": rng.choice(PARTITIONS)}
    if sort_attr is not None and rng.random() < 0.6:
        operator = rng.choice(["=", "<", "<=", ">", ">=", "begins_with", "between"])
        low, high = sorted(rng.sample(SORT_VALUES, 2))
        values[":s"] = {"S": low}
        if operator == "begins_with":
            values[":s"] = {"S": low[0]}
            condition += f" AND begins_with({sort_attr}, :s)"
        elif operator == "between":
            values[":e"] = {"S": high}
            condition += f" AND {sort_attr} BETWEEN :s AND :e"
        else:
            condition += f" AND {sort_attr} {operator} :s"
    query: dict[str, Any] = {"TableName": "t", "KeyConditionExpression": condition}
    if index:
        query["IndexName"] = index
    if index != "ByNum" and rng.random() < 0.4:
        query["FilterExpression"] = "v > :f"
        values[":f"] = {"N": str(rng.randint(0, 9))}
    query["ExpressionAttributeValues"] = values
    query["ScanIndexForward"] = rng.random() < 0.5
    if rng.random() < 0.6:
        query["Limit"] = rng.randint(1, 4)
    return query


def _pages(client: Any, query: dict[str, Any]) -> list[dict[str, Any]]:
    pages = []
    request = dict(query)
    while True:
        page = client.query(**request)
        page.pop("ResponseMetadata")
        pages.append(page)
        if "LastEvaluatedKey" not in page or len(pages) > 50:
            return pages
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_queries_answer_as_moto_does_over_random_writes(client: Any) -> None:
    rng = random.Random(7)
    compared = 0
    for _round in range(40):
        for _write_count in range(rng.randint(1, 6)):
            _write(client, rng)
        for _query_count in range(4):
            query = _random_query(rng)
            indexed = _pages(client, query)
            with dynamodb_index.moto_queries():
                own = _pages(client, query)
            assert indexed == own, query
            compared += sum(len(page["Items"]) for page in own)
    assert compared > 150  # the writes left data to compare, not only empty answers


def test_an_index_query_does_not_walk_the_table(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(30):
        client.put_item(
            TableName="t",
            Item={"pk": {"S": f"p{n}"}, "sk": {"S": "s"}, "gh": {"S": "x" if n < 3 else "y"}, "gr": {"S": f"{n:02d}"}},
        )
    walked: list[str] = []
    whole_table = dynamodb_index._installed["originals"]["all_items"]

    def counting(table: Any) -> Any:
        walked.append(table.name)
        return whole_table(table)

    monkeypatch.setitem(dynamodb_index._installed["originals"], "all_items", counting)
    first = client.query(
        TableName="t", IndexName="ByG", KeyConditionExpression="gh = :h", ExpressionAttributeValues={":h": {"S": "x"}}
    )
    assert [i["pk"]["S"] for i in first["Items"]] == ["p0", "p1", "p2"]
    client.update_item(
        TableName="t",
        Key={"pk": {"S": "p5"}, "sk": {"S": "s"}},
        UpdateExpression="SET gh = :x",
        ExpressionAttributeValues={":x": {"S": "x"}},
    )
    client.delete_item(TableName="t", Key={"pk": {"S": "p0"}, "sk": {"S": "s"}})
    second = client.query(
        TableName="t", IndexName="ByG", KeyConditionExpression="gh = :h", ExpressionAttributeValues={":h": {"S": "x"}}
    )
    assert [i["pk"]["S"] for i in second["Items"]] == ["p1", "p2", "p5"]
    client.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p7"}})
    assert walked == []  # moto's walk of every item never ran
    assert dynamodb_index._indexes  # the global index's values were looked up, not scanned
