"""Calls through the calls function: the state machine, its messages, the call log, the accept race."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from runtime.calls import handler as calls_handler
from runtime.calls.models import CallAction, CallStatus
from runtime.chat.repository import default_client
from runtime.common.errors import ConflictError
from runtime.common.identity import Identity
from tests.runtime.chat.conftest import Api, Reply, User


class Clock:
    """Server time the test controls (durations are computed server-side, from this)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    clock = Clock()
    service = calls_handler.call_service()
    service.clock = clock
    service.chat.clock = clock
    return clock


def _start(api: Api, caller: User, conversation_id: str, call_type: str = "voice") -> Reply:
    return api.calls("POST", f"/conversations/{conversation_id}/calls", as_user=caller, body={"call_type": call_type})


def _act(api: Api, user: User, call_id: str, action: str) -> Reply:
    return api.calls("POST", f"/calls/{call_id}/{action}", as_user=user)


def _call_messages(api: Api, user: User, conversation_id: str) -> list[dict[str, Any]]:
    reply = api.chat("GET", f"/conversations/{conversation_id}/messages", as_user=user, query={"type": "call"})
    return list(reversed(reply.body["items"]))


def test_call_answered_and_ended_has_a_server_side_duration(api: Api, clock: Clock) -> None:
    alice, bob = api.user(), api.user()
    conversation = api.conversation(alice, bob)["conversation_id"]

    started = _start(api, alice, conversation, "video")
    assert started.status == 201
    call = started.body
    assert call["status"] == "ringing"
    assert call["caller_id"] == alice.user_id
    assert call["call_type"] == "video"
    assert call["created_at"] == int(clock.now)
    assert call["duration_seconds"] is None

    clock.now += 3.7
    accepted = _act(api, bob, call["call_id"], "accept")
    assert accepted.status == 200
    assert accepted.body["status"] == "connected"
    assert accepted.body["connected_at"] == int(clock.now)

    clock.now += 125.6
    ended = _act(api, alice, call["call_id"], "end")
    assert ended.status == 200
    assert ended.body["status"] == "ended"
    assert ended.body["ended_by"] == alice.user_id
    assert ended.body["duration_seconds"] == ended.body["ended_at"] - ended.body["connected_at"] == 126

    # Every transition is a `call` message carrying the call as it became.
    messages = _call_messages(api, bob, conversation)
    assert [m["content"] for m in messages] == [
        "Video call started",
        "Video call connected",
        "Video call ended after 2m 06s",
    ]
    assert [m["call"]["status"] for m in messages] == ["ringing", "connected", "ended"]
    assert [m["sender_id"] for m in messages] == [alice.user_id, bob.user_id, alice.user_id]
    assert messages[-1]["call"]["duration_seconds"] == 126


def test_call_messages_carry_what_the_stream_processor_pushes(api: Api) -> None:
    # The realtime processor reads message items off the stream: they must hold the call and the audience.
    alice, bob = api.user(), api.user()
    conversation = api.conversation(alice, bob)["conversation_id"]
    call_id = _start(api, alice, conversation).body["call_id"]
    _act(api, bob, call_id, "reject")
    items = [i for i in api.table_items() if i["sk"]["S"].startswith("MSG#")]
    assert len(items) == 2
    for item in items:
        assert item["type"]["S"] == "call"
        assert item["type_pk"]["S"] == f"CONV#{conversation}#TYPE#call"
        assert item["call"]["M"]["call_id"]["S"] == call_id
        assert {p["S"] for p in item["participant_ids"]["L"]} == {alice.user_id, bob.user_id}
        assert item["tenant_id"]["S"] == "tenant-a"
    rejected = next(i for i in items if i["call"]["M"]["status"]["S"] == "rejected")
    assert rejected["call"]["M"]["duration_seconds"]["N"] == "0"


