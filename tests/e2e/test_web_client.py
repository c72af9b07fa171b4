"""The web client (`web/`) in headless Chromium against the local runtime: what a person does.

Each flow runs in separate browser contexts (two people, or a desktop and a phone), on the client
the runtime serves from its own origin, so CORS, presigned uploads, WebSocket frames and WebRTC
are the browser's real ones. A screenshot of each flow goes to test-artifacts/web/.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from PIL import Image

from tests.e2e.conftest import Runtime
from tests.support.browser import ARTIFACTS, chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.slow

# A cold function on a loaded 2-core machine takes seconds; the pipeline's four steps more.
STEP_MS = 30_000
PIPELINE_MS = 90_000
PASSWORD = "Web-password-1234"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def web(app_runtime: Runtime) -> str:
    url: str = app_runtime.endpoints["web"]
    return url


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Any]:
    """New pages, each in a context of its own (its own storage: another person or device)."""
    contexts = []
    errors: list[str] = []

    def open_page(url: str, **options: Any) -> Page:
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        # The runtime serves the deployed Content-Security-Policy: anything it blocks is a bug.
        page.on(
            "console",
            lambda message: (
                errors.append(f"{page.url}: {message.text}") if "Content Security Policy" in message.text else None
            ),
        )
        page.goto(url)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not errors, f"uncaught errors or policy violations in the pages: {errors}"


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def sign_up(page: Page, name: str) -> str:
    from playwright.sync_api import expect

    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    form = page.locator("#sign-up")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign up").click()
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=STEP_MS)
    return email


def sign_in(page: Page, email: str, password: str) -> None:
    from playwright.sync_api import expect

    form = page.locator("#sign-in")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Sign in").click()
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=STEP_MS)


def account(api: str, name: str) -> dict[str, Any]:
    """Someone who signed up before (over HTTP), with their email and an authorization header."""
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    response = httpx.post(f"{api}/auth/register", json={"email": email, "password": PASSWORD, "full_name": name})
    assert response.status_code == 201, response.text
    token = response.json()["access_token"]
    return {"email": email, "headers": {"Authorization": f"Bearer {token}"}}


def jpeg(path: Path, size: tuple[int, int], colour: tuple[int, int, int]) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=90)
    path.write_bytes(buffer.getvalue())
    return path


def test_two_people_chat_live_page_back_through_history_and_call_over_webrtc(
    app_runtime: Runtime, web: str, open_page: Any
) -> None:
    from playwright.sync_api import expect

    api = app_runtime.output("HttpApiUrl")
    alice = open_page(web)
    sign_up(alice, "Alice")
    bob_account = account(api, "Bob")
    bob = open_page(web)
    sign_in(bob, bob_account["email"], PASSWORD)

    # Alice starts a conversation with Bob by his email; Bob's 25 messages (over HTTP, five at a
    # time) arrive live and make more than one page of history.
    alice.locator("#new-conversation [name=email]").fill(bob_account["email"])
    alice.locator("#new-conversation [name=title]").fill("Weekend plans")
    alice.get_by_role("button", name="Start conversation").click()
    expect(alice.locator("#composer")).to_be_visible(timeout=STEP_MS)
    conversation_id = httpx.get(f"{api}/conversations", headers=bob_account["headers"]).json()["items"][0][
        "conversation_id"
    ]

    def post(number: int) -> int:
        return httpx.post(
            f"{api}/conversations/{conversation_id}/messages",
            json={"content": f"history {number:02d}"},
            headers=bob_account["headers"],
        ).status_code

    with ThreadPoolExecutor(max_workers=5) as pool:
        assert set(pool.map(post, range(1, 26))) == {201}
    expect(alice.locator("#messages li")).to_have_count(25, timeout=STEP_MS)

    # History: a reload shows the newest page, "Load older" the rest, each message once.
    alice.reload()
    alice.locator("#conversations a", has_text="Weekend plans").click()
    expect(alice.locator("#messages li")).to_have_count(20, timeout=STEP_MS)
    alice.get_by_role("button", name="Load older messages").click()
    expect(alice.locator("#messages li")).to_have_count(25, timeout=STEP_MS)
    history = alice.locator("#messages li .content").all_inner_texts()
    assert sorted(history) == [f"history {number:02d}" for number in range(1, 26)]
    expect(alice.get_by_role("button", name="Load older messages")).to_be_hidden()

    # Live: each sees the other's message without reloading.
    expect(bob.locator("#conversations a", has_text="Weekend plans")).to_be_visible(timeout=STEP_MS)
    bob.locator("#conversations a", has_text="Weekend plans").click()
    alice.locator("#composer input").fill("Hi Bob, hiking on Saturday?")
    alice.get_by_role("button", name="Send").click()
    expect(bob.locator("#messages")).to_contain_text("Hi Bob, hiking on Saturday?", timeout=STEP_MS)
    bob.locator("#composer input").fill("Yes! 9am at the station.")
    bob.get_by_role("button", name="Send").click()
    expect(alice.locator("#messages")).to_contain_text("Yes! 9am at the station.", timeout=STEP_MS)
    expect(alice.locator("#messages li.mine", has_text="Hi Bob")).to_have_count(1)
    screenshot(alice, "chat")

    # A call Bob rejects, then one he accepts: the peers connect over WebRTC through our
    # signalling frames and greet each other on a data channel; Alice ends it after a second.
    alice.get_by_role("button", name="Call").click()
    bob.get_by_role("button", name="Reject").click(timeout=STEP_MS)
    expect(alice.locator("#call-panel")).to_have_attribute("data-status", "rejected", timeout=STEP_MS)
    alice.get_by_role("button", name="Call").click()
    expect(alice.locator("#call-status")).to_have_text("ringing…", timeout=STEP_MS)
    expect(bob.locator("#call-status")).to_have_text("incoming call", timeout=STEP_MS)
    bob.get_by_role("button", name="Accept").click()
    expect(alice.locator("#p2p")).to_contain_text("peer link: connected", timeout=STEP_MS)
    expect(alice.locator("#p2p")).to_contain_text("from Bob", timeout=STEP_MS)
    expect(bob.locator("#p2p")).to_contain_text("from Alice", timeout=STEP_MS)
    expect(alice.locator("#call-status")).to_contain_text(re.compile(r"connected · [1-9]\d* s"), timeout=STEP_MS)
    screenshot(alice, "call")
    alice.locator("#call-panel").get_by_role("button", name="End").click()
    expect(bob.locator("#call-status")).to_have_text(re.compile(r"ended · [1-9]\d* s"), timeout=STEP_MS)
    expect(bob.locator("#messages")).to_contain_text("call ended", timeout=STEP_MS)
    log = httpx.get(f"{api}/conversations/{conversation_id}/calls", headers=bob_account["headers"]).json()["items"]
    assert [call["status"] for call in log[:2]] == ["ended", "rejected"]
    assert log[0]["duration_seconds"] >= 1


def test_a_phone_uploads_through_the_qr_code_and_the_desktop_hears_it_live(
    web: str, open_page: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    desktop = open_page(web + "#/qr")
    link = desktop.locator("#phone-link")
    expect(link).to_have_attribute("href", re.compile(r"#/upload/[0-9a-f-]{36}$"), timeout=STEP_MS)
    expect(desktop.locator("#qr-code svg")).to_be_visible()
    phone_url = link.get_attribute("href")
    assert phone_url is not None
    assert phone_url.startswith(web)
    expect(desktop.locator(".qr-page .badge")).to_have_attribute("data-state", "open", timeout=STEP_MS)

    phone = open_page(phone_url, viewport={"width": 390, "height": 760}, is_mobile=True, has_touch=True)
    photo = jpeg(tmp_path / "receipt.jpg", (900, 1200), (240, 240, 230))
    phone.locator("#phone-upload input[type=file]").set_input_files(photo)
    phone.get_by_role("button", name="Send to the computer").click()
    expect(phone.locator("#phone-status")).to_have_attribute("data-status", "sent", timeout=STEP_MS)

    expect(desktop.locator("#qr-status")).to_have_attribute("data-status", "COMPLETED", timeout=STEP_MS)
    # Through the UPLOAD_COMPLETED frame, not the polling fallback.
    expect(desktop.locator("#qr-result")).to_have_attribute("data-via", "websocket")
    expect(desktop.locator("#qr-result")).to_contain_text(f"session-uploads/{phone_url.rsplit('/', 1)[1]}/image-")
    screenshot(desktop, "qr-desktop")
    screenshot(phone, "qr-phone")


def test_a_profile_update_then_an_upload_that_ends_with_its_three_variants_displayed(
    web: str, open_page: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = open_page(web)
    sign_up(page, "Carol")
    # The profile reads /auth/me and renames through PATCH /auth/me.
    page.get_by_role("link", name="Profile").click()
    expect(page.locator(".profile")).to_contain_text("Carol", timeout=STEP_MS)
    page.locator("#profile-name [name=full_name]").fill("Carol Jones")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".profile")).to_contain_text("Carol Jones", timeout=STEP_MS)
    expect(page.locator("#who")).to_have_text("Carol Jones")

    page.get_by_role("link", name="Images").click()
    photo = jpeg(tmp_path / "harbour.jpg", (2400, 1600), (30, 110, 190))
    page.locator("#image-upload input[type=file]").set_input_files(photo)
    page.get_by_role("button", name="Upload").click()

    card = page.locator("#gallery li.image", has_text="harbour.jpg")
    expect(card).to_have_attribute("data-status", "COMPLETED", timeout=PIPELINE_MS)
    expect(card.locator("figure")).to_have_count(3)
    captions = card.locator("figcaption").all_inner_texts()
    assert [caption.split(" · ")[:2] for caption in captions] == [
        ["small", "800\u00d7533"],
        ["medium", "1200\u00d7800"],
        ["large", "1620\u00d71080"],
    ]
    # The variants are real JPEGs fetched from their presigned URLs by the browser.
    page.wait_for_function(
        "[...document.querySelectorAll('#gallery figure img')].every(img => img.complete && img.naturalWidth > 0)",
        timeout=STEP_MS,
    )
    widths = card.locator("figure img").evaluate_all("images => images.map(img => img.naturalWidth)")
    assert widths == [800, 1200, 1620]
    screenshot(page, "gallery")


def test_the_socket_comes_back_after_a_drop_and_delivers_again(
    app_runtime: Runtime, web: str, browser: Browser
) -> None:
    from playwright.sync_api import WebSocketRoute, expect

    api = app_runtime.output("HttpApiUrl")
    friend = account(api, "Frank")
    context = browser.new_context()
    try:
        page = context.new_page()
        # The page's sockets go through Playwright to the real gateway, so the test can drop one.
        sockets: list[WebSocketRoute] = []

        def relay(socket: WebSocketRoute) -> None:
            socket.connect_to_server()
            sockets.append(socket)

        page.route_web_socket(re.compile(r"^ws://"), relay)
        page.goto(web)
        email = sign_up(page, "Erin")
        erin = httpx.get(f"{api}/users", params={"email": email}, headers=friend["headers"]).json()
        conversation = httpx.post(
            f"{api}/conversations",
            json={"participant_ids": [erin["user_id"]], "title": "Drop test"},
            headers=friend["headers"],
        ).json()
        messages_url = f"{api}/conversations/{conversation['conversation_id']}/messages"
        # A conversation someone else starts shows up with its first message.
        assert httpx.post(messages_url, json={"content": "hello"}, headers=friend["headers"]).status_code == 201
        page.locator("#conversations a", has_text="Drop test").click(timeout=STEP_MS)
        expect(page.locator("#messages")).to_contain_text("hello", timeout=STEP_MS)

        expect(page.locator("#connection")).to_have_attribute("data-opens", "1")
        sockets[-1].close(code=4000, reason="dropped by the test")
        expect(page.locator("#connection")).to_have_attribute("data-opens", "2", timeout=STEP_MS)
        expect(page.locator("#connection")).to_have_attribute("data-state", "open")
        assert len(sockets) == 2

        assert httpx.post(messages_url, json={"content": "still there?"}, headers=friend["headers"]).status_code == 201
        expect(page.locator("#messages")).to_contain_text("still there?", timeout=STEP_MS)
    finally:
        context.close()
