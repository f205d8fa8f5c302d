"""Sign-in through one shared callback, as on AWS: Cognito takes no wildcard in an app
client's callback URLs, so every tenant's console signs in with the console domain's
``/callback`` (``tenantkit serve --shared-callback``), and the console there relays the
answer to the tenant's own console named in ``state``."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .conftest import ConsoleUrl, SignIn

SERVE_ARGS = ["--shared-callback"]


def _visited(page: Page) -> list[str]:
    urls: list[str] = []
    page.on(
        "framenavigated",
        lambda frame: urls.append(frame.url) if frame is page.main_frame else None,
    )
    return urls


def test_a_tenant_signs_in_through_the_shared_callback_and_out_to_the_shared_page(
    page: Page, sign_in: SignIn, console_url: ConsoleUrl
) -> None:
    visited = _visited(page)
    sign_in(page, "admin@acme.example")
    acme = console_url("acme").rstrip("/")
    bare = console_url(None).rstrip("/")
    expect(page).to_have_url(re.compile("^" + re.escape(acme) + "/chat$"))
    expect(page.get_by_role("banner")).to_contain_text("Acme Corp")
    authorize = next(u for u in visited if "/oauth2/authorize?" in u)
    assert f"redirect_uri={bare}/callback".replace(":", "%3A").replace("/", "%2F") in authorize
    relayed = [u for u in visited if u.startswith(f"{bare}/callback?")]
    assert relayed, visited
    assert re.search(r"state=[A-Za-z0-9_-]{22}~acme(&|$)", relayed[0]), relayed
    assert any(u.startswith(f"{acme}/callback?code=") for u in visited), visited

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{bare}/signed-out")
    # the way back leads to the console this tab signed in to, which asks to sign in
    back = page.get_by_role("link", name=f"Sign in to {acme.split('//')[1]} again")
    expect(back).to_be_visible()
    back.click()
    page.wait_for_url(re.compile(r"/oauth2/authorize\?"))
    expect(page.get_by_role("button", name="Sign in as admin@acme.example")).to_be_visible()


def test_a_tab_that_relayed_nothing_is_told_to_open_its_console(
    page: Page, console_url: ConsoleUrl
) -> None:
    page.goto(console_url(None) + "signed-out")
    expect(page.get_by_text("open your organisation's console address")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)


def test_the_operator_signs_in_on_the_callbacks_own_host_without_a_relay(
    page: Page, sign_in: SignIn, console_url: ConsoleUrl
) -> None:
    visited = _visited(page)
    sign_in(page, "operator@tenantkit.local")
    bare = console_url(None).rstrip("/")
    expect(page).to_have_url(re.compile("^" + re.escape(bare) + "/"))
    assert not any(".localhost" in u.split("/")[2] for u in visited), visited


def test_a_forged_answer_goes_nowhere_but_a_console_and_signs_no_one_in(
    page: Page, console_url: ConsoleUrl
) -> None:
    bare = console_url(None).rstrip("/")
    for state in ("x~evil.example", "x~a.b", "x~%2F%2Fevil.example"):
        page.goto(f"{bare}/callback?code=stolen&state={state}")
        expect(page).to_have_url(re.compile("^" + re.escape(bare) + "/signed-out$"))
        expect(page.get_by_role("alert")).to_contain_text("not started here")
    # a console under this host is the only place a relay leads, and it refuses an
    # answer it did not ask for
    page.goto(f"{bare}/callback?code=stolen&state=x~globex")
    globex = console_url("globex").rstrip("/")
    expect(page).to_have_url(f"{globex}/signed-out")
    expect(page.get_by_role("alert")).to_contain_text("not started here")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