@pytest.mark.parametrize(
    ("who", "action", "status"),
    [
        ("callee", "reject", "rejected"),
        ("caller", "end", "missed"),
        ("callee", "end", "rejected"),
    ],
)
def test_an_unanswered_call_ends_as_missed_or_rejected(api: Api, who: str, action: str, status: str) -> None:
    alice, bob = api.user(), api.user()
    conversation = api.conversation(alice, bob)["conversation_id"]
    call_id = _start(api, alice, conversation).body["call_id"]
    actor = alice if who == "caller" else bob
    reply = _act(api, actor, call_id, action)
    assert reply.status == 200
    assert reply.body["status"] == status
    assert reply.body["duration_seconds"] == 0
    assert reply.body["connected_at"] is None
    assert reply.body["ended_by"] == actor.user_id


@pytest.mark.parametrize("action", ["accept", "reject"])
def test_the_caller_cannot_answer_their_own_call(api: Api, action: str) -> None:
    alice, bob = api.user(), api.user()
    conversation = api.conversation(alice, bob)["conversation_id"]
    call_id = _start(api, alice, conversation).body["call_id"]
    before = api.table_items()
    reply = _act(api, alice, call_id, action)
    assert reply.status == 403
    assert api.table_items() == before


def _call_in(api: Api, state: str) -> tuple[User, User, str, str]:
    """A call between alice (caller) and bob, driven into ``state``."""
    alice, bob = api.user(), api.user()
    conversation = api.conversation(alice, bob)["conversation_id"]
    call_id = _start(api, alice, conversation).body["call_id"]
    path = {
        "ringing": [],
        "connected": [(bob, "accept")],
        "rejected": [(bob, "reject")],
        "missed": [(alice, "end")],
        "ended": [(bob, "accept"), (alice, "end")],
    }[state]
    for user, action in path:
        assert _act(api, user, call_id, action).status == 200
    return alice, bob, conversation, call_id


ILLEGAL = [
    ("connected", "accept"),
    ("connected", "reject"),
    *[(state, action) for state in ("rejected", "missed", "ended") for action in ("accept", "reject", "end")],
]


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
def test_every_illegal_transition_is_409_and_changes_nothing(api: Api, state: str, action: str) -> None:
    alice, bob, _, call_id = _call_in(api, state)
    before = api.table_items()
    for user in (bob, alice) if action == "end" else (bob,):
        reply = _act(api, user, call_id, action)
        assert reply.status == 409, (state, action, reply.body)
        assert reply.body == {"error": f"cannot {action} a call that is {state}"}
    assert api.table_items() == before


def test_one_call_at_a_time_per_conversation(api: Api) -> None:
    alice, bob, conversation, call_id = _call_in(api, "ringing")
    before = api.table_items()
    for caller in (alice, bob):
        second = _start(api, caller, conversation)
        assert second.status == 409
    assert api.table_items() == before
    _act(api, bob, call_id, "accept")
    assert _start(api, bob, conversation).status == 409
    _act(api, bob, call_id, "end")
    again = _start(api, bob, conversation)
    assert again.status == 201
    assert again.body["caller_id"] == bob.user_id


def test_call_log_is_newest_first_and_pages(api: Api, clock: Clock) -> None:
    alice, bob = api.user(), api.user()
    conversation = api.conversation(alice, bob)["conversation_id"]
    call_ids = []
    for _ in range(3):
        clock.now += 10
        call_id = _start(api, alice, conversation).body["call_id"]
        _act(api, alice, call_id, "end")
        call_ids.append(call_id)
    path = f"/conversations/{conversation}/calls"
    first = api.calls("GET", path, as_user=bob, query={"limit": "2"}).body
    assert [c["call_id"] for c in first["items"]] == call_ids[:0:-1]
    second = api.calls("GET", path, as_user=bob, query={"limit": "2", "next_token": first["next_token"]}).body
    assert [c["call_id"] for c in second["items"]] == call_ids[:1]
    assert second["next_token"] is None
    assert all(c["status"] == "missed" for c in first["items"] + second["items"])
    for token in ("nonsense", first["next_token"][:-4]):
        assert api.calls("GET", path, as_user=bob, query={"next_token": token}).status == 400
    # A call-log token from another conversation names another partition: refused.
    other = api.conversation(alice, api.user())["conversation_id"]
    foreign = api.calls(
        "GET", f"/conversations/{other}/calls", as_user=alice, query={"next_token": first["next_token"]}
    )
    assert foreign.status == 400


