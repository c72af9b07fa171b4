"""The WebSocket use cases: who may connect, what a frame does, what a disconnect settles.

Plain functions and classes over the protocols in ``ports``; nothing here knows Lambda or
boto3, so the same code serves API Gateway, the local runtime and in-memory tests.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from aws_lambda_powertools.metrics import MetricUnit

from runtime.common.errors import ConflictError, DomainError, ForbiddenError, NotFoundError, UnauthorizedError
from runtime.common.identity import Identity
from runtime.common.observability import logger, metrics
from runtime.realtime import frames
from runtime.realtime.delivery import Delivery
from runtime.realtime.exceptions import ConnectionUnknownError, HandshakeRefusedError
from runtime.realtime.models import Call, CallStatus, Connection, Conversation, Message, MessageDraft
from runtime.realtime.ports import CallStore, ChatDirectory, ConnectionStore, MessageWriter, SessionStore

_SESSION_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def now_ms() -> int:
    return int(time.time() * 1000)


# --- $connect --------------------------------------------------------------------------------


def _strip_bearer(value: str | None) -> str | None:
    if value and value[:7].lower() == "bearer ":
        return value[7:].strip() or None
    return value


def connect(
    connection_id: str,
    query: Mapping[str, str],
    *,
    verify: Callable[[Sequence[str | None]], Identity],
    connections: ConnectionStore,
    sessions: SessionStore,
    ttl_seconds: int,
    at_ms: int,
) -> Connection:
    """Register the socket, or raise ``HandshakeRefusedError`` (the handshake is then refused).

    A token (``?token=`` or ``?Authorization=``, with or without ``Bearer``) goes through the
    same verification as every HTTP route; without one, ``?sessionId=`` must name an open QR
    upload session, and the socket is recorded on it.
    """
    token = query.get("token") or _strip_bearer(query.get("Authorization") or query.get("authorization"))
    session_id = query.get("sessionId")
    expires_at = at_ms // 1000 + ttl_seconds
    if token:
        try:
            identity = verify([token])
        except UnauthorizedError as error:
            raise HandshakeRefusedError(error.message) from None
        connection = Connection(
            connection_id=connection_id,
            connected_at_ms=at_ms,
            expires_at=expires_at,
            user_id=identity.user_id,
            tenant_id=identity.tenant_id,
        )
    elif session_id:
        if not _SESSION_ID.match(session_id):
            raise HandshakeRefusedError("sessionId is not valid")
        if not sessions.attach(session_id, connection_id, at_ms // 1000):
            raise HandshakeRefusedError("upload session is unknown, expired or already completed")
        connection = Connection(
            connection_id=connection_id, connected_at_ms=at_ms, expires_at=expires_at, session_id=session_id
        )
    else:
        raise HandshakeRefusedError("missing credentials: connect with ?token= or ?sessionId=")
    connections.add(connection)
    metrics.add_metric(name="ConnectionEstablished", unit=MetricUnit.Count, value=1)
    return connection


# --- $disconnect -----------------------------------------------------------------------------


@dataclass
class DisconnectOutcome:
    connection: Connection | None
    last_of_user: bool = False
    settled: list[Call] = field(default_factory=list)


def disconnect(
    connection_id: str,
    *,
    connections: ConnectionStore,
    sessions: SessionStore,
    chat: ChatDirectory,
    calls: CallStore,
    at_ms: int,
) -> DisconnectOutcome:
    """Forget the socket; if it was the user's last, settle the calls they left hanging."""
    connection = connections.remove(connection_id)
    metrics.add_metric(name="ConnectionDisconnected", unit=MetricUnit.Count, value=1)
    outcome = DisconnectOutcome(connection=connection)
    if connection is None:
        logger.info("disconnect of an unknown connection (already removed or expired)")
        return outcome
    metrics.add_metric(
        name="ConnectionDuration",
        unit=MetricUnit.Seconds,
        value=max(0, at_ms - connection.connected_at_ms) / 1000,
    )
    if connection.session_id:
        sessions.detach(connection.session_id, connection_id)
    if connection.user_id and connection.tenant_id:
        outcome.last_of_user = not connections.has_other_connection(connection.user_id, connection_id)
        if outcome.last_of_user:
            outcome.settled = settle_calls_of(
                connection.user_id, connection.tenant_id, chat=chat, calls=calls, at_ms=at_ms
            )
    return outcome


def _call_message(call: Call, to: CallStatus, by_user: str, at_ms: int, duration: int | None) -> Message:
    kind = call.call_type.capitalize()
    content = f"Missed {call.call_type} call" if to is CallStatus.MISSED else f"{kind} call ended ({duration}s)"
    details: dict[str, object] = {"call_id": call.call_id, "status": to.value, "call_type": call.call_type}
    if duration is not None:
        details["duration_seconds"] = duration
    return Message(
        message_id=str(uuid.uuid4()),
        conversation_id=call.conversation_id,
        sender_id=by_user,
        type="call",
        content=content,
        created_at_ms=at_ms,
        tenant_id=call.tenant_id,
        extra={"call": details},
    )


