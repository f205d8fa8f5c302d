"""The admin pages in Chromium: usage charts drawn from real usage, a branding change
that re-themes the console, a member who never sees (nor may call) the admin pages,
and axe-core on each admin page."""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.sync_api import Page, expect

from testharness.tenantkit_serve import ServeProcess

from .conftest import Axe, ConsoleUrl, SignIn

ADMIN_PAGES = ("usage", "settings", "users")


def _token(page: Page) -> str:
    session = json.loads(page.evaluate("() => sessionStorage.getItem('tenantkit.session')"))
    token: str = session["idToken"]
    return token


def _api_status(page: Page, path: str, token: str) -> int:
    """The status the API answers the page's own origin for ``path`` with ``token``."""
    status: int = page.evaluate(
        """async ([path, token]) => (await fetch(path, {headers: {
               Accept: "application/json", Authorization: `Bearer ${token}`}})).status""",
        [path, token],
    )
    return status


def test_usage_charts_show_the_tenants_requests(
    page: Page, sign_in: SignIn, console_url: ConsoleUrl
) -> None:
    sign_in(page, "admin@acme.example")
    for _ in range(3):  # some traffic of acme's to draw
        assert _api_status(page, "/conversations", _token(page)) == 200
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Usage").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Usage")
    charts = page.locator("figure.chart")
    expect(charts).to_have_count(3)
    for title in ("Requests per day", "LLM tokens per day", "Storage used"):
        expect(page.get_by_role("img", name=title)).to_be_visible()
    requests_chart = charts.first
    expect(requests_chart.locator("circle").first).to_be_attached()
    # The table alternative carries the same numbers: today has acme's requests.
    requests_chart.get_by_role("button", name="Show table of Requests per day").click()
    table = requests_chart.get_by_role("table", name="Requests per day")
    expect(table).to_be_visible()
    last_row = table.locator("tbody tr").last
    requests_today = int(last_row.locator("td").first.inner_text().replace("k", "000"))
    assert requests_today >= 3
    page.get_by_label("Range").select_option("7d")
    expect(table.locator("tbody tr")).to_have_count(7)


def test_a_branding_change_rethemes_the_console(
    page: Page, sign_in: SignIn, served: ServeProcess
) -> None:
    sign_in(page, "admin@acme.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings")
    colour = page.get_by_label("Primary colour", exact=True)
    expect(colour).to_have_value("#0b5fff")
    colour.fill("#ffd500")
    preview = page.get_by_role("group", name="Preview")
    expect(preview).to_contain_text("Text on the primary colour: black")
    page.get_by_role("button", name="Save branding").click()
    expect(page.get_by_text("Branding saved.")).to_be_visible()
    banner = page.get_by_role("banner")
    expect(banner).to_have_css("background-color", "rgb(255, 213, 0)")
    expect(banner.locator(".tenant-name")).to_have_css("color", "rgb(0, 0, 0)")
    # Saved: the public branding (what a new page load themes from) has it too.
    public = httpx.get(
        f"{served.url}/branding",
        params={"host": f"acme.localhost:{served.port}"},
        headers={"accept": "application/json"},
        trust_env=False,
    )
    assert public.json()["primary_color"] == "#ffd500"
    page.get_by_label("Primary colour", exact=True).fill("#0b5fff")
    page.get_by_role("button", name="Save branding").click()
    expect(page.get_by_role("banner")).to_have_css("background-color", "rgb(11, 95, 255)")


def test_a_name_change_shows_in_the_header_and_the_audit_log(page: Page, sign_in: SignIn) -> None:
    sign_in(page, "admin@acme.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_label("Display name").fill("Acme Corporation")
    page.get_by_role("button", name="Save branding").click()
    expect(page.get_by_text("Branding saved.")).to_be_visible()
    expect(page.get_by_role("banner")).to_contain_text("Acme Corporation")
    audit = page.get_by_role("table", name="Audit log, newest first")
    expect(audit).to_contain_text("config.update")
    page.get_by_label("Display name").fill("Acme Corp")
    page.get_by_role("button", name="Save branding").click()
    expect(page.get_by_text("Branding saved.")).to_be_visible()


def test_a_member_never_sees_the_admin_pages_and_the_api_refuses_them(
    page: Page, sign_in: SignIn, console_url: ConsoleUrl
) -> None:
    sign_in(page, "member@acme.example")
    navigation = page.get_by_role("navigation", name="Main")
    for name in ("Usage", "Settings", "Users", "Operator"):
        expect(navigation.get_by_role("link", name=name, exact=True)).to_have_count(0)
    for path in ADMIN_PAGES:
        page.goto(console_url("acme") + path)
        expect(page.get_by_role("heading", level=1)).to_have_text("No access")
        expect(page.get_by_role("main")).not_to_contain_text("Branding")
    token = _token(page)
    for path in ("/usage", "/config", "/config/providers", "/config/audit", "/users"):
        assert _api_status(page, path, token) == 403, path


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_axe_finds_no_serious_violation_on_the_admin_pages(
    page: Page, sign_in: SignIn, console_url: ConsoleUrl, axe: Axe, served: ServeProcess, path: str
) -> None:
    sign_in(page, "admin@acme.example")
    page.goto(console_url("acme") + path)
    expect(page.get_by_role("heading", level=1)).to_have_text(path.title())
    expect(page.get_by_role("status").filter(has_text="Loading")).to_have_count(0)
    assert axe(page) == []


def test_an_admin_edits_a_tenant_owned_provider_field(page: Page, sign_in: SignIn) -> None:
    sign_in(page, "admin@acme.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    llm = page.get_by_role("form", name="Language model (echo)")
    # ``model`` comes from the deployment's defaults: shown, not the tenant's to change.
    expect(llm.get_by_label("Model")).to_be_disabled()
    expect(llm).to_contain_text("Set by the operator for every organisation.")
    prefix = llm.get_by_label("Prefix")
    before = prefix.input_value()
    assert before.startswith("Acme")
    prefix.fill("Acme helper: ")
    llm.get_by_role("button", name="Save language model settings").click()
    expect(llm.get_by_text("Language model settings saved.")).to_be_visible()
    expect(page.get_by_role("table", name="Audit log, newest first")).to_contain_text(
        "config.provider.update"
    )
    page.reload()
    llm = page.get_by_role("form", name="Language model (echo)")
    expect(llm.get_by_label("Prefix")).to_have_value("Acme helper: ")
    # Operator-owned settings are not on the page at all.
    expect(page.get_by_role("form", name="File storage (local)")).to_contain_text(
        "Nothing here is yours to change"
    )
    llm.get_by_label("Prefix").fill(before)
    llm.get_by_role("button", name="Save language model settings").click()
    expect(llm.get_by_text("Language model settings saved.")).to_be_visible()
