"""Conversations and messages as the caller may see them: tenant and participant rules live here.

Nothing here knows of Lambda, HTTP or boto3; storage comes in through the two protocols.
Anything the caller may not see is "not found", exactly like something that does not exist,
so ids of other tenants and other people's conversations leak nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from runtime.chat.models import (
    MAX_PARTICIPANTS,
    Conversation,
    ConversationSummary,
    Message,
    MessageType,
    Page,
    is_uuid,
)
from runtime.common.errors import ConfigurationError, NotFoundError, UnprocessableError
from runtime.common.identity import Identity


class ChatStore(Protocol):
    def create_conversation(self, conversation: Conversation, *, activity_ms: int | None = None) -> None: ...

    def get_conversation(self, conversation_id: str) -> Conversation | None: ...

    def list_conversations(self, user_id: str, *, limit: int, next_token: str | None) -> Page[ConversationSummary]: ...

    def add_message(self, conversation: Conversation, message: Message) -> tuple[Message, bool]: ...

    def list_messages(
        self, conversation_id: str, *, limit: int, next_token: str | None, message_type: str | None = None
    ) -> Page[Message]: ...


class UserLookup(Protocol):
    def members_of(self, tenant_id: str, user_ids: Iterable[str]) -> set[str]: ...


def new_id() -> str:
    return str(uuid.uuid4())


def path_id(value: str, noun: str) -> str:
    """A path id that is not a UUID cannot name anything: "not found", before any read."""
    if not is_uuid(value):
        raise NotFoundError(f"{noun} not found")
    return value.lower()


def unique_participants(caller_id: str, participant_ids: Sequence[str]) -> tuple[str, ...]:
    """The caller first, then the others in the order given, each once."""
    return tuple(dict.fromkeys([caller_id, *participant_ids]))


class ChatService:
    def __init__(
        self,
        store: ChatStore,
        users: UserLookup | None = None,
        *,
        clock: Callable[[], float] = time.time,
        ids: Callable[[], str] = new_id,
    ) -> None:
        self.store = store
        self.users = users
        self.clock = clock
        self.ids = ids

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def require_users(self, tenant_id: str, user_ids: Sequence[str]) -> None:
        """Every id must be a user of ``tenant_id``; an unknown id and another tenant's are the same 404."""
        if self.users is None:
            raise ConfigurationError("this function has no access to users")
        if set(user_ids) - self.users.members_of(tenant_id, user_ids):
            raise NotFoundError("user not found")

    def create_conversation(self, caller: Identity, participant_ids: Sequence[str], title: str | None) -> Conversation:
        participants = unique_participants(caller.user_id, participant_ids)
        if len(participants) < 2:
            raise UnprocessableError("participant_ids: name at least one participant besides yourself")
        if len(participants) > MAX_PARTICIPANTS:
            raise UnprocessableError(f"participant_ids: at most {MAX_PARTICIPANTS} participants")
        self.require_users(caller.tenant_id, participants[1:])
        now_ms = self.now_ms()
        conversation = Conversation(
            conversation_id=self.ids(),
            tenant_id=caller.tenant_id,
            participant_ids=participants,
            title=title or None,
            created_at=now_ms // 1000,
        )
        self.store.create_conversation(conversation, activity_ms=now_ms)
        return conversation

    def conversation_for(self, caller: Identity, conversation_id: str) -> Conversation:
        """The conversation if the caller takes part in it; otherwise, whatever the reason, 404."""
        conversation = self.store.get_conversation(conversation_id)
        if (
            conversation is None
            or conversation.tenant_id != caller.tenant_id
            or not conversation.has_participant(caller.user_id)
        ):
            raise NotFoundError("conversation not found")
        return conversation

    def list_conversations(self, caller: Identity, *, limit: int, next_token: str | None) -> Page[ConversationSummary]:
        page = self.store.list_conversations(caller.user_id, limit=limit, next_token=next_token)
        # Memberships are keyed by user id alone; the tenant check keeps a reused id inside its tenant.
        items = [s for s in page.items if s.conversation.tenant_id == caller.tenant_id]
        return Page(items=items, next_token=page.next_token)

    def post(
        self,
        conversation: Conversation,
        sender_id: str,
        content: str,
        *,
        message_type: MessageType = "text",
        client_message_id: str | None = None,
    ) -> tuple[Message, bool]:
        """Add a message to a conversation the sender is known to take part in.

        Returns the message and whether it is new (False: the sender already used
        ``client_message_id`` here, and this is that first message).
        """
        message = Message(
            message_id=self.ids(),
            conversation_id=conversation.conversation_id,
            sender_id=sender_id,
            type=message_type,
            content=content,
            created_at_ms=self.now_ms(),
            client_message_id=client_message_id,
        )
        return self.store.add_message(conversation, message)

    def send_message(
        self,
        caller: Identity,
        conversation_id: str,
        content: str,
        *,
        message_type: MessageType = "text",
        client_message_id: str | None = None,
    ) -> tuple[Message, bool]:
        conversation = self.conversation_for(caller, conversation_id)
        return self.post(
            conversation, caller.user_id, content, message_type=message_type, client_message_id=client_message_id
        )

    def list_messages(
        self,
        caller: Identity,
        conversation_id: str,
        *,
        limit: int,
        next_token: str | None,
        message_type: MessageType | None = None,
    ) -> Page[Message]:
        conversation = self.conversation_for(caller, conversation_id)
        return self.history(conversation, limit=limit, next_token=next_token, message_type=message_type)

    def history(
        self, conversation: Conversation, *, limit: int, next_token: str | None, message_type: MessageType | None
    ) -> Page[Message]:
        return self.store.list_messages(
            conversation.conversation_id, limit=limit, next_token=next_token, message_type=message_type
        )
