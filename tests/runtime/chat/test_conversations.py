"""Conversations and messages through the chat function, against tables built from the stacks."""

from __future__ import annotations

import uuid

from runtime.chat.models import MAX_CONTENT_CHARS
from tests.runtime.chat.conftest import OTHER_TENANT, Api


def _ids(reply_items: list[dict[str, object]], key: str) -> list[object]:
    return [item[key] for item in reply_items]


def test_create_conversation_includes_the_caller_once(api: Api) -> None:
    alice, bob, carol = api.user(), api.user(), api.user()
    reply = api.chat(
        "POST",
        "/conversations",
        as_user=alice,
        body={"participant_ids": [bob.user_id, alice.user_id, carol.user_id.upper(), bob.user_id], "title": "  Team  "},
        headers={"origin": "https://app.example"},
    )
    assert reply.status == 201
    assert set(reply.body) == {"conversation_id", "participant_ids", "title", "created_at"}
    assert reply.body["participant_ids"] == [alice.user_id, bob.user_id, carol.user_id]
    assert reply.body["title"] == "Team"
    assert uuid.UUID(reply.body["conversation_id"])
    assert isinstance(reply.body["created_at"], int)
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    # Every participant sees it.
    for user in (alice, bob, carol):
        listed = api.chat("GET", "/conversations", as_user=user).body["items"]
        assert _ids(listed, "conversation_id") == [reply.body["conversation_id"]]


def test_title_is_optional(api: Api) -> None:
    alice, bob = api.user(), api.user()
    assert api.conversation(alice, bob)["title"] is None


def test_only_yourself_is_not_a_conversation(api: Api) -> None:
    alice = api.user()
    reply = api.chat("POST", "/conversations", as_user=alice, body={"participant_ids": [alice.user_id]})
    assert reply.status == 422
    assert api.table_items() == []


def test_unknown_participant_or_other_tenants_user_is_404_and_creates_nothing(api: Api) -> None:
    alice, bob, stranger = api.user(), api.user(), api.user(OTHER_TENANT)
    for missing in (str(uuid.uuid4()), stranger.user_id):
        reply = api.chat("POST", "/conversations", as_user=alice, body={"participant_ids": [bob.user_id, missing]})
        assert reply.status == 404
        assert reply.body == {"error": "user not found"}
    assert api.table_items() == []


def test_participant_ids_must_be_uuids_and_bounded(api: Api) -> None:
    alice = api.user()
    bodies: list[dict[str, object]] = [
        {"participant_ids": ["bob"]},
        {"participant_ids": []},
        {"participant_ids": [str(uuid.uuid4()) for _ in range(50)]},
        {"participant_ids": [str(uuid.uuid4())], "title": "x" * 201},
    ]
    for body in bodies:
        assert api.chat("POST", "/conversations", as_user=alice, body=body).status == 422, body


def test_conversations_are_listed_newest_activity_first(api: Api) -> None:
    alice, bob, carol = api.user(), api.user(), api.user()
    first = api.conversation(alice, bob)["conversation_id"]
    second = api.conversation(alice, carol)["conversation_id"]
    third = api.conversation(bob, carol)["conversation_id"]
    assert _ids(api.chat("GET", "/conversations", as_user=alice).body["items"], "conversation_id") == [second, first]
    # A message moves its conversation to the top for every participant.
    assert api.message(bob, first, "bump").status == 201
    alice_list = api.chat("GET", "/conversations", as_user=alice).body["items"]
    assert _ids(alice_list, "conversation_id") == [first, second]
    assert alice_list[0]["last_activity_at_ms"] >= alice_list[1]["last_activity_at_ms"]
    assert _ids(api.chat("GET", "/conversations", as_user=bob).body["items"], "conversation_id") == [first, third]


