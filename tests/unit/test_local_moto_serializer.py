"""The local runtime's shortcut through moto's response serializer (``install_dynamodb_serializer``).

Attribute values moto holds in wire form are written as they are instead of member by member;
what a client reads must not change. Random items (every attribute type, nested maps and
lists, binary values that still take moto's path) are read back with and without the shortcut.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.serialize import BaseJSONSerializer

from local import moto_host


def _value(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    kinds = ["S", "N", "BOOL", "NULL", "SS", "NS", "B"] + (["M", "L"] if depth < 2 else [])
    kind = rng.choice(kinds)
    if kind == "S":
        return {"S": rng.choice(["", "plain", "ünïcødé ✓", '"quoted" \\ and \n newline'])}
    if kind == "N":
        return {"N": rng.choice(["0", "-12", "3.25", "1e5", "12345678901234567890"])}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "SS":
        return {"SS": rng.sample(["a", "b", "c", "d"], rng.randint(1, 3))}
    if kind == "NS":
        return {"NS": rng.sample(["1", "2", "3.5", "-4"], rng.randint(1, 3))}
    if kind == "B":
        return {"B": bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))}
    if kind == "M":
        return {"M": {f"k{n}": _value(rng, depth + 1) for n in range(rng.randint(0, 3))}}
    return {"L": [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]}


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(BaseJSONSerializer, "_serialize_type_structure", BaseJSONSerializer._serialize_type_structure)
    monkeypatch.setattr(moto_host, "_installed_serializer", {})
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield dynamodb


def _reads(client: Any) -> list[Any]:
    query = client.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    get = client.get_item(TableName="t", Key={"pk": {"S": "p"}, "sk": {"N": "3"}})
    batch = client.batch_get_item(
        RequestItems={"t": {"Keys": [{"pk": {"S": "p"}, "sk": {"N": str(n)}} for n in range(5)]}}
    )
    for response in (query, get, batch):
        response.pop("ResponseMetadata")
    batch["Responses"]["t"].sort(key=lambda item: item["sk"]["N"])
    return [query, get, batch]


def test_reads_are_the_same_with_and_without_the_shortcut(client: Any) -> None:
    rng = random.Random(11)
    for n in range(40):
        item = {"pk": {"S": "p"}, "sk": {"N": str(n)}}
        item.update({f"a{k}": _value(rng) for k in range(rng.randint(1, 6))})
        client.put_item(TableName="t", Item=item)
    moto_own = _reads(client)

    moto_host.install_dynamodb_serializer()
    shortcut = _reads(client)

    assert shortcut == moto_own
    assert len(shortcut[0]["Items"]) == 40


def test_plain_values_take_the_shortcut_and_binary_ones_do_not() -> None:
    assert moto_host._plain_attribute_value({"M": {"a": {"L": [{"S": "x"}, {"NULL": True}]}}})
    assert not moto_host._plain_attribute_value({"M": {"a": {"B": b"\x00"}}})
    assert not moto_host._plain_attribute_value({"S": "x", "N": "1"})
    assert not moto_host._plain_attribute_value({"N": 1})