def settle_calls_of(user_id: str, tenant_id: str, *, chat: ChatDirectory, calls: CallStore, at_ms: int) -> list[Call]:
    """A call the user started that still rings ends ``missed``; one they were in ends with its duration.

    Each transition is conditional on the status it was read in, so a concurrent accept / end
    from HTTP wins cleanly and this one does nothing. The other participants hear of it through
    the one delivery path: the call item's and the call message's stream records.
    """
    settled: list[Call] = []
    for ref in chat.active_calls_of(user_id):
        call = chat.call(ref.call_id)
        if call is None or not call.status.is_live:
            chat.release_marker(user_id, ref.call_id)
            continue
        if call.tenant_id != tenant_id:
            logger.warning("active-call marker points at another tenant's call", extra={"call_id": call.call_id})
            continue
        if call.status is CallStatus.RINGING and call.caller_id == user_id:
            to, duration = CallStatus.MISSED, None
        elif call.status is CallStatus.CONNECTED and call.in_call(user_id):
            started = call.connected_at_ms if call.connected_at_ms is not None else at_ms
            to, duration = CallStatus.ENDED, max(0, (at_ms - started) // 1000)
        else:
            continue
        conversation = chat.conversation(call.conversation_id)
        if conversation is None or conversation.tenant_id != tenant_id:
            logger.warning("call without its conversation", extra={"call_id": call.call_id})
            continue
        won = calls.settle(
            call,
            to=to,
            by_user=user_id,
            now_ms=at_ms,
            duration_seconds=duration,
            message=_call_message(call, to, user_id, at_ms, duration),
            conversation=conversation,
        )
        if won:
            logger.info("settled a call on disconnect", extra={"call_id": call.call_id, "status": to.value})
            settled.append(call)
    return settled


# --- $default: the frame router --------------------------------------------------------------


class Router:
    """Turns one client frame into its effect and the frame answered to the sender."""

    def __init__(
        self,
        *,
        connections: ConnectionStore,
        chat: ChatDirectory,
        writer: MessageWriter,
        delivery: Delivery,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._connections = connections
        self._chat = chat
        self._writer = writer
        self._delivery = delivery
        self._clock = clock

    def handle(self, connection_id: str, body: str | None) -> frames.ErrorFrame | frames.AckFrame | frames.PongFrame:
        request_id = frames.request_id_of(body)
        try:
            frame = frames.parse_frame(body)
            if isinstance(frame, frames.Ping):
                return frames.PongFrame(request_id=frame.request_id, timestamp=self._clock() // 1000)
            connection = self._connections.get(connection_id)
            if connection is None:
                raise ConnectionUnknownError("this connection is not registered; reconnect")
            logger.append_keys(user_id=connection.user_id, tenant_id=connection.tenant_id)
            if not connection.is_user:
                raise ForbiddenError(f"{frame.action} needs a signed-in connection")
            if isinstance(frame, frames.SendMessage):
                return self._send_message(connection, frame)
            if isinstance(frame, frames.Subscribe):
                self._conversation_for(connection, frame.conversation_id)
                self._connections.subscribe(connection, frame.conversation_id)
                return frames.AckFrame(
                    for_action=frame.action, request_id=frame.request_id, conversation_id=frame.conversation_id
                )
            if isinstance(frame, frames.Unsubscribe):
                self._connections.unsubscribe(connection_id, frame.conversation_id)
                return frames.AckFrame(
                    for_action=frame.action, request_id=frame.request_id, conversation_id=frame.conversation_id
                )
            return self._signal(connection, frame)
        except DomainError as error:
            if error.status >= 500:
                logger.warning("dependency unavailable", extra={"error": error.message})
            return frames.ErrorFrame(error=error.message, request_id=request_id)
        except Exception:
            logger.exception("unhandled error in frame router")
            return frames.ErrorFrame(error="internal error, please retry", request_id=request_id)

    def _conversation_for(
        self, connection: Connection, conversation_id: str, *, source: ChatDirectory | MessageWriter | None = None
    ) -> Conversation:
        conversation = (source or self._chat).conversation(conversation_id)
        # Another tenant's conversation, or one the user is not in, does not exist for them.
        if conversation is None or not conversation.admits(connection.user_id, connection.tenant_id):
            raise NotFoundError("conversation not found")
        return conversation

    def _send_message(self, connection: Connection, frame: frames.SendMessage) -> frames.AckFrame:
        # Read through the writer: it writes from the same read (one GetItem per message, not two).
        conversation = self._conversation_for(connection, frame.conversation_id, source=self._writer)
        assert connection.user_id is not None
        message = self._writer.write(
            MessageDraft(
                conversation_id=conversation.conversation_id,
                sender_id=connection.user_id,
                tenant_id=conversation.tenant_id,
                content=frame.content,
                type=frame.type,
                client_message_id=frame.client_message_id,
            ),
            conversation,
            now_ms=self._clock(),
        )
        return frames.AckFrame(
            for_action=frame.action,
            request_id=frame.request_id,
            conversation_id=message.conversation_id,
            client_message_id=frame.client_message_id,
            message=message.to_public(),
        )

    def _signal(self, connection: Connection, frame: frames.Signal) -> frames.AckFrame:
        assert connection.user_id is not None
        assert connection.tenant_id is not None
        call = self._chat.call(frame.call_id)
        if call is None or call.tenant_id != connection.tenant_id:
            raise NotFoundError("call not found")
        conversation = self._chat.conversation(call.conversation_id)
        if conversation is None or not conversation.admits(connection.user_id, connection.tenant_id):
            raise NotFoundError("call not found")
        if not call.status.is_live:
            raise ConflictError(f"call is {call.status.value}; signalling is over")
        # Once answered, the call is between the caller and whoever answered; before, anyone invited.
        if call.status is CallStatus.CONNECTED and call.accepted_by:
            members: tuple[str, ...] = (call.caller_id, call.accepted_by)
        else:
            members = conversation.participant_ids
        if connection.user_id not in members:
            raise ForbiddenError("you are not in this call")
        recipients = [user for user in members if user != connection.user_id]
        data = frames.SignalFrame(
            call_id=call.call_id, signal_type=frame.signal_type, payload=frame.payload, from_user_id=connection.user_id
        ).encode()
        result = self._delivery.to_users(recipients, conversation.tenant_id, data)
        return frames.AckFrame(
            for_action=frame.action, request_id=frame.request_id, call_id=call.call_id, delivered=len(result.delivered)
        )