def test_conversation_pages_round_trip(api: Api) -> None:
    alice = api.user()
    others = [api.user() for _ in range(5)]
    created = [api.conversation(alice, other)["conversation_id"] for other in others]
    seen: list[object] = []
    token = None
    pages = 0
    while True:
        query = {"limit": "2", **({"next_token": token} if token else {})}
        reply = api.chat("GET", "/conversations", as_user=alice, query=query)
        assert reply.status == 200
        assert len(reply.body["items"]) <= 2
        seen += _ids(reply.body["items"], "conversation_id")
        pages += 1
        token = reply.body["next_token"]
        if token is None:
            break
    assert pages == 3
    assert seen == list(reversed(created))


def test_default_page_is_20(api: Api) -> None:
    alice, bob = api.user(), api.user()
    conversation = api.conversation(alice, bob)["conversation_id"]
    for i in range(21):
        api.message(alice, conversation, f"m{i}")
    page = api.chat("GET", f"/conversations/{conversation}/messages", as_user=bob).body
    assert len(page["items"]) == 20
    assert page["next_token"] is not None


def test_other_users_token_cannot_page_my_conversations(api: Api) -> None:
    # A token names a partition; replaying Alice's token as Bob is refused, not served.
    alice, bob, carol = api.user(), api.user(), api.user()
    for other in (bob, carol):
        api.conversation(alice, other)
    token = api.chat("GET", "/conversations", as_user=alice, query={"limit": "1"}).body["next_token"]
    assert token
    reply = api.chat("GET", "/conversations", as_user=bob, query={"next_token": token})
    assert reply.status == 400


def test_bad_next_tokens_are_400(api: Api) -> None:
    alice, bob = api.user(), api.user()
    conversation = api.conversation(alice, bob)["conversation_id"]
    api.message(alice, conversation, "one")
    api.message(alice, conversation, "two")
    messages_token = api.chat(
        "GET", f"/conversations/{conversation}/messages", as_user=alice, query={"limit": "1"}
    ).body["next_token"]
    for path in ("/conversations", f"/conversations/{conversation}/messages"):
        for token in ("garbage!", "e30", "W10", "eyJwayI6MX0", "x" * 5000):
            reply = api.chat("GET", path, as_user=alice, query={"next_token": token})
            assert reply.status in (400, 422), (path, token, reply.body)
            assert reply.status == (422 if len(token) > 4096 else 400)
    # A messages token is not a conversations token, nor a token for the type-filtered query.
    assert api.chat("GET", "/conversations", as_user=alice, query={"next_token": messages_token}).status == 400
    typed = api.chat(
        "GET",
        f"/conversations/{conversation}/messages",
        as_user=alice,
        query={"next_token": messages_token, "type": "text"},
    )
    assert typed.status == 400


def test_send_and_read_messages_newest_first(api: Api) -> None:
    alice, bob = api.user(), api.user()
    conversation = api.conversation(alice, bob)["conversation_id"]
    sent = []
    for i in range(5):
        reply = api.message(alice if i % 2 == 0 else bob, conversation, f"message {i}")
        assert reply.status == 201
        assert set(reply.body) == {"message_id", "conversation_id", "sender_id", "type", "content", "created_at_ms"}
        assert reply.body["type"] == "text"
        assert reply.body["conversation_id"] == conversation
        sent.append(reply.body)
    assert sent[1]["sender_id"] == bob.user_id
    read: list[dict[str, object]] = []
    token = None
    while True:
        query = {"limit": "2", **({"next_token": token} if token else {})}
        page = api.chat("GET", f"/conversations/{conversation}/messages", as_user=bob, query=query).body
        read += page["items"]
        token = page["next_token"]
        if token is None:
            break
    assert read == list(reversed(sent))


def test_message_content_is_bounded(api: Api) -> None:
    alice, bob = api.user(), api.user()
    conversation = api.conversation(alice, bob)["conversation_id"]
    before = api.table_items()
    for content in ("", "   \n", "x" * (MAX_CONTENT_CHARS + 1)):
        assert api.message(alice, conversation, content).status == 422
    assert api.table_items() == before
    assert api.message(alice, conversation, "x" * MAX_CONTENT_CHARS).status == 201


