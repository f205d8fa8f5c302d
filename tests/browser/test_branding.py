"""Each tenant's console wears its own branding, before and after sign-in, and shows
nothing of another tenant's; a tenant display name holding markup is shown as text;
the sign-in pages pass axe-core without a serious violation."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from testharness.tenantkit_serve import ServeProcess

from .conftest import Axe, ConsoleUrl, SignIn

_BRANDS = {
    "acme": ("Acme Corp", "rgb(11, 95, 255)", "Globex"),
    "globex": ("Globex Inc", "rgb(179, 38, 30)", "Acme"),
}


@pytest.mark.parametrize("tenant", sorted(_BRANDS))
def test_each_tenant_sees_its_own_name_and_colour(
    page: Page, sign_in: SignIn, console_url: ConsoleUrl, tenant: str
) -> None:
    name, colour, other = _BRANDS[tenant]
    page.goto(console_url(tenant))
    page.wait_for_url(re.compile(r"/oauth2/authorize\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Sign in to {name}")
    button = page.get_by_role("button", name=f"Sign in as admin@{tenant}.example")
    expect(button).to_have_css("background-color", colour)

    sign_in(page, f"admin@{tenant}.example")
    banner = page.get_by_role("banner")
    expect(banner).to_contain_text(name)
    expect(banner).to_have_css("background-color", colour)
    assert page.title() == name
    assert other not in page.content()


def test_markup_in_a_tenant_display_name_is_inert(
    page: Page, sign_in: SignIn, console_url: ConsoleUrl, served: ServeProcess
) -> None:
    hostile = "<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"
    token = served.token("initech", "setup", ["admin"])
    changed = httpx.patch(
        f"{served.url}/config",
        json={"branding": {"display_name": hostile}},
        headers={"authorization": f"Bearer {token}"},
        trust_env=False,
    )
    assert changed.status_code == 200, changed.text
    page.goto(console_url("initech"))
    page.wait_for_url(re.compile(r"/oauth2/authorize\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Sign in to {hostile}")
    sign_in(page, "admin@initech.example")
    expect(page.get_by_role("banner")).to_contain_text(hostile)
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("img[src=x]").count() == 0


@pytest.mark.parametrize("tenant", sorted(_BRANDS))
def test_the_sign_in_page_has_no_serious_accessibility_violation(
    page: Page, console_url: ConsoleUrl, axe: Axe, tenant: str
) -> None:
    page.goto(console_url(tenant))
    page.wait_for_url(re.compile(r"/oauth2/authorize\?"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert axe(page) == []
