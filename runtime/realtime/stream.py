"""The one delivery path: chat-table stream records in, frames on every participant's sockets out.

A new message (``MSG#`` item inserted) becomes a ``message`` frame; a call item inserted or
changing status becomes a ``call`` frame. Whoever wrote the item (HTTP, WebSocket, a
disconnect) is irrelevant here, so nothing is ever delivered twice by design or missed by a
second path.

Records are handled in stream order. Once a record of a conversation fails, the later records
of that conversation in the batch are failed too without being sent: Lambda retries from the
first failure, so a conversation's frames never overtake each other. A record that can never
be delivered (a malformed item, a cross-tenant reference) is reported like any failure; the
event source mapping's bounded retries and bisection isolate it and park it in the DLQ while
the rest of the shard moves on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime.chat.keys import CALL_PK_PREFIX, CALL_SK, MSG_PREFIX
from runtime.common.dynamo import from_item
from runtime.common.names import Attr
from runtime.common.observability import logger
from runtime.realtime.chat_items import call_from_item, message_from_item
from runtime.realtime.delivery import Delivery
from runtime.realtime.exceptions import DeliveryFailedError, PoisonRecordError
from runtime.realtime.frames import CallFrame, MessageFrame
from runtime.realtime.models import Conversation
from runtime.realtime.ports import ChatDirectory, ConnectionStore


@dataclass(frozen=True)
class StreamChange:
    """The parts of a DynamoDB stream record this processor reads, as plain values."""

    event_name: str
    pk: str
    sk: str
    new_image: dict[str, Any] | None
    old_image: dict[str, Any] | None

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> StreamChange:
        body = record.get("dynamodb")
        if not isinstance(body, dict) or not isinstance(body.get("Keys"), dict):
            raise PoisonRecordError("stream record without keys")
        try:
            keys = from_item(body["Keys"]) or {}
            new_image = from_item(body.get("NewImage"))
            old_image = from_item(body.get("OldImage"))
        except (TypeError, ValueError, KeyError, AttributeError) as error:
            raise PoisonRecordError(f"stream record images do not decode: {type(error).__name__}") from None
        return cls(
            event_name=str(record.get("eventName", "")),
            pk=str(keys.get(Attr.PK, "")),
            sk=str(keys.get(Attr.SK, "")),
            new_image=new_image,
            old_image=old_image,
        )

    @property
    def ordering_key(self) -> str:
        """Records sharing this key must reach sockets in stream order (a conversation, else the item)."""
        for image in (self.new_image, self.old_image):
            if image and isinstance(image.get("conversation_id"), str):
                return f"CONV#{image['conversation_id']}"
        return self.pk


class StreamBatch:
    """One invocation's worth of records; caches conversations and sockets for its lifetime.

    ``prefetch`` reads the conversations of the whole batch in one ``BatchGetItem`` first: a
    busy table's batch names many conversations, and one read each was a quarter of the
    processor's DynamoDB calls.
    """

    def __init__(self, *, chat: ChatDirectory, connections: ConnectionStore, delivery: Delivery) -> None:
        self._chat = chat
        self._connections = connections
        self._delivery = delivery
        self._conversations: dict[str, Conversation | None] = {}
        self._subscribers: dict[str, list[dict[str, Any]]] = {}
        self._blocked: set[str] = set()

    def prefetch(self, records: list[dict[str, Any]]) -> None:
        """Read the conversations of every record in one batched call instead of one read each.

        An optimisation only: whatever it cannot read (an error, a key left unprocessed) each
        record reads for itself, and fails or succeeds on its own as before.
        """
        wanted: list[str] = []
        for record in records:
            try:
                change = StreamChange.from_record(record)
            except PoisonRecordError:
                continue  # reported when its turn comes
            conversation_id = (change.new_image or {}).get("conversation_id")
            if isinstance(conversation_id, str) and conversation_id and self._delivers(change):
                wanted.append(conversation_id)
        wanted = [cid for cid in dict.fromkeys(wanted) if cid not in self._conversations]
        if not wanted:
            return
        try:
            self._conversations.update(self._chat.conversations(wanted))
        except Exception:
            logger.warning("conversations not read in one batch; reading them one by one", exc_info=True)

    def handle(self, record: dict[str, Any]) -> int:
        """Deliver one record; the number of sockets reached. Raises to report the record failed."""
        try:
            change = StreamChange.from_record(record)
        except PoisonRecordError:
            logger.error("poison stream record", extra={"event_id": record.get("eventID")})
            raise
        key = change.ordering_key
        if key in self._blocked:
            raise DeliveryFailedError("an earlier record of this conversation failed; retried in order")
        try:
            return self._deliver(change)
        except Exception:
            self._blocked.add(key)
            logger.exception("stream record not delivered", extra={"ordering_key": key, "sk": change.sk})
            raise

    @staticmethod
    def _is_message(change: StreamChange) -> bool:
        return change.sk.startswith(MSG_PREFIX) and change.event_name == "INSERT"

    @staticmethod
    def _is_call(change: StreamChange) -> bool:
        return (
            change.pk.startswith(CALL_PK_PREFIX) and change.sk == CALL_SK and change.event_name in ("INSERT", "MODIFY")
        )

    def _delivers(self, change: StreamChange) -> bool:
        return self._is_message(change) or self._is_call(change)

    def _deliver(self, change: StreamChange) -> int:
        if self._is_message(change):
            return self._deliver_message(change)
        if self._is_call(change):
            return self._deliver_call(change)
        return 0  # an edit, a delete or another item kind: nothing to push

    def _deliver_message(self, change: StreamChange) -> int:
        if change.new_image is None:
            raise PoisonRecordError("message record without its new image")
        message = message_from_item(change.new_image)
        conversation = self._conversation(message.conversation_id)
        if message.tenant_id and message.tenant_id != conversation.tenant_id:
            raise PoisonRecordError("message and conversation belong to different tenants")
        data = MessageFrame(message=message.to_public()).encode()
        return self._to_conversation(conversation, data)

    def _deliver_call(self, change: StreamChange) -> int:
        if change.new_image is None:
            raise PoisonRecordError("call record without its new image")
        call = call_from_item(change.new_image)
        if change.event_name == "MODIFY" and (change.old_image or {}).get("status") == call.status.value:
            return 0  # a change that is not a transition (e.g. a marker field): clients saw this state
        conversation = self._conversation(call.conversation_id)
        if call.tenant_id != conversation.tenant_id:
            raise PoisonRecordError("call and conversation belong to different tenants")
        view = {k: v for k, v in call.item.items() if k != "tenant_id"}
        return self._to_conversation(conversation, CallFrame(call=view).encode())

    def _conversation(self, conversation_id: str) -> Conversation:
        if conversation_id not in self._conversations:
            self._conversations[conversation_id] = self._chat.conversation(conversation_id)
        conversation = self._conversations[conversation_id]
        if conversation is None:
            raise PoisonRecordError("record refers to a conversation that does not exist")
        return conversation

    def _to_conversation(self, conversation: Conversation, data: bytes) -> int:
        """Every socket of every participant, plus subscriptions that still belong to a participant."""
        cid = conversation.conversation_id
        if cid not in self._subscribers:
            self._subscribers[cid] = self._connections.subscribers(cid)
        participants = set(conversation.participant_ids)
        also = [
            str(sub["connection_id"])
            for sub in self._subscribers[cid]
            if sub.get("subscriber_id") in participants and sub.get("tenant_id") == conversation.tenant_id
        ]
        result = self._delivery.to_users(conversation.participant_ids, conversation.tenant_id, data, also=also)
        if result.gone:
            gone = set(result.gone)
            self._subscribers[cid] = [s for s in self._subscribers[cid] if s.get("connection_id") not in gone]
        if result.failed:
            raise DeliveryFailedError(f"{len(result.failed)} connection(s) unreachable after retries")
        return len(result.delivered)
