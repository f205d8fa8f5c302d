"""Chat in Chromium: an admin of acme starts a conversation, the reply streams in over
the WebSocket API piece by piece and is kept in the conversation; Stop ends a reply
while it streams."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import Page, WebSocket, WebSocketRoute, expect

from .conftest import Axe, SignIn

#: A long message: the echo LLM streams it back word by word, and the WebSocket
#: function coalesces the words into frames of at most 256 characters.
LONG = " ".join(f"word{i}" for i in range(600))

_RECORD_LENGTHS = """() => {
    window.__lengths = [];
    new MutationObserver(() => {
        const reply = document.querySelector('[data-testid="streaming-reply"] .markdown');
        if (reply) window.__lengths.push(reply.textContent.length);
    }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def _frames(page: Page) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []

    def on_socket(socket: WebSocket) -> None:
        socket.on(
            "framereceived",
            lambda payload: (
                received.append(json.loads(payload)) if isinstance(payload, str) else None
            ),
        )

    page.on("websocket", on_socket)
    return received


def test_a_streamed_reply_appears_piece_by_piece_and_is_kept(
    page: Page, sign_in: SignIn, axe: Axe
) -> None:
    frames = _frames(page)
    sign_in(page, "admin@acme.example")
    expect(page).to_have_url(re.compile(r"/chat$"))
    expect(page.get_by_role("heading", level=1, name="Chat")).to_be_visible()
    page.evaluate(_RECORD_LENGTHS)
    page.get_by_role("textbox", name="Message").fill(LONG)
    page.get_by_role("button", name="Send").click()
    messages = page.get_by_role("list", name="Messages")
    reply = messages.get_by_role("listitem").filter(has_text="word599").last
    expect(reply).to_contain_text("assistant: word0 word1")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    # the server sent the reply as several deltas, then done with the whole text
    deltas = [f for f in frames if f.get("type") == "delta"]
    done = [f for f in frames if f.get("type") == "done"]
    assert len(deltas) >= 3, frames
    assert len(done) == 1
    assert done[0]["text"].endswith("word599")
    assert "".join(d["text"] for d in deltas) == done[0]["text"]
    # ...and the page showed it growing before it was complete
    lengths: list[int] = page.evaluate("() => window.__lengths")
    partial = sorted({n for n in lengths if 0 < n < len(done[0]["text"])})
    assert len(partial) >= 2, lengths
    # the conversation got its address and a place in the list; it survives a reload
    expect(page).to_have_url(re.compile(r"/chat/[^/]+$"))
    conversations = page.get_by_role("complementary", name="Conversations")
    expect(conversations.get_by_role("link", name=re.compile(r"^word0 word1"))).to_be_visible()
    page.reload()
    expect(page.get_by_role("list", name="Messages").get_by_role("listitem")).to_have_count(2)
    # a second message from the keyboard: Enter sends
    box = page.get_by_role("textbox", name="Message")
    box.fill("and **bold** text")
    box.press("Enter")
    expect(messages.get_by_role("listitem")).to_have_count(4)
    expect(messages.get_by_role("listitem").last.locator("strong")).to_have_text("bold")
    assert axe(page) == []


def test_stop_ends_a_streaming_reply(page: Page, sign_in: SignIn) -> None:
    """Frames after the second delta are held back by the test, so the reply is still
    streaming when Stop is pressed; the console closes the socket and keeps the part."""
    closed: list[bool] = []

    def hold(route: WebSocketRoute) -> None:
        server = route.connect_to_server()
        passed: list[str] = []

        def to_page(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("type") == "delta" and len(passed) < 2:
                passed.append(frame["text"])
                route.send(message)

        server.on_message(to_page)
        route.on_message(server.send)
        route.on_close(lambda code, reason: closed.append(True))

    page.route_web_socket(re.compile(r"/ws\?token="), hold)
    sign_in(page, "member@acme.example")
    page.get_by_role("textbox", name="Message").fill(LONG)
    page.get_by_role("button", name="Send").click()
    streaming = page.get_by_test_id("streaming-reply")
    expect(streaming).to_contain_text("word1")
    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_visible()
    stop.click()
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    stopped = page.get_by_role("list", name="Messages").get_by_role("listitem").last
    expect(stopped).to_contain_text("Stopped.")
    expect(stopped).not_to_contain_text("word599")
    expect(page.get_by_role("alert")).to_have_count(0)
    for _ in range(100):  # the route hears the close on the driver's side
        if closed:
            break
        page.wait_for_timeout(50)
    assert closed, "the console did not close the socket"


def test_a_conversation_is_deleted_after_a_confirmation(
    page: Page, sign_in: SignIn, axe: Axe
) -> None:
    sign_in(page, "member@acme.example")
    conversations = page.get_by_role("complementary", name="Conversations")
    messages = page.get_by_role("list", name="Messages")
    for text in ("keep this one", "delete this one"):
        page.get_by_role("button", name="New conversation").click()
        page.get_by_role("textbox", name="Message").fill(text)
        page.get_by_role("button", name="Send").click()
        expect(messages.get_by_role("listitem").last).to_contain_text(f"assistant: {text}")
        expect(conversations.get_by_role("link", name=text)).to_be_visible()
    deleted_url = page.url
    assert re.search(r"/chat/[^/]+$", deleted_url), deleted_url

    # Cancel keeps it
    conversations.get_by_role("button", name="Delete delete this one").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Delete “delete this one” and all its messages?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    assert axe(page) == []
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(conversations.get_by_role("link", name="delete this one")).to_be_visible()

    # Delete removes it, leaves the page it was open on, and keeps the other one
    conversations.get_by_role("button", name="Delete delete this one").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    expect(conversations.get_by_role("link", name="delete this one")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/chat$"))
    expect(conversations.get_by_role("link", name="keep this one")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)

    # ...on the server too: gone after a reload, and its messages with it
    page.reload()
    expect(conversations.get_by_role("link", name="keep this one")).to_be_visible()
    expect(conversations.get_by_role("link", name="delete this one")).to_have_count(0)
    page.goto(deleted_url)
    expect(page.get_by_role("alert")).to_contain_text("no conversation")
    expect(messages.get_by_role("listitem")).to_have_count(0)
