"""`sendMessage` through the chat routes' own service: one write path for HTTP and WebSocket.

The router proves the sender belongs to the conversation from ``conversation()`` here, and
``write`` uses that same read (one consistent ``GetItem`` per frame, not one for the check and
another for the write; the writer lives for one invocation). The chat service then writes
exactly what `POST /conversations/{id}/messages` writes (the ``client_message_id`` claim, the
message, every membership's activity) in its one transaction, so a message sent on either side
is the same item and reaches every socket through the table's stream.
"""

from __future__ import annotations

from runtime.chat.logic import ChatService
from runtime.chat.models import Conversation as ChatConversation
from runtime.common.errors import NotFoundError
from runtime.realtime.models import Conversation, Message, MessageDraft

_TYPES = ("text", "call", "system")


class ChatServiceWriter:
    def __init__(self, service: ChatService) -> None:
        self._service = service
        self._read: dict[str, ChatConversation | None] = {}

    def conversation(self, conversation_id: str) -> Conversation | None:
        """The router's view of the conversation, read once for both the check and the write."""
        stored = self._stored(conversation_id)
        if stored is None:
            return None
        return Conversation(
            conversation_id=stored.conversation_id,
            tenant_id=stored.tenant_id,
            participant_ids=tuple(stored.participant_ids),
        )

    def _stored(self, conversation_id: str) -> ChatConversation | None:
        if conversation_id not in self._read:
            self._read[conversation_id] = self._service.store.get_conversation(conversation_id)
        return self._read[conversation_id]

    def write(self, draft: MessageDraft, conversation: Conversation, *, now_ms: int) -> Message:
        # The chat item carries more than the router's view (title, booking, active call): the
        # write uses the chat store's item, the one ``conversation()`` read (read now if it did not).
        stored = self._stored(conversation.conversation_id)
        if stored is None or stored.tenant_id != conversation.tenant_id:
            raise NotFoundError("conversation not found")
        message_type = draft.type if draft.type in _TYPES else "text"
        message, _ = self._service.post(
            stored,
            draft.sender_id,
            draft.content,
            message_type=message_type,  # type: ignore[arg-type]
            client_message_id=draft.client_message_id,
        )
        return Message(
            message_id=message.message_id,
            conversation_id=message.conversation_id,
            sender_id=message.sender_id,
            type=message.type,
            content=message.content,
            created_at_ms=message.created_at_ms,
            tenant_id=stored.tenant_id,
            client_message_id=message.client_message_id,
        )
