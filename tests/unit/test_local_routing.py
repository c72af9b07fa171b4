"""API Gateway's route selection, CORS and authorizer policies, as the local gateways apply them."""

from __future__ import annotations

import pytest

from local.events import matches_pattern
from local.http_gateway import RouteTable, is_text, policy_allows
from local.topology import Route


def route(key: str) -> Route:
    return Route(
        key=key, integration=None, authorization_type="NONE", authorizer=None, two_way=False, stack="s", logical_id=key
    )


TABLE = RouteTable(
    [
        route("GET /conversations/{conversation_id}/messages"),
        route("POST /conversations/{conversation_id}/messages"),
        route("GET /conversations/mine/messages"),
        route("ANY /conversations/{conversation_id}/calls"),
        route("GET /files/{proxy+}"),
        route("GET /health"),
        route("$default"),
    ]
)


@pytest.mark.parametrize(
    ("method", "path", "key", "params"),
    [
        ("GET", "/health", "GET /health", {}),
        (
            "GET",
            "/conversations/c-1/messages",
            "GET /conversations/{conversation_id}/messages",
            {"conversation_id": "c-1"},
        ),
        (
            "POST",
            "/conversations/c%201/messages",
            "POST /conversations/{conversation_id}/messages",
            {"conversation_id": "c 1"},
        ),
        ("GET", "/conversations/mine/messages", "GET /conversations/mine/messages", {}),
        (
            "DELETE",
            "/conversations/c-1/calls",
            "ANY /conversations/{conversation_id}/calls",
            {"conversation_id": "c-1"},
        ),
        ("GET", "/files/a/b/c.png", "GET /files/{proxy+}", {"proxy": "a/b/c.png"}),
        ("GET", "/health/", "$default", {}),
        ("DELETE", "/health", "$default", {}),
    ],
)
def test_the_most_specific_route_wins(method: str, path: str, key: str, params: dict[str, str]) -> None:
    selected = TABLE.select(method, path)
    assert selected is not None
    assert (selected[0].key, selected[1]) == (key, params)


def test_without_default_an_unknown_route_matches_nothing() -> None:
    table = RouteTable([route("GET /health")])
    assert table.select("GET", "/nope") is None
    assert table.select("POST", "/health") is None


def test_authorizer_policies_allow_only_on_a_matching_allow_and_no_deny() -> None:
    arn = "arn:aws:execute-api:us-east-1:123456789012:abc/$default/GET/health"
    allow = {"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*"}]}
    deny = {"Statement": [*allow["Statement"], {"Effect": "Deny", "Resource": [arn]}]}
    assert policy_allows(allow, arn) is True
    assert policy_allows(deny, arn) is False
    assert policy_allows({"Statement": [{"Effect": "Allow", "Resource": "arn:other"}]}, arn) is False
    assert policy_allows(None, arn) is False


def test_binary_bodies_are_told_from_text_by_content_type() -> None:
    assert is_text("application/json; charset=utf-8")
    assert is_text("application/vnd.api+json")
    assert is_text("text/plain")
    assert not is_text("image/png")
    assert not is_text(None)


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        ({"eventName": ["INSERT"]}, {"eventName": "INSERT"}, True),
        ({"eventName": ["INSERT", "MODIFY"]}, {"eventName": "REMOVE"}, False),
        (
            {"dynamodb": {"NewImage": {"pk": {"S": [{"prefix": "CONV#"}]}}}},
            {"dynamodb": {"NewImage": {"pk": {"S": "CONV#1"}}}},
            True,
        ),
        ({"body": {"kind": [{"anything-but": ["test"]}]}}, {"body": {"kind": "real"}}, True),
        ({"body": {"kind": [{"exists": False}]}}, {"body": {}}, True),
        ({"body": {"size": [{"numeric": [">", 0, "<=", 10]}]}}, {"body": {"size": 10}}, True),
        ({"body": {"size": [{"numeric": [">", 10]}]}}, {"body": {"size": 5}}, False),
        ({"body": {"tags": ["b"]}}, {"body": {"tags": ["a", "b"]}}, True),
        ({"body": {"name": [{"equals-ignore-case": "ALICE"}]}}, {"body": {"name": "alice"}}, True),
    ],
)
def test_event_filter_patterns(pattern: dict, event: dict, expected: bool) -> None:
    assert matches_pattern(pattern, event) is expected
