"""The web console in a real browser: Debian's Chromium driven by Playwright (Python).

Each test module gets its own ``tenantkit serve --demo`` (the real command, on a free
port, its state in a temporary directory); a module sets ``TOKEN_TTL = SECONDS`` to
get short-lived tokens from the local sign-in. The built console is the one in the
runtime package (``runtime/src/tenantkit_runtime/console/dist``): built here when it
is missing (``./run test`` builds it first, when older than ``web/``).

Chromium is ``/usr/bin/chromium`` (``./run test`` installs the Debian package when it
is missing); only Playwright's driver is used, never a browser it downloads. Each test
gets a fresh browser context (no cookies, no storage), and a screenshot of its page is
kept under ``test-artifacts/browser/`` (not committed).

Fixtures:

* ``console_url(tenant)``: ``http://<tenant>.localhost:PORT/`` (``None``: the
  operator's ``http://localhost:PORT/``);
* ``sign_in(page, email)``: open the console of the user's tenant (the email's
  domain, ``admin@acme.example`` is acme's; ``operator@tenantkit.local`` the
  operator's), pick the user on the local sign-in page, wait for the console;
* ``axe(page)``: the axe-core violations of impact serious or critical on the page;
* ``served``: the running server (:class:`testharness.tenantkit_serve.ServeProcess`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from testharness.tenantkit_serve import ServeProcess, start_serve

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = ROOT / "runtime" / "src" / "tenantkit_runtime" / "console" / "dist"
AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: How long a test waits for the console to react (milliseconds).
TIMEOUT_MS = 15_000

ConsoleUrl = Callable[[str | None], str]
SignIn = Callable[[Page, str], None]
Axe = Callable[[Page], list[dict[str, Any]]]


def _build_console() -> None:
    """Build the console into the runtime package when it is missing."""
    if (DIST / "index.html").is_file() and AXE.is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("the console is not built and npm is missing: run ./run test", pytrace=False)
    if not AXE.is_file():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=WEB, check=True
        )
    if not (DIST / "index.html").is_file():
        subprocess.run([npm, "--prefix", str(WEB), "run", "build"], check=True)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: ./run test installs Chromium", pytrace=False)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    _build_console()
    launched = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture(scope="module")
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServeProcess]:
    """``tenantkit serve --demo`` for the module (``TOKEN_TTL`` in the module: short
    tokens; ``SERVE_ARGS``: more options)."""
    _build_console()
    args = ["--demo", *getattr(request.module, "SERVE_ARGS", ())]
    ttl = getattr(request.module, "TOKEN_TTL", None)
    if ttl is not None:
        args += ["--token-ttl", str(ttl)]
    process = start_serve(tmp_path_factory.mktemp("browser"), *args)
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a fresh context; its screenshot is kept when the test ends."""
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    try:
        yield opened
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:120]
        try:
            opened.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        finally:
            context.close()


@pytest.fixture
def console_url(served: ServeProcess) -> ConsoleUrl:
    def url(tenant: str | None) -> str:
        host = f"{tenant}.localhost" if tenant else "localhost"
        return f"http://{host}:{served.port}/"

    return url


def tenant_of(email: str) -> str | None:
    """The demo tenant of a demo user: ``admin@acme.example`` is acme's."""
    domain = email.rsplit("@", 1)[1]
    return domain.removesuffix(".example") if domain.endswith(".example") else None


@pytest.fixture
def sign_in(console_url: ConsoleUrl) -> SignIn:
    def go(page: Page, email: str) -> None:
        page.goto(console_url(tenant_of(email)))
        page.wait_for_url(re.compile(r"/oauth2/authorize\?"))
        page.get_by_role("button", name=f"Sign in as {email}").click()
        page.wait_for_url(re.compile(r"^(?!.*(/oauth2/|/callback)).*$"))
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    return go


@pytest.fixture
def axe() -> Axe:
    source = AXE.read_text(encoding="utf-8")

    def run(page: Page) -> list[dict[str, Any]]:
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(source)  # evaluated by the driver: the page's CSP stays on
        found: list[dict[str, Any]] = page.evaluate(
            """async () => {
                const result = await window.axe.run(document, {resultTypes: ["violations"]});
                return result.violations
                    .filter((v) => v.impact === "serious" || v.impact === "critical")
                    .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                                  nodes: v.nodes.map((n) => n.target.join(" "))}));
            }"""
        )
        return found

    return run
