"""The profile page in Chromium: a member reads and changes their display name and
locale (``/users/me``); the change is kept."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .conftest import Axe, SignIn


def test_a_member_edits_their_profile(page: Page, sign_in: SignIn, axe: Axe) -> None:
    sign_in(page, "member@acme.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", level=1, name="Profile")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("member@acme.example")
    page.get_by_label("Display name").fill("Mia Member")
    page.get_by_label("Locale").fill("fr-CA")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Profile saved.")).to_be_visible()
    assert axe(page) == []
    page.reload()
    expect(page.get_by_label("Display name")).to_have_value("Mia Member")
    expect(page.get_by_label("Locale")).to_have_value("fr-CA")
    # an invalid locale gets the API's message, naming the field
    page.get_by_label("Locale").fill("not a locale!")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("locale")
