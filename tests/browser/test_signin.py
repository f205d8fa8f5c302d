"""Signing in to the console in Chromium through the local sign-in (authorization code
with PKCE): an admin and a member of acme, signing out, a session that ends while the
page is open, and a user of globex refused on acme's address."""

from __future__ import annotations

import json
import re

import httpx
from playwright.sync_api import Page, expect

from testharness.tenantkit_serve import ServeProcess

from .conftest import ConsoleUrl, SignIn

#: Tokens live 62 s: the console refreshes them a minute before expiry, so every two
#: seconds here; a session whose refresh is refused ends at once.
TOKEN_TTL = 62
_SESSION_KEY = "tenantkit.session"


def _session(page: Page) -> dict[str, object] | None:
    text = page.evaluate(f"() => sessionStorage.getItem({json.dumps(_SESSION_KEY)})")
    return json.loads(text) if text else None


def test_an_admin_signs_in_and_sees_the_admin_pages(page: Page, sign_in: SignIn) -> None:
    sign_in(page, "admin@acme.example")
    banner = page.get_by_role("banner")
    expect(banner).to_contain_text("Acme Corp")
    expect(banner).to_contain_text("admin@acme.example")
    navigation = page.get_by_role("navigation", name="Main")
    for name in ("Chat", "Files", "Usage", "Settings", "Users", "Profile"):
        expect(navigation.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(navigation.get_by_role("link", name="Operator")).to_have_count(0)


def test_a_member_signs_in_without_the_admin_pages(page: Page, sign_in: SignIn) -> None:
    sign_in(page, "member@acme.example")
    expect(page.get_by_role("banner")).to_contain_text("member@acme.example")
    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation.get_by_role("link", name="Chat", exact=True)).to_be_visible()
    for name in ("Usage", "Settings", "Users", "Operator"):
        expect(navigation.get_by_role("link", name=name, exact=True)).to_have_count(0)


def test_sign_out_clears_the_session(
    page: Page, sign_in: SignIn, console_url: ConsoleUrl, served: ServeProcess
) -> None:
    sign_in(page, "admin@acme.example")
    session = _session(page)
    assert session is not None
    refresh_token = session["refreshToken"]
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/signed-out$"))
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    assert _session(page) is None
    refused = httpx.post(
        f"{served.url}/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        headers={"host": f"acme.localhost:{served.port}"},
        trust_env=False,
    )
    assert refused.json() == {"error": "invalid_grant"}  # revoked at sign-out
    page.goto(console_url("acme") + "files")
    page.wait_for_url(re.compile(r"/oauth2/authorize\?"))
    expect(page.get_by_text("Local sign-in — development only")).to_be_visible()


def test_a_session_that_can_no_longer_refresh_goes_back_to_sign_in(
    page: Page, sign_in: SignIn, served: ServeProcess
) -> None:
    sign_in(page, "member@acme.example")
    session = _session(page)
    assert session is not None
    revoked = httpx.post(
        f"{served.url}/oauth2/revoke",
        data={"token": session["refreshToken"], "client_id": "tenantkit-local"},
        headers={"host": f"acme.localhost:{served.port}"},
        trust_env=False,
    )
    assert revoked.status_code == 200
    # The console refreshes its 62-second token a minute early: refused, it signs in again.
    page.wait_for_url(re.compile(r"/oauth2/authorize\?"), timeout=20_000)
    expect(page.get_by_text("Local sign-in — development only")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Acme Corp")


def test_a_globex_user_is_refused_on_acmes_address(page: Page, console_url: ConsoleUrl) -> None:
    page.goto(console_url("acme"))
    page.wait_for_url(re.compile(r"/oauth2/authorize\?"))
    users = page.get_by_role("list", name="Users of Acme Corp")
    expect(users).to_contain_text("admin@acme.example")
    expect(users).not_to_contain_text("globex")
    page.get_by_label("Email").fill("admin@globex.example")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("this account belongs to another organisation")
    assert "/callback" not in page.url
    assert _session(page) is None
