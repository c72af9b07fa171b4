"""The call state machine and the service that applies it.

States (CONTRACT.md): ``ringing -> connected | rejected | missed | ended``, ``connected ->
ended``; everything else is 409. Who may do what:

- ``accept`` / ``reject``: a participant other than the caller (the caller gets 403);
- ``end``: any participant. While the call is still ringing, ending it is not a hang-up of a
  conversation that never happened: by the caller it is a cancelled call, recorded as
  ``missed`` for the others; by anyone else it is declining it, recorded as ``rejected``.
  Once connected, ``end`` by anyone records ``ended`` with ``duration_seconds``.

``ringing -> ended`` is in the table because the contract allows it, but no action leads
there: an unanswered call is missed or rejected, never "ended" with a duration.

A conversation holds one call at a time: starting a call while another rings or is
connected is 409, until that call is ended, rejected or missed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from runtime.calls.models import Call, CallAction, CallStatus, CallType
from runtime.chat.logic import ChatService, new_id
from runtime.chat.models import Conversation, Message, Page
from runtime.common.errors import ConflictError, ForbiddenError, NotFoundError
from runtime.common.identity import Identity

TRANSITIONS: Mapping[CallStatus, frozenset[CallStatus]] = {
    CallStatus.RINGING: frozenset({CallStatus.CONNECTED, CallStatus.REJECTED, CallStatus.MISSED, CallStatus.ENDED}),
    CallStatus.CONNECTED: frozenset({CallStatus.ENDED}),
    CallStatus.REJECTED: frozenset(),
    CallStatus.MISSED: frozenset(),
    CallStatus.ENDED: frozenset(),
}


def target_status(current: CallStatus, action: CallAction, *, by_caller: bool) -> CallStatus:
    """Where ``action`` takes a call that is ``current``: 403 for the caller answering their own
    call, 409 for anything the state does not allow."""
    if action in (CallAction.ACCEPT, CallAction.REJECT) and by_caller:
        raise ForbiddenError(f"you cannot {action} your own call")
    target: CallStatus | None
    if action is CallAction.ACCEPT:
        target = CallStatus.CONNECTED
    elif action is CallAction.REJECT:
        target = CallStatus.REJECTED
    elif current is CallStatus.RINGING:
        target = CallStatus.MISSED if by_caller else CallStatus.REJECTED
    else:
        target = CallStatus.ENDED
    if target not in TRANSITIONS[current]:
        raise ConflictError(f"cannot {action} a call that is {current}")
    return target


def duration_seconds(connected_at_ms: int | None, ended_at_ms: int) -> int:
    """``ended_at - connected_at`` in the whole seconds the call view shows; 0 if never connected."""
    if connected_at_ms is None:
        return 0
    return max(0, ended_at_ms // 1000 - connected_at_ms // 1000)


def format_duration(total_seconds: int) -> str:
    minutes, secs = divmod(total_seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def describe(call: Call) -> str:
    """The text of the `call` message that records ``call`` reaching its current status."""
    kind = f"{call.call_type} call"
    match call.status:
        case CallStatus.RINGING:
            return f"{kind.capitalize()} started"
        case CallStatus.CONNECTED:
            return f"{kind.capitalize()} connected"
        case CallStatus.REJECTED:
            return f"{kind.capitalize()} declined"
        case CallStatus.MISSED:
            return f"Missed {kind}"
        case CallStatus.ENDED:
            return f"{kind.capitalize()} ended after {format_duration(call.duration_seconds or 0)}"


class CallStore(Protocol):
    def start(self, call: Call, conversation: Conversation, message: Message, *, replacing: str | None) -> None: ...

    def get(self, call_id: str) -> Call | None: ...

    def transition(self, call: Call, *, expected: CallStatus, message: Message) -> None: ...

    def list_for_conversation(self, conversation_id: str, *, limit: int, next_token: str | None) -> Page[Call]: ...


class CallService:
    def __init__(
        self,
        chat: ChatService,
        store: CallStore,
        *,
        clock: Callable[[], float] | None = None,
        ids: Callable[[], str] = new_id,
    ) -> None:
        self.chat = chat
        self.store = store
        self.clock = clock or chat.clock
        self.ids = ids

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _message(self, call: Call, sender_id: str, at_ms: int) -> Message:
        return Message(
            message_id=self.ids(),
            conversation_id=call.conversation_id,
            sender_id=sender_id,
            type="call",
            content=describe(call),
            created_at_ms=at_ms,
            call=call.view(),
        )

    def start(self, caller: Identity, conversation_id: str, call_type: CallType) -> Call:
        conversation = self.chat.conversation_for(caller, conversation_id)
        return self.start_in(conversation, caller.user_id, call_type)

    def live_call(self, conversation: Conversation) -> Call | None:
        """The call ringing or connected in ``conversation``, if any.

        The conversation names its call until the call ends through these routes; a call a
        disconnect settled (runtime/realtime) is finished but still named, and counts as none.
        """
        if conversation.active_call_id is None:
            return None
        call = self.store.get(conversation.active_call_id)
        return call if call is not None and not call.status.is_terminal else None

    def start_in(self, conversation: Conversation, caller_id: str, call_type: CallType) -> Call:
        if self.live_call(conversation) is not None:
            raise ConflictError("a call is already in progress in this conversation")
        now = self._now_ms()
        call = Call(
            call_id=self.ids(),
            conversation_id=conversation.conversation_id,
            tenant_id=conversation.tenant_id,
            participant_ids=conversation.participant_ids,
            caller_id=caller_id,
            call_type=call_type,
            status=CallStatus.RINGING,
            created_at_ms=now,
        )
        self.store.start(call, conversation, self._message(call, caller_id, now), replacing=conversation.active_call_id)
        return call

    def call_for(self, caller: Identity, call_id: str) -> Call:
        call = self.store.get(call_id)
        if call is None or call.tenant_id != caller.tenant_id or caller.user_id not in call.participant_ids:
            raise NotFoundError("call not found")
        return call

    def act(self, caller: Identity, call_id: str, action: CallAction) -> Call:
        return self.apply(self.call_for(caller, call_id), caller.user_id, action)

    def apply(self, call: Call, actor_id: str, action: CallAction) -> Call:
        """Move ``call`` by ``action`` of ``actor_id`` (a participant), recording it as a message.

        The write is conditioned on the status read here: of two concurrent accepts, the
        second finds the call no longer ringing and gets 409.
        """
        target = target_status(call.status, action, by_caller=actor_id == call.caller_id)
        now = self._now_ms()
        duration = None if target is CallStatus.CONNECTED else duration_seconds(call.connected_at_ms, now)
        moved = call.moved(target, at_ms=now, by=actor_id, duration_seconds=duration)
        self.store.transition(moved, expected=call.status, message=self._message(moved, actor_id, now))
        return moved

    def call_log(self, caller: Identity, conversation_id: str, *, limit: int, next_token: str | None) -> Page[Call]:
        conversation = self.chat.conversation_for(caller, conversation_id)
        return self.store.list_for_conversation(conversation.conversation_id, limit=limit, next_token=next_token)
