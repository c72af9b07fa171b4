"""The seam through which `sendMessage` persists a message exactly as `POST .../messages` does.

``runtime.realtime.ports.MessageWriter`` is the whole interface the router depends on (one
method, ``write``). ``DynamoMessageWriter`` is a minimal implementation of docs/data-model.md's
write (claim the ``client_message_id``, put the message, bump every membership's activity, all
in one ``TransactWriteItems``); the chat routes' repository can replace it one for one.
Delivery is not its concern: the new item reaches every socket through the table's stream,
whichever side wrote it.
"""

from __future__ import annotations

import uuid
from typing import Any

from botocore.exceptions import ClientError

from runtime.common.dynamo import error_code, from_item, raise_for_client_error, to_item
from runtime.common.errors import ConflictError
from runtime.common.names import Attr
from runtime.realtime.chat_items import claim_sk, conversation_pk, message_from_item, message_item, message_sk
from runtime.realtime.chat_store import activity_update, cancellation_codes
from runtime.realtime.models import Conversation, Message, MessageDraft


class DynamoMessageWriter:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def write(self, draft: MessageDraft, conversation: Conversation, *, now_ms: int) -> Message:
        message = Message(
            message_id=str(uuid.uuid4()),
            conversation_id=draft.conversation_id,
            sender_id=draft.sender_id,
            type=draft.type,
            content=draft.content,
            created_at_ms=now_ms,
            tenant_id=conversation.tenant_id,
            client_message_id=draft.client_message_id,
        )
        items: list[dict[str, Any]] = []
        if draft.client_message_id:
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(
                            {
                                Attr.PK: conversation_pk(draft.conversation_id),
                                Attr.SK: claim_sk(draft.sender_id, draft.client_message_id),
                                "message_id": message.message_id,
                                "created_at_ms": message.created_at_ms,
                            }
                        ),
                        "ConditionExpression": "attribute_not_exists(#pk)",
                        "ExpressionAttributeNames": {"#pk": Attr.PK},
                    }
                }
            )
        items.append(
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(message_item(message)),
                    "ConditionExpression": "attribute_not_exists(#pk)",
                    "ExpressionAttributeNames": {"#pk": Attr.PK},
                }
            }
        )
        items += [
            activity_update(self._table, participant, draft.conversation_id, now_ms)
            for participant in conversation.participant_ids
        ]
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if (
                draft.client_message_id
                and error_code(error) == "TransactionCanceledException"
                and cancellation_codes(error)[:1] == ["ConditionalCheckFailed"]
            ):
                return self._first(draft)
            raise_for_client_error(error)
        return message

    def _first(self, draft: MessageDraft) -> Message:
        """The message that won the claim for this ``client_message_id``."""
        assert draft.client_message_id is not None
        pk = conversation_pk(draft.conversation_id)
        claim = self._get(pk, claim_sk(draft.sender_id, draft.client_message_id))
        if claim is None:
            raise ConflictError("message is being written, please retry")
        first = self._get(pk, message_sk(int(claim["created_at_ms"]), str(claim["message_id"])))
        if first is None:
            raise ConflictError("message is being written, please retry")
        return message_from_item(first)

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        try:
            response = self._client.get_item(
                TableName=self._table, Key=to_item({Attr.PK: pk, Attr.SK: sk}), ConsistentRead=True
            )
        except ClientError as error:
            raise_for_client_error(error)
        return from_item(response.get("Item"))
