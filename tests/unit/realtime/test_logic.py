"""Decisions of the realtime logic over in-memory fakes: races, and failures that must not leak."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from runtime.realtime.delivery import Delivery
from runtime.realtime.logic import Router, settle_calls_of
from runtime.realtime.models import ActiveCallRef, Call, CallStatus, Connection, Conversation, Message
from runtime.realtime.ports import FanoutResult

CONVERSATION = Conversation("conv-1", "tenant-a", ("alice", "bob"))


@dataclass
class Chat:
    calls: dict[str, Call]
    markers: list[ActiveCallRef]
    released: list[str] = field(default_factory=list)

    def conversation(self, conversation_id: str) -> Conversation | None:
        return CONVERSATION if conversation_id == CONVERSATION.conversation_id else None

    def conversations(self, conversation_ids: Iterable[str]) -> dict[str, Conversation | None]:
        return {cid: self.conversation(cid) for cid in conversation_ids}

    def call(self, call_id: str) -> Call | None:
        return self.calls.get(call_id)

    def active_calls_of(self, user_id: str) -> list[ActiveCallRef]:
        return [m for m in self.markers if m.user_id == user_id]

    def release_marker(self, user_id: str, call_id: str) -> None:
        self.released.append(call_id)


@dataclass
class Calls:
    wins: bool = True
    settled: list[tuple[str, CallStatus, int | None, Message]] = field(default_factory=list)

    def settle(self, call: Call, *, to: CallStatus, duration_seconds: int | None, message: Message, **_: Any) -> bool:
        if self.wins:
            self.settled.append((call.call_id, to, duration_seconds, message))
        return self.wins


def _call(call_id: str, status: CallStatus, caller: str = "alice", **kwargs: Any) -> Call:
    return Call(call_id, "conv-1", "tenant-a", caller, status, "voice", **kwargs)


def test_settles_only_what_the_user_left_hanging() -> None:
    chat = Chat(
        calls={
            "ringing-mine": _call("ringing-mine", CallStatus.RINGING),
            "ringing-theirs": _call("ringing-theirs", CallStatus.RINGING, caller="bob"),
            "talking": _call(
                "talking", CallStatus.CONNECTED, caller="bob", accepted_by="alice", connected_at_ms=10_000
            ),
            "over": _call("over", CallStatus.ENDED),
        },
        markers=[ActiveCallRef("alice", c) for c in ("ringing-mine", "ringing-theirs", "talking", "over", "vanished")],
    )
    calls = Calls()

    settle_calls_of("alice", "tenant-a", chat=chat, calls=calls, at_ms=75_500)

    outcomes = {call_id: (to, duration) for call_id, to, duration, _ in calls.settled}
    assert outcomes == {"ringing-mine": (CallStatus.MISSED, None), "talking": (CallStatus.ENDED, 65)}
    assert sorted(chat.released) == ["over", "vanished"]
    messages = {call_id: message for call_id, _, _, message in calls.settled}
    assert messages["talking"].type == "call"
    assert messages["talking"].extra["call"]["duration_seconds"] == 65
    assert messages["ringing-mine"].content == "Missed voice call"


def test_a_concurrent_transition_wins_and_nothing_is_reported() -> None:
    chat = Chat(calls={"c": _call("c", CallStatus.RINGING)}, markers=[ActiveCallRef("alice", "c")])

    settled = settle_calls_of("alice", "tenant-a", chat=chat, calls=Calls(wins=False), at_ms=1)

    assert settled == []


def test_another_tenants_call_is_never_settled() -> None:
    foreign = Call("c", "conv-1", "tenant-b", "alice", CallStatus.RINGING, "voice")
    calls = Calls()

    settle_calls_of("alice", "tenant-a", chat=Chat({"c": foreign}, [ActiveCallRef("alice", "c")]), calls=calls, at_ms=1)

    assert calls.settled == []


class ExplodingConnections:
    def get(self, connection_id: str) -> Connection | None:
        raise RuntimeError("table name leaked: arn:aws:dynamodb:...:table/secret")


class NoGateway:
    def fan_out(self, connection_ids: Any, data: bytes) -> FanoutResult:
        raise AssertionError("not expected")


def test_an_unexpected_failure_is_an_error_frame_without_internals() -> None:
    connections: Any = ExplodingConnections()
    router = Router(
        connections=connections,
        chat=Chat({}, []),
        writer=None,  # type: ignore[arg-type]
        delivery=Delivery(connections, NoGateway()),
    )

    reply = router.handle("c1", '{"action": "subscribe", "conversation_id": "x", "request_id": "r"}')

    assert reply.model_dump() == {"action": "error", "error": "internal error, please retry", "request_id": "r"}
