"""Hostile text in the console stays text: markup in a chat message (and the echoed
reply, rendered as markdown) and in a file name runs nothing; and one tenant's console
never shows another's conversations or files, nor can its token reach them."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import Browser, Page, expect

from .conftest import ConsoleUrl, SignIn

PAYLOADS = [
    "<script>window.__pwned = 'script'</script>",
    "<img src=x onerror=\"window.__pwned = 'img'\">",
    "[click](javascript:window.__pwned='link')",
    "<svg onload=\"window.__pwned = 'svg'\"></svg>",
]
FILE_NAME = "<img src=x onerror=\"window.__pwned='file'\">.txt"


def _watch(page: Page) -> list[str]:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return dialogs


def _assert_inert(page: Page, dialogs: list[str]) -> None:
    main = page.get_by_role("main")
    assert page.evaluate("() => window.__pwned ?? null") is None
    assert dialogs == []
    expect(main.locator("script, svg, iframe, [onerror], [onload]")).to_have_count(0)
    expect(main.locator('a[href^="javascript"]')).to_have_count(0)


def test_markup_in_a_chat_message_is_inert(page: Page, sign_in: SignIn) -> None:
    dialogs = _watch(page)
    sign_in(page, "admin@acme.example")
    messages = page.get_by_role("list", name="Messages")
    for number, payload in enumerate(PAYLOADS, start=1):
        page.get_by_role("textbox", name="Message").fill(payload)
        page.get_by_role("button", name="Send").click()
        expect(messages.get_by_role("listitem")).to_have_count(2 * number)
        expect(page.get_by_role("button", name="Send")).to_be_visible()
        # the person's own message shows the characters they typed
        expect(messages.get_by_role("listitem").nth(2 * number - 2)).to_contain_text(payload)
    page.reload()  # and again as stored, rendered from the API's answer
    expect(messages.get_by_role("listitem")).to_have_count(2 * len(PAYLOADS))
    _assert_inert(page, dialogs)


def test_markup_in_a_file_name_is_inert(page: Page, sign_in: SignIn) -> None:
    dialogs = _watch(page)
    sign_in(page, "admin@acme.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Files").click()
    page.get_by_label("Upload a file").set_input_files(
        {"name": FILE_NAME, "mimeType": "text/plain", "buffer": b"x"}
    )
    row = page.get_by_role("row").filter(has_text=FILE_NAME)
    expect(row).to_be_visible()
    expect(page.get_by_role("button", name=f"Download {FILE_NAME}")).to_be_visible()
    _assert_inert(page, dialogs)


def _token(page: Page) -> str:
    session: dict[str, Any] = json.loads(
        page.evaluate("() => sessionStorage.getItem('tenantkit.session')")
    )
    token: str = session["idToken"]
    return token


def _status(page: Page, path: str) -> int:
    status: int = page.evaluate(
        """async ([path, token]) => (await fetch(path, {headers: {
            Accept: "application/json", Authorization: "Bearer " + token}})).status""",
        [path, _token(page)],
    )
    return status


def test_acme_never_sees_globexs_conversations_or_files(
    page: Page, browser: Browser, sign_in: SignIn, console_url: ConsoleUrl
) -> None:
    sign_in(page, "admin@globex.example")
    expect(page.get_by_role("banner")).to_contain_text("Globex")
    page.get_by_role("textbox", name="Message").fill("globex secret plan")
    page.get_by_role("button", name="Send").click()
    expect(page).to_have_url(re.compile(r"/chat/[^/]+$"))
    conversation = page.url.rsplit("/", 1)[1]
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Files").click()
    page.get_by_label("Upload a file").set_input_files(
        {"name": "globex-secret.txt", "mimeType": "text/plain", "buffer": b"globex only"}
    )
    expect(page.get_by_role("button", name="Download globex-secret.txt")).to_be_visible()
    files = page.evaluate(
        """async (token) => (await (await fetch("/files", {headers: {
            Accept: "application/json", Authorization: "Bearer " + token}})).json()).files""",
        _token(page),
    )
    file_id = next(f["id"] for f in files if f["name"] == "globex-secret.txt")

    context = browser.new_context()
    try:
        acme = context.new_page()
        sign_in(acme, "admin@acme.example")
        expect(acme.get_by_role("banner")).to_contain_text("Acme Corp")
        aside = acme.get_by_role("complementary", name="Conversations")
        expect(aside.get_by_role("status")).to_have_count(0)  # the list has loaded
        expect(acme.get_by_text("globex secret plan")).to_have_count(0)
        acme.goto(console_url("acme") + f"chat/{conversation}")
        expect(acme.get_by_role("alert")).to_be_visible()
        expect(acme.get_by_text("globex secret plan")).to_have_count(0)
        acme.goto(console_url("acme") + "files")
        expect(acme.get_by_role("heading", level=1, name="Files")).to_be_visible()
        expect(acme.get_by_role("status").filter(has_text="Loading")).to_have_count(0)
        expect(acme.get_by_text("globex-secret.txt")).to_have_count(0)
        # acme's token reaches none of globex's things, even by their ids
        assert _status(acme, f"/conversations/{conversation}") == 404
        assert _status(acme, f"/conversations/{conversation}/messages") == 404
        assert _status(acme, f"/files/{file_id}") == 404
        assert _status(acme, f"/files/{file_id}/download") == 404
    finally:
        context.close()
