"""Users of a tenant in Chromium (issue 17): an admin invites a member, who signs in
with the local issuer and sees no admin page (and the API refuses them); the admin
removes the member, and the member's next token refresh fails."""

from __future__ import annotations

import json
import re

import httpx
from playwright.sync_api import Browser, Page, expect

from testharness.tenantkit_serve import ServeProcess

from .conftest import ARTIFACTS, TIMEOUT_MS, ConsoleUrl, SignIn

#: Tokens live 62 s: the console refreshes a minute early, so every two seconds.
TOKEN_TTL = 62
NEWCOMER = "newcomer@acme.example"


def _session(page: Page) -> dict[str, str]:
    session: dict[str, str] = json.loads(
        page.evaluate("() => sessionStorage.getItem('tenantkit.session')")
    )
    return session


def _api_status(page: Page, path: str) -> int:
    status: int = page.evaluate(
        """async ([path, token]) => (await fetch(path, {headers: {
               Accept: "application/json", Authorization: `Bearer ${token}`}})).status""",
        [path, _session(page)["idToken"]],
    )
    return status


def test_an_invited_member_signs_in_sees_no_admin_page_and_loses_access_when_removed(
    page: Page, browser: Browser, sign_in: SignIn, console_url: ConsoleUrl, served: ServeProcess
) -> None:
    # The admin invites a member.
    sign_in(page, "admin@acme.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Users")
    invite = page.get_by_role("form", name="Invite someone")
    invite.get_by_label("Email").fill(NEWCOMER)
    invite.get_by_label("Role").select_option("member")
    invite.get_by_role("button", name="Invite").click()
    expect(page.get_by_text(f"An invitation was sent to {NEWCOMER}.")).to_be_visible()
    users = page.get_by_role("table", name="Users of your organisation")
    row = users.get_by_role("row").filter(has_text=NEWCOMER)
    expect(row).to_contain_text("invited")
    expect(row.get_by_role("combobox", name=f"Role of {NEWCOMER}")).to_have_value("member")

    # The member signs in with the local issuer, in a browser of their own.
    other = browser.new_context(viewport={"width": 1100, "height": 760})
    other.set_default_timeout(TIMEOUT_MS)
    member = other.new_page()
    try:
        sign_in(member, NEWCOMER)
        expect(member.get_by_role("banner")).to_contain_text(NEWCOMER)
        navigation = member.get_by_role("navigation", name="Main")
        expect(navigation.get_by_role("link", name="Chat", exact=True)).to_be_visible()
        for name in ("Usage", "Settings", "Users", "Operator"):
            expect(navigation.get_by_role("link", name=name, exact=True)).to_have_count(0)
        member.goto(console_url("acme") + "users")
        expect(member.get_by_role("heading", level=1)).to_have_text("No access")
        for path in ("/users", "/usage", "/config", "/config/providers", "/config/audit"):
            assert _api_status(member, path) == 403, path
        assert _api_status(member, "/users/me") == 200
        refresh_token = _session(member)["refreshToken"]

        # Signing in made the invitation active, as the admin sees.
        page.reload()
        expect(row).to_contain_text("active")

        # The admin removes the member (after confirming).
        row.get_by_role("button", name=f"Remove {NEWCOMER}").click()
        dialog = page.get_by_role("alertdialog")
        expect(dialog).to_contain_text(f"Remove {NEWCOMER}?")
        dialog.get_by_role("button", name="Remove").click()
        expect(page.get_by_text(f"{NEWCOMER} was removed.")).to_be_visible()
        expect(users.get_by_role("row").filter(has_text=NEWCOMER)).to_have_count(0)

        # The member's next refresh fails: the console goes back to the sign-in page.
        member.wait_for_url(re.compile(r"/oauth2/authorize\?"), timeout=20_000)
        expect(member.get_by_text("Local sign-in — development only")).to_be_visible()
        expect(member.get_by_role("list", name="Users of Acme Corp")).not_to_contain_text(NEWCOMER)
        refused = httpx.post(
            f"{served.url}/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": "tenantkit-local",
            },
            headers={"host": f"acme.localhost:{served.port}"},
            trust_env=False,
        )
        assert refused.status_code == 400
        assert refused.json() == {"error": "invalid_grant"}
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        member.screenshot(path=str(ARTIFACTS / "users_removed_member.png"))
        other.close()


def test_an_admin_changes_a_role_disables_and_enables(page: Page, sign_in: SignIn) -> None:
    sign_in(page, "admin@acme.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    users = page.get_by_role("table", name="Users of your organisation")
    member = "member@acme.example"
    row = users.get_by_role("row").filter(has_text=member)
    # The admin cannot remove or disable themself.
    me = users.get_by_role("row").filter(has_text="admin@acme.example")
    expect(me.get_by_role("button", name="Remove admin@acme.example")).to_have_count(0)
    row.get_by_role("combobox", name=f"Role of {member}").select_option("admin")
    expect(page.get_by_text(f"{member} is now an admin")).to_be_visible()
    row.get_by_role("combobox", name=f"Role of {member}").select_option("member")
    expect(page.get_by_text(f"{member} is now a member")).to_be_visible()
    row.get_by_role("button", name=f"Disable {member}").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Disable").click()
    expect(row).to_contain_text("disabled")
    row.get_by_role("button", name=f"Enable {member}").click()
    expect(row.get_by_role("button", name=f"Disable {member}")).to_be_visible()
    expect(row).not_to_contain_text("disabled")
    # A bad email is refused on the page, before any request.
    invite = page.get_by_role("form", name="Invite someone")
    invite.get_by_label("Email").fill("not-an-email")
    invite.get_by_role("button", name="Invite").click()
    expect(invite).to_contain_text("Enter an email address like name@example.com.")
