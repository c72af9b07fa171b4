"""How the chat repository reads DynamoDB's answers: conflicts, contention, throttling, batches.

A scripted client stands in for DynamoDB here: these are the answers moto does not give
(`TransactionConflict`, throttling, unprocessed keys) but a busy table does.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from runtime.chat.logic import path_id, unique_participants
from runtime.chat.repository import TRANSACT_ATTEMPTS, ChatRepository, ConditionFailedError, UserDirectory
from runtime.common.errors import BadRequestError, NotFoundError, ThrottledError
from runtime.common.pagination import encode_token


def _canceled(*reasons: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": [{"Code": reason} for reason in reasons],
        },
        "TransactWriteItems",
    )


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "TransactWriteItems")


class ScriptedClient:
    """Answers each call with the next scripted outcome (an exception to raise, or a response)."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _next(self, name: str, kwargs: dict[str, Any]) -> Any:
        self.calls.append((name, kwargs))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def transact_write_items(self, **kwargs: Any) -> Any:
        return self._next("transact_write_items", kwargs)

    def batch_get_item(self, **kwargs: Any) -> Any:
        return self._next("batch_get_item", kwargs)

    def query(self, **kwargs: Any) -> Any:
        return self._next("query", kwargs)


def _repository(client: ScriptedClient) -> ChatRepository:
    return ChatRepository("chat", client, sleep=lambda _: None)


def test_a_false_condition_names_the_writes_that_failed() -> None:
    client = ScriptedClient(_canceled("None", "ConditionalCheckFailed", "None"))
    with pytest.raises(ConditionFailedError) as raised:
        _repository(client).transact([{}, {}, {}])
    assert raised.value.indexes == {1}
    assert raised.value.status == 409
    assert len(client.calls) == 1, "a false condition is never retried"


def test_contention_between_transactions_is_retried_not_reported() -> None:
    # Two messages at once both update the same memberships: DynamoDB cancels one of them.
    client = ScriptedClient(_canceled("TransactionConflict", "None"), _error("TransactionConflictException"), {})
    _repository(client).transact([{}, {}])
    assert len(client.calls) == 3


def test_persistent_contention_or_throttling_is_503() -> None:
    client = ScriptedClient(*[_canceled("ThrottlingError")] * TRANSACT_ATTEMPTS)
    with pytest.raises(ThrottledError) as raised:
        _repository(client).transact([{}])
    assert raised.value.status == 503
    assert len(client.calls) == TRANSACT_ATTEMPTS


def test_anything_else_is_not_hidden() -> None:
    client = ScriptedClient(_error("ValidationException"))
    with pytest.raises(ClientError):
        _repository(client).transact([{}])
    assert len(client.calls) == 1


def test_user_lookup_retries_unprocessed_keys_and_keeps_tenants_apart() -> None:
    def profile(user_id: str, tenant: str) -> dict[str, Any]:
        return {"pk": {"S": f"USER#{user_id}"}, "tenant_id": {"S": tenant}}

    unprocessed = {"users": {"Keys": [{"pk": {"S": "USER#b"}, "sk": {"S": "PROFILE"}}]}}
    client = ScriptedClient(
        {"Responses": {"users": [profile("a", "t1"), profile("c", "t2")]}, "UnprocessedKeys": unprocessed},
        {"Responses": {"users": [profile("b", "t1")]}, "UnprocessedKeys": {}},
    )
    directory = UserDirectory("users", client, sleep=lambda _: None)
    assert directory.members_of("t1", ["a", "b", "c", "d"]) == {"a", "b"}
    assert client.calls[1][1]["RequestItems"] == unprocessed


def test_user_lookup_gives_up_with_503() -> None:
    stuck = {"users": {"Keys": [{"pk": {"S": "USER#a"}, "sk": {"S": "PROFILE"}}]}}
    client = ScriptedClient(*[{"Responses": {}, "UnprocessedKeys": stuck}] * UserDirectory.BATCH_ATTEMPTS)
    with pytest.raises(ThrottledError):
        UserDirectory("users", client, sleep=lambda _: None).members_of("t1", ["a"])


def test_a_page_reads_one_more_item_to_know_it_is_the_last() -> None:
    items = [{"pk": {"S": "P"}, "sk": {"S": f"MSG#{i}"}} for i in range(3)]
    full = ScriptedClient({"Items": items, "LastEvaluatedKey": items[-1]})
    page, token = _repository(full).query_page(
        key_condition="pk = :pk",
        values={":pk": "P"},
        limit=2,
        next_token=None,
        token_fixed={"pk": "P"},
        token_keys=("pk", "sk"),
    )
    assert full.calls[0][1]["Limit"] == 3
    assert [i["sk"] for i in page] == ["MSG#0", "MSG#1"]
    assert token is not None
    # The token starts the next page after the last item shown, not after the extra one.
    follow = ScriptedClient({"Items": items[2:]})
    _repository(follow).query_page(
        key_condition="pk = :pk",
        values={":pk": "P"},
        limit=2,
        next_token=token,
        token_fixed={"pk": "P"},
        token_keys=("pk", "sk"),
    )
    assert follow.calls[0][1]["ExclusiveStartKey"] == {"pk": {"S": "P"}, "sk": {"S": "MSG#1"}}
    last = ScriptedClient({"Items": items[:2]})
    assert (
        _repository(last).query_page(
            key_condition="pk = :pk",
            values={":pk": "P"},
            limit=2,
            next_token=None,
            token_fixed={"pk": "P"},
            token_keys=("pk", "sk"),
        )[1]
        is None
    )


def test_a_token_for_another_partition_is_refused_before_any_read() -> None:
    client = ScriptedClient()
    with pytest.raises(BadRequestError):
        _repository(client).query_page(
            key_condition="pk = :pk",
            values={":pk": "P"},
            limit=2,
            next_token=encode_token({"pk": "OTHER", "sk": "MSG#1"}),
            token_fixed={"pk": "P"},
            token_keys=("pk", "sk"),
        )
    with pytest.raises(BadRequestError):
        _repository(client).query_page(
            key_condition="pk = :pk",
            values={":pk": "P"},
            limit=2,
            next_token=encode_token({"pk": "P", "sk": "CMID#x"}),
            token_fixed={"pk": "P"},
            token_keys=("pk", "sk"),
            token_prefixes={"sk": "MSG#"},
        )
    assert client.calls == []


def test_participants_are_the_caller_first_then_each_other_once() -> None:
    assert unique_participants("me", ["b", "me", "a", "b"]) == ("me", "b", "a")


def test_path_ids_that_are_not_uuids_are_simply_not_found() -> None:
    assert path_id("0A9F67B7-F31E-47BE-AC64-BC3E150662C9", "call") == "0a9f67b7-f31e-47be-ac64-bc3e150662c9"
    for bad in ("", "x", "0a9f67b7-f31e-47be-ac64-bc3e150662c9-extra", "../conversations"):
        with pytest.raises(NotFoundError, match="call not found"):
            path_id(bad, "call")
