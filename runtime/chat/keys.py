"""The chat table's key layout (docs/data-model.md), in one place for every module that reads or writes it.

The chat, calls and rides repositories write these items and the realtime side reads them (and
writes a few: settled calls, active-call markers); all of them build keys here, so the layout
cannot drift between writer and reader.
"""

from __future__ import annotations

META = "META"
CALL_SK = "CALL"
MSG_PREFIX = "MSG#"
CMID_PREFIX = "CMID#"
CALL_PK_PREFIX = "CALL#"
ACTIVE_CALL_PREFIX = "ACTIVECALL#"
# Markers outlive any real call; the TTL only sweeps what a crashed writer left behind.
ACTIVE_CALL_MARKER_TTL_SECONDS = 24 * 3600


def conversation_pk(conversation_id: str) -> str:
    return f"CONV#{conversation_id}"


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def message_sk(created_at_ms: int, message_id: str) -> str:
    return f"{MSG_PREFIX}{created_at_ms:013d}#{message_id}"


def type_pk(conversation_id: str, message_type: str) -> str:
    return f"CONV#{conversation_id}#TYPE#{message_type}"


def client_message_sk(sender_id: str, client_message_id: str) -> str:
    return f"{CMID_PREFIX}{sender_id}#{client_message_id}"


def activity_sk(activity_ms: int, conversation_id: str) -> str:
    return f"{activity_ms:013d}#{conversation_id}"


def call_pk(call_id: str) -> str:
    return f"{CALL_PK_PREFIX}{call_id}"


def active_call_sk(call_id: str) -> str:
    return f"{ACTIVE_CALL_PREFIX}{call_id}"
