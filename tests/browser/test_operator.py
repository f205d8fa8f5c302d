"""The operator's console in Chromium: the operator signs in at the bare host, lists
the tenants, suspends one (its admin is then refused as suspended), resumes it, and
sees usage across tenants; a tenant's admin never reaches the operator page."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from .conftest import ARTIFACTS, TIMEOUT_MS, Axe, ConsoleUrl, SignIn

OPERATOR = "operator@tenantkit.local"


def _open_operator(page: Page, sign_in: SignIn) -> None:
    sign_in(page, OPERATOR)
    expect(page).to_have_url(re.compile(r"/operator$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Operator")


def test_the_operator_suspends_and_resumes_a_tenant(
    page: Page, browser: Browser, sign_in: SignIn, console_url: ConsoleUrl
) -> None:
    other = browser.new_context(viewport={"width": 1100, "height": 760})
    other.set_default_timeout(TIMEOUT_MS)
    admin = other.new_page()
    try:
        sign_in(admin, "admin@acme.example")  # acme's admin, signed in before
        _open_operator(page, sign_in)
        tenants = page.locator("table.tenants")
        for tenant in ("acme", "globex", "initech"):
            expect(tenants.get_by_role("rowheader", name=tenant, exact=True)).to_be_visible()
        acme = tenants.get_by_role("row").filter(has=page.get_by_role("rowheader", name="acme"))
        acme.get_by_role("button", name="Suspend acme").click()
        dialog = page.get_by_role("alertdialog")
        expect(dialog).to_contain_text("Suspend acme?")
        dialog.get_by_role("button", name="Suspend").click()
        expect(page.get_by_text("acme is suspended.")).to_be_visible()
        expect(acme).to_contain_text("suspended")

        # acme's admin is refused: the console shows the API's word for it.
        admin.goto(console_url("acme") + "settings")
        expect(admin.get_by_role("alert").first).to_contain_text("suspended")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        admin.screenshot(path=str(ARTIFACTS / "operator_suspended_tenant.png"))

        acme.get_by_role("button", name="Resume acme").click()
        expect(page.get_by_text("acme is active again.")).to_be_visible()
        expect(acme).to_contain_text("active")
        admin.goto(console_url("acme") + "settings")
        expect(admin.get_by_role("heading", name="Branding")).to_be_visible()
        expect(admin.get_by_role("alert")).to_have_count(0)
    finally:
        other.close()


def test_the_operator_sees_usage_across_tenants(page: Page, sign_in: SignIn, axe: Axe) -> None:
    _open_operator(page, sign_in)
    usage = page.get_by_role("table", name="Usage per tenant")
    expect(usage.get_by_role("rowheader", name="acme", exact=True)).to_be_visible()
    expect(usage.get_by_role("rowheader", name="globex", exact=True)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Loading")).to_have_count(0)
    assert axe(page) == []


def test_a_tenant_admin_never_reaches_the_operator_page(
    page: Page, sign_in: SignIn, console_url: ConsoleUrl
) -> None:
    sign_in(page, "admin@acme.example")
    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation.get_by_role("link", name="Operator")).to_have_count(0)
    page.goto(console_url("acme") + "operator")
    expect(page.get_by_role("heading", level=1)).to_have_text("No access")
