"""The call state machine and durations, as pure functions (CONTRACT.md: calls)."""

from __future__ import annotations

import pytest

from runtime.calls.logic import TRANSITIONS, describe, duration_seconds, format_duration, target_status
from runtime.calls.models import Call, CallAction, CallStatus
from runtime.common.errors import ConflictError, DomainError, ForbiddenError

R, C, REJ, M, E = (CallStatus.RINGING, CallStatus.CONNECTED, CallStatus.REJECTED, CallStatus.MISSED, CallStatus.ENDED)
ACCEPT, REJECT, END = CallAction.ACCEPT, CallAction.REJECT, CallAction.END

# Written out by hand, independently of the code: (status, action, by the caller?) -> outcome.
EXPECTED: dict[tuple[CallStatus, CallAction, bool], CallStatus | type[DomainError]] = {
    (R, ACCEPT, False): C,
    (R, REJECT, False): REJ,
    (R, END, True): M,  # the caller gave up before anyone answered
    (R, END, False): REJ,  # hanging up on a call you never answered is declining it
    (C, END, True): E,
    (C, END, False): E,
    (C, ACCEPT, False): ConflictError,
    (C, REJECT, False): ConflictError,
}
for _status in (R, C, REJ, M, E):
    for _action in (ACCEPT, REJECT):
        EXPECTED[(_status, _action, True)] = ForbiddenError  # the caller never answers their own call
for _status in (REJ, M, E):
    for _action in (ACCEPT, REJECT, END):
        EXPECTED.setdefault((_status, _action, False), ConflictError)
    EXPECTED.setdefault((_status, END, True), ConflictError)


def test_the_table_is_the_contracts() -> None:
    contract: dict[CallStatus, set[CallStatus]] = {R: {C, REJ, M, E}, C: {E}, REJ: set(), M: set(), E: set()}
    assert contract == TRANSITIONS


def test_every_combination_is_covered() -> None:
    assert len(EXPECTED) == len(CallStatus) * len(CallAction) * 2


@pytest.mark.parametrize(("status", "action", "by_caller"), sorted(EXPECTED, key=str))
def test_target_status(status: CallStatus, action: CallAction, by_caller: bool) -> None:
    expected = EXPECTED[(status, action, by_caller)]
    if isinstance(expected, CallStatus):
        assert target_status(status, action, by_caller=by_caller) is expected
        assert expected in TRANSITIONS[status]
    else:
        with pytest.raises(expected) as raised:
            target_status(status, action, by_caller=by_caller)
        assert raised.value.status == (409 if expected is ConflictError else 403)


def test_terminal_states_are_exactly_those_without_exits() -> None:
    assert {s for s in CallStatus if s.is_terminal} == {s for s, exits in TRANSITIONS.items() if not exits}


@pytest.mark.parametrize(
    ("connected_ms", "ended_ms", "expected"),
    [
        (None, 5_000, 0),
        (1_000, 1_000, 0),
        (1_000, 126_999, 125),
        (1_999, 2_000, 1),  # whole seconds on both ends, as the call view shows them
        (3_700, 129_300, 126),
        (10_000, 9_000, 0),  # a clock step backwards never gives a negative duration
    ],
)
def test_duration_is_ended_minus_connected_in_whole_seconds(
    connected_ms: int | None, ended_ms: int, expected: int
) -> None:
    assert duration_seconds(connected_ms, ended_ms) == expected


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (59, "59s"), (60, "1m 00s"), (3725, "1h 02m 05s")])
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


def _call(status: CallStatus, **fields: object) -> Call:
    base = Call(
        call_id="c",
        conversation_id="v",
        tenant_id="t",
        participant_ids=("a", "b"),
        caller_id="a",
        call_type="video",
        status=R,
        created_at_ms=1_000,
    )
    moved = base.moved(status, at_ms=61_000, by="b", duration_seconds=60) if status is not R else base
    return moved


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (R, "Video call started"),
        (C, "Video call connected"),
        (REJ, "Video call declined"),
        (M, "Missed video call"),
        (E, "Video call ended after 1m 00s"),
    ],
)
def test_each_transition_is_described(status: CallStatus, text: str) -> None:
    assert describe(_call(status)) == text


def test_moving_records_when_and_by_whom() -> None:
    connected = _call(C)
    assert (connected.connected_at_ms, connected.ended_at_ms, connected.duration_seconds) == (61_000, None, None)
    ended = connected.moved(E, at_ms=90_500, by="a", duration_seconds=29)
    assert (ended.connected_at_ms, ended.ended_at_ms, ended.ended_by, ended.duration_seconds) == (
        61_000,
        90_500,
        "a",
        29,
    )
    view = ended.view()
    assert (view["connected_at"], view["ended_at"], view["created_at"]) == (61, 90, 1)
    assert view["status"] == "ended"
