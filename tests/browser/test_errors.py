"""Errors as people expect them: initech's small plan allows 5 requests a minute, so
moving between its pages soon gets a 429; the console says how long to wait and
offers a retry once the wait is over."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .conftest import Axe, SignIn


def test_a_rate_limited_page_says_how_long_to_wait(page: Page, sign_in: SignIn, axe: Axe) -> None:
    sign_in(page, "admin@initech.example")
    expect(page.get_by_role("banner")).to_contain_text("Initech")
    navigation = page.get_by_role("navigation", name="Main")
    alert = page.get_by_role("alert").filter(has_text=re.compile(r"Try again in \d+ seconds?\."))
    for _ in range(12):
        if alert.count():
            break
        for name in ("Files", "Chat"):
            navigation.get_by_role("link", name=name, exact=True).click()
            expect(page.get_by_role("status").filter(has_text="Loading")).to_have_count(0)
    expect(alert.first).to_be_visible()
    retry = alert.first.get_by_role("button", name=re.compile(r"^Retry in \d+ s$"))
    expect(retry).to_be_disabled()
    assert axe(page) == []