def test_clients_cannot_write_call_or_system_messages(api: Api) -> None:
    alice, bob = api.user(), api.user()
    conversation = api.conversation(alice, bob)["conversation_id"]
    before = api.table_items()
    for kind in ("call", "system", "bogus"):
        assert api.message(alice, conversation, "forged", type=kind).status == 422
    assert api.table_items() == before


def test_repeated_client_message_id_returns_the_first_message(api: Api) -> None:
    alice, bob = api.user(), api.user()
    conversation = api.conversation(alice, bob)["conversation_id"]
    first = api.message(alice, conversation, "once", client_message_id="c-1")
    assert first.status == 201
    after_first = api.table_items()
    again = api.message(alice, conversation, "once (retried)", client_message_id="c-1")
    assert again.status == 200
    assert again.body == first.body
    assert api.table_items() == after_first, "a retry writes nothing"
    # The id is the sender's own: Bob may use the same one for his own message.
    bobs = api.message(bob, conversation, "mine", client_message_id="c-1")
    assert bobs.status == 201
    assert bobs.body["message_id"] != first.body["message_id"]
    items = api.chat("GET", f"/conversations/{conversation}/messages", as_user=alice).body["items"]
    assert [m["content"] for m in items] == ["mine", "once"]


def test_client_message_id_is_validated(api: Api) -> None:
    alice, bob = api.user(), api.user()
    conversation = api.conversation(alice, bob)["conversation_id"]
    for bad in ("", "has space", "a#b", "x" * 129):
        assert api.message(alice, conversation, "hi", client_message_id=bad).status == 422, bad
    assert api.message(alice, conversation, "hi", client_message_id=42).status == 400


def test_type_filter_uses_only_that_type(api: Api) -> None:
    alice, bob = api.user(), api.user()
    conversation = api.conversation(alice, bob)["conversation_id"]
    api.message(alice, conversation, "before the call")
    call = api.calls("POST", f"/conversations/{conversation}/calls", as_user=alice, body={"call_type": "voice"})
    api.calls("POST", f"/calls/{call.body['call_id']}/reject", as_user=bob)
    api.message(bob, conversation, "after the call")
    path = f"/conversations/{conversation}/messages"
    calls = api.chat("GET", path, as_user=alice, query={"type": "call"}).body
    assert [m["content"] for m in calls["items"]] == ["Voice call declined", "Voice call started"]
    assert all(m["call"]["call_id"] == call.body["call_id"] for m in calls["items"])
    texts = api.chat("GET", path, as_user=alice, query={"type": "text"}).body
    assert [m["content"] for m in texts["items"]] == ["after the call", "before the call"]
    assert api.chat("GET", path, as_user=alice, query={"type": "system"}).body == {"items": [], "next_token": None}
    # Paging works inside the filter.
    first = api.chat("GET", path, as_user=alice, query={"type": "call", "limit": "1"}).body
    second = api.chat(
        "GET", path, as_user=alice, query={"type": "call", "limit": "1", "next_token": first["next_token"]}
    ).body
    assert [m["content"] for m in first["items"] + second["items"]] == [m["content"] for m in calls["items"]]
    assert second["next_token"] is None
    assert api.chat("GET", path, as_user=alice, query={"type": "video"}).status == 422


def test_a_user_sees_only_their_tenants_conversations(api: Api) -> None:
    alice, bob = api.user(), api.user()
    mallory, trent = api.user(OTHER_TENANT), api.user(OTHER_TENANT)
    ours = api.conversation(alice, bob)["conversation_id"]
    theirs = api.conversation(mallory, trent)["conversation_id"]
    assert _ids(api.chat("GET", "/conversations", as_user=alice).body["items"], "conversation_id") == [ours]
    assert _ids(api.chat("GET", "/conversations", as_user=mallory).body["items"], "conversation_id") == [theirs]


def test_a_new_user_has_no_conversations(api: Api) -> None:
    assert api.chat("GET", "/conversations", as_user=api.user()).body == {"items": [], "next_token": None}
