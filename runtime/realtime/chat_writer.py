"""`sendMessage` through the chat routes' own service: one write path for HTTP and WebSocket.

The router has already proven the sender belongs to the conversation (from its own read); the
chat service then writes exactly what `POST /conversations/{id}/messages` writes (the
``client_message_id`` claim, the message, every membership's activity) in its one
transaction, so a message sent on either side is the same item and reaches every socket
through the table's stream.
"""

from __future__ import annotations

from runtime.chat.logic import ChatService
from runtime.common.errors import NotFoundError
from runtime.realtime.models import Conversation, Message, MessageDraft

_TYPES = ("text", "call", "system")


class ChatServiceWriter:
    def __init__(self, service: ChatService) -> None:
        self._service = service

    def write(self, draft: MessageDraft, conversation: Conversation, *, now_ms: int) -> Message:
        # The chat item carries more than the router's view (title, booking, active call), so the
        # conversation is read back from the chat store rather than rebuilt from that view.
        stored = self._service.store.get_conversation(conversation.conversation_id)
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