def test_group_call_any_other_participant_may_answer(api: Api) -> None:
    alice, bob, carol = api.user(), api.user(), api.user()
    conversation = api.conversation(alice, bob, carol)["conversation_id"]
    call_id = _start(api, alice, conversation).body["call_id"]
    assert _act(api, carol, call_id, "accept").body["status"] == "connected"
    assert _act(api, bob, call_id, "end").body["ended_by"] == bob.user_id


def _stale_race(monkeypatch: pytest.MonkeyPatch, call_id: str, actions: list[tuple[User, CallAction]]) -> list[Any]:
    """Run ``actions`` at once, each having read the call before any of them writes.

    Every thread reads the call (all see it ringing) and waits at a barrier; then all write.
    moto in process does not make a conditional write atomic across threads (a real table
    does), so its calls are serialized here, standing in for DynamoDB's item-level
    serialization; the read-check-write race itself is real.
    """
    service = calls_handler.call_service()
    read = service.store.get
    barrier = threading.Barrier(len(actions))

    def read_then_wait(call_id: str) -> Any:
        call = read(call_id)
        barrier.wait(timeout=30)
        return call

    monkeypatch.setattr(service.store, "get", read_then_wait)
    client = default_client()
    serial = threading.Lock()
    original: Callable[..., Any] = client._make_api_call

    def one_at_a_time(*args: Any, **kwargs: Any) -> Any:
        with serial:
            return original(*args, **kwargs)

    monkeypatch.setattr(client, "_make_api_call", one_at_a_time)
    outcomes: list[Any] = [None] * len(actions)

    def run(index: int, user: User, action: CallAction) -> None:
        identity = Identity(user_id=user.user_id, tenant_id=user.tenant)
        try:
            outcomes[index] = service.act(identity, call_id, action)
        except Exception as error:
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i, u, a)) for i, (u, a) in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (CallAction.ACCEPT, CallAction.ACCEPT),
        (CallAction.ACCEPT, CallAction.REJECT),
        (CallAction.REJECT, CallAction.END),
    ],
)
def test_concurrent_answers_exactly_one_wins(
    api: Api, monkeypatch: pytest.MonkeyPatch, first: CallAction, second: CallAction
) -> None:
    alice, bob, carol = api.user(), api.user(), api.user()
    conversation = api.conversation(alice, bob, carol)["conversation_id"]
    call_id = _start(api, alice, conversation).body["call_id"]
    outcomes = _stale_race(monkeypatch, call_id, [(bob, first), (carol, second)])
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    losers = [o for o in outcomes if isinstance(o, Exception)]
    assert len(winners) == 1, outcomes
    assert len(losers) == 1
    assert isinstance(losers[0], ConflictError)
    assert losers[0].status == 409
    assert losers[0].message == "the call is no longer ringing"
    # The table holds the winner's state and exactly one message for it.
    log = api.calls("GET", f"/conversations/{conversation}/calls", as_user=alice).body["items"]
    assert log[0]["status"] == str(winners[0].status)
    statuses = [m["call"]["status"] for m in _call_messages(api, alice, conversation)]
    assert statuses == ["ringing", str(winners[0].status)]


def test_a_stale_transition_is_refused_without_threads(api: Api) -> None:
    # The same race, deterministic: two transitions computed from the same read of the call.
    alice, bob, carol = api.user(), api.user(), api.user()
    conversation = api.conversation(alice, bob, carol)["conversation_id"]
    call_id = _start(api, alice, conversation).body["call_id"]
    service = calls_handler.call_service()
    stale = service.store.get(call_id)
    assert stale is not None
    assert stale.status is CallStatus.RINGING
    service.apply(stale, bob.user_id, CallAction.ACCEPT)
    before = api.table_items()
    with pytest.raises(ConflictError, match="no longer ringing"):
        service.apply(stale, carol.user_id, CallAction.ACCEPT)
    assert api.table_items() == before
