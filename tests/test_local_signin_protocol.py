"""The local sign-in of ``tenantkit serve`` spoken as a client speaks it, without a
browser: authorization code with PKCE S256 (RFC 7636), the code single-use, the
host rule for ``redirect_uri`` and ``logout_uri``, cross-site posting refused,
revocation (RFC 7009), and a disabled user's refresh ending in ``invalid_grant``
(RFC 6749 section 5.2). Also what the server serves around it: the public branding
by host, ``console.json`` per host, and the page-or-API rule for HTML requests."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from testharness.tenantkit_serve import ServeProcess, start_serve

CLIENT_ID = "tenantkit-local"
INDEX = "<!doctype html><title>console</title><p>the console build</p>"


def _start(directory: Path, *args: str) -> ServeProcess:
    dist = directory / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX, encoding="utf-8")
    (dist / "assets" / "app-0a1b2c3d.js").write_text("export {};\n", encoding="utf-8")
    return start_serve(directory, "--demo", *args, env={"TENANTKIT_CONSOLE_DIST": str(dist)})


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    process = _start(tmp_path_factory.mktemp("signin"), "--token-ttl", "120")
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """``tenantkit serve --shared-callback``: one callback for every console, as on AWS."""
    process = _start(tmp_path_factory.mktemp("shared"), "--shared-callback")
    try:
        yield process
    finally:
        process.stop()


class Client:
    """A console on one host, talking to the server (at 127.0.0.1) with that Host."""

    def __init__(self, served: ServeProcess, tenant: str | None, *, shared: bool = False) -> None:
        self.host = f"{tenant}.localhost:{served.port}" if tenant else f"localhost:{served.port}"
        self.origin = f"http://{self.host}"
        #: The redirect URI: this console's own, or (``shared``) the bare host's.
        self.callback = (
            f"http://localhost:{served.port}/callback" if shared else (self.origin + "/callback")
        )
        self.http = httpx.Client(
            base_url=served.url, headers={"host": self.host}, timeout=30, trust_env=False
        )

    def query(self, challenge: str, **overrides: str) -> dict[str, str]:
        fields = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": self.callback,
            "scope": "openid email profile",
            "state": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        fields.update(overrides)
        return fields

    def page(self, query: dict[str, str]) -> httpx.Response:
        return self.http.get("/oauth2/authorize", params=query)

    def pick(self, email: str, verifier: str, **overrides: str) -> httpx.Response:
        """Open the sign-in page and pick ``email``: the answer to the form."""
        query = self.query(_challenge(verifier), **overrides)
        page = self.page(query)
        assert page.status_code == 200, page.text
        form = _hidden_fields(page.text)
        form["pick"] = email
        return self.http.post(
            "/oauth2/authorize",
            data=form,
            headers={"origin": self.origin, "cookie": _cookie(page)},
        )

    def code(self, email: str, verifier: str) -> str:
        answer = self.pick(email, verifier)
        assert answer.status_code == 302, answer.text
        location = urlsplit(answer.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == self.callback
        return parse_qs(location.query)["code"][0]

    def exchange(self, code: str, verifier: str, **overrides: str) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.callback,
            "client_id": CLIENT_ID,
            "code_verifier": verifier,
            **overrides,
        }
        return self.http.post("/oauth2/token", data=form)

    def sign_in(self, email: str) -> dict[str, Any]:
        verifier = _verifier()
        answer = self.exchange(self.code(email, verifier), verifier)
        assert answer.status_code == 200, answer.text
        tokens: dict[str, Any] = answer.json()
        return tokens

    def refresh(self, refresh_token: str) -> httpx.Response:
        return self.http.post(
            "/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": CLIENT_ID,
            },
        )


def _verifier() -> str:
    return secrets.token_urlsafe(48)


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _cookie(page: httpx.Response) -> str:
    return "; ".join(f"{name}={value}" for name, value in page.cookies.items())


def _hidden_fields(page: str) -> dict[str, str]:
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    }


@pytest.fixture(scope="module")
def acme(served: ServeProcess) -> Client:
    return Client(served, "acme")


def test_the_page_is_marked_local_and_branded_with_the_hosts_tenant(acme: Client) -> None:
    page = acme.page(acme.query(_challenge(_verifier())))
    assert page.status_code == 200
    assert "Local sign-in — development only" in page.text
    assert "Sign in to Acme Corp" in page.text
    assert "#0b5fff" in page.text
    assert "admin@acme.example" in page.text
    assert "member@acme.example" in page.text
    assert "globex" not in page.text
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src" not in policy
    assert page.headers["cache-control"] == "no-store"


def test_code_with_pkce_gives_tokens_of_the_users_tenant(
    served: ServeProcess, acme: Client
) -> None:
    tokens = acme.sign_in("member@acme.example")
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 120
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["custom:tenant_id"] == "acme"
    assert claims["cognito:groups"] == ["member"]
    assert claims["exp"] - claims["iat"] == 120
    me = acme.http.get("/users/me", headers={"authorization": f"Bearer {tokens['id_token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["email"] == "member@acme.example"
    assert me.json()["status"] == "active"  # the invited demo user signed in


def test_a_wrong_verifier_is_refused_and_burns_the_code(acme: Client) -> None:
    verifier = _verifier()
    code = acme.code("admin@acme.example", verifier)
    wrong = acme.exchange(code, _verifier())
    assert (wrong.status_code, wrong.json()) == (400, {"error": "invalid_grant"})
    again = acme.exchange(code, verifier)
    assert (again.status_code, again.json()) == (400, {"error": "invalid_grant"})


def test_a_code_is_used_once(acme: Client) -> None:
    verifier = _verifier()
    code = acme.code("admin@acme.example", verifier)
    assert acme.exchange(code, verifier).status_code == 200
    reused = acme.exchange(code, verifier)
    assert (reused.status_code, reused.json()) == (400, {"error": "invalid_grant"})


def test_the_code_is_bound_to_its_redirect_uri_and_client(acme: Client) -> None:
    verifier = _verifier()
    code = acme.code("admin@acme.example", verifier)
    moved = acme.exchange(code, verifier, redirect_uri=acme.origin + "/elsewhere")
    assert moved.json() == {"error": "invalid_grant"}
    code = acme.code("admin@acme.example", verifier)
    other = acme.exchange(code, verifier, client_id="another-client")
    assert (other.status_code, other.json()) == (400, {"error": "invalid_client"})


@pytest.mark.parametrize(
    "redirect",
    [
        "https://evil.example/callback",
        "http://globex.localhost:{port}/callback",
        "http://acme.localhost:{port}/callback?next=https://evil.example",
        "http://acme.localhost:{port}/other",
        "http://user@acme.localhost:{port}/callback",
        "javascript:alert(1)",
    ],
)
def test_a_foreign_redirect_uri_is_refused_never_redirected(
    served: ServeProcess, acme: Client, redirect: str
) -> None:
    query = acme.query(_challenge(_verifier()), redirect_uri=redirect.format(port=served.port))
    page = acme.page(query)
    assert page.status_code == 400
    assert "location" not in page.headers
    assert "redirect_uri must be this console" in page.text
    assert "<form" not in page.text


def test_a_user_of_another_tenant_is_refused_on_this_host(acme: Client) -> None:
    answer = acme.pick("admin@globex.example", _verifier())
    assert answer.status_code == 403
    assert "this account belongs to another organisation" in answer.text
    assert "location" not in answer.headers


def test_the_form_is_refused_from_another_site_or_without_its_cookie(acme: Client) -> None:
    query = acme.query(_challenge(_verifier()))
    page = acme.page(query)
    form = {**_hidden_fields(page.text), "pick": "admin@acme.example"}
    cookie = _cookie(page)
    acme.http.cookies.clear()
    no_cookie = acme.http.post("/oauth2/authorize", data=form, headers={"origin": acme.origin})
    assert no_cookie.status_code == 403
    assert "location" not in no_cookie.headers
    cross = acme.http.post(
        "/oauth2/authorize",
        data=form,
        headers={"origin": "https://evil.example", "cookie": cookie},
    )
    assert cross.status_code == 403
    assert "location" not in cross.headers


def test_pkce_and_the_client_are_required(acme: Client) -> None:
    challenge = _challenge(_verifier())
    for overrides in (
        {"code_challenge_method": "plain"},
        {"code_challenge": "short"},
        {"client_id": "someone-else"},
        {"response_type": "token"},
    ):
        assert acme.page(acme.query(challenge, **overrides)).status_code == 400, overrides


def test_an_unknown_tenants_host_has_no_sign_in(served: ServeProcess) -> None:
    nobody = Client(served, "nobody")
    page = nobody.page(nobody.query(_challenge(_verifier())))
    assert page.status_code == 404
    assert "not the console of an organisation" in page.text


def test_revoke_ends_the_session(acme: Client) -> None:
    tokens = acme.sign_in("admin@acme.example")
    assert acme.refresh(tokens["refresh_token"]).status_code == 200
    revoked = acme.http.post(
        "/oauth2/revoke", data={"token": tokens["refresh_token"], "client_id": CLIENT_ID}
    )
    assert revoked.status_code == 200
    refused = acme.refresh(tokens["refresh_token"])
    assert (refused.status_code, refused.json()) == (400, {"error": "invalid_grant"})


def test_a_disabled_users_refresh_is_invalid_grant(served: ServeProcess) -> None:
    initech = Client(served, "initech")
    member = initech.sign_in("member@initech.example")
    admin = initech.sign_in("admin@initech.example")
    as_admin = {"authorization": f"Bearer {admin['id_token']}"}
    user_id = jwt.decode(member["id_token"], options={"verify_signature": False})["sub"]
    # Signing in made the invited demo user active in the control plane's user table.
    listed = initech.http.get("/users", headers=as_admin)
    assert listed.status_code == 200, listed.text
    (row,) = [u for u in listed.json()["users"] if u["user_id"] == user_id]
    assert row["status"] == "active"
    assert row["last_seen"] is not None
    refreshed = initech.refresh(member["refresh_token"])
    assert refreshed.status_code == 200
    assert refreshed.json()["expires_in"] == 120
    disabled = initech.http.post(f"/users/{user_id}/disable", headers=as_admin)
    assert disabled.status_code == 200, disabled.text
    refused = initech.refresh(member["refresh_token"])
    assert (refused.status_code, refused.json()) == (400, {"error": "invalid_grant"})
    page = initech.pick("member@initech.example", _verifier())
    assert page.status_code == 403  # a disabled user cannot sign in again either


def test_logout_returns_to_the_console_only(served: ServeProcess, acme: Client) -> None:
    back = acme.http.get(
        "/logout", params={"client_id": CLIENT_ID, "logout_uri": acme.origin + "/signed-out"}
    )
    assert (back.status_code, back.headers["location"]) == (302, acme.origin + "/signed-out")
    away = acme.http.get(
        "/logout", params={"client_id": CLIENT_ID, "logout_uri": "https://evil.example/"}
    )
    assert away.status_code == 400
    assert "location" not in away.headers


def test_branding_by_host_is_public_and_tells_no_tenant_apart(served: ServeProcess) -> None:
    http = httpx.Client(base_url=served.url, timeout=30, trust_env=False)
    globex = http.get("/branding", params={"host": f"globex.localhost:{served.port}"})
    assert globex.status_code == 200
    assert globex.json() == {
        "tenant": "globex",
        "display_name": "Globex Inc",
        "primary_color": "#b3261e",
        "logo_url": None,
        "support_email": None,
    }
    assert globex.headers["cache-control"] == "public, max-age=60"
    assert globex.headers["access-control-allow-origin"] == "*"
    neutral = {
        "tenant": None,
        "display_name": "Console",
        "primary_color": None,
        "logo_url": None,
        "support_email": None,
    }
    for host in ("nobody.localhost", "acme.evil.example", "x.acme.localhost", "", "<script>"):
        answer = http.get("/branding", params={"host": host})
        assert (answer.status_code, answer.json()) == (200, neutral), host


def test_console_json_follows_the_host(served: ServeProcess, acme: Client) -> None:
    settings = acme.http.get("/console.json")
    assert settings.status_code == 200
    assert settings.headers["cache-control"] == "no-cache"
    body = settings.json()
    assert body["api"] == acme.origin
    assert body["websocket"] == f"ws://{acme.host}/ws"
    assert body["auth"]["authorize"] == acme.origin + "/oauth2/authorize"
    assert body["auth"]["client_id"] == CLIENT_ID
    assert body["local"] is True
    operator = Client(served, None).http.get("/console.json").json()
    assert operator["api"] == f"http://localhost:{served.port}"
    foreign = acme.http.get("/console.json", headers={"host": "evil.example"})
    assert foreign.status_code != 200


def test_html_requests_for_pages_get_the_console_others_the_api(acme: Client) -> None:
    html_accept = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    for path in ("/", "/files", "/users/123", "/chat/c1", "/callback", "/signed-out"):
        page = acme.http.get(path, headers=html_accept)
        assert (page.status_code, page.text) == (200, INDEX), path
        assert page.headers["cache-control"] == "no-cache"
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert f"ws://{acme.host}" in policy
    api = acme.http.get("/files", headers={"accept": "application/json"})
    assert api.status_code == 401  # the API: no token
    posted = acme.http.post("/files", headers=html_accept)
    assert posted.status_code == 401  # only GET and HEAD can be pages
    asset = acme.http.get("/assets/app-0a1b2c3d.js")
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert asset.headers["content-type"].startswith("text/javascript")
    assert acme.http.get("/assets/missing.js").status_code == 404
    assert acme.http.get("/assets/../../etc/passwd").status_code == 404


def test_a_missing_build_says_how_to_build(tmp_path: Path) -> None:
    from tenantkit_runtime.local.console import Console
    from tenantkit_runtime.local.issuer import LocalIssuer

    console = Console(LocalIssuer(tmp_path / "key"), port=8000, dist=tmp_path / "nothing")
    answer = console.answer("GET", "/chat", "acme.localhost:8000", "text/html")
    assert answer is not None
    assert answer.status == 404
    assert b"npm --prefix web ci &amp;&amp; npm --prefix web run build" in answer.body
    assert console.answer("GET", "/files", "acme.localhost:8000", "application/json") is None


def test_a_code_expires_after_a_minute(tmp_path: Path) -> None:
    from tenantkit_runtime.local.issuer import LocalIssuer
    from tenantkit_runtime.local.oauth import CODE_TTL, LocalSignIn
    from tenantkit_runtime.local.users import LocalUserStore

    store = LocalUserStore(tmp_path / "users.sqlite3")
    store.create(tenant_id="acme", email="ann@acme.example", roles=["member"])
    now = [1_000_000.0]
    signin = LocalSignIn(
        store,
        LocalIssuer(tmp_path / "key"),
        branding=lambda host: {"tenant": "acme", "display_name": "Acme"},
        clock=lambda: now[0],
    )
    host, verifier = "acme.localhost:8000", _verifier()
    fields = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": f"http://{host}/callback",
        "code_challenge": _challenge(verifier),
        "code_challenge_method": "S256",
    }
    page = signin.authorize_page(host, fields)
    form = {**_hidden_fields(page.body.decode()), "pick": "ann@acme.example"}
    answer = signin.authorize(host, form, cookie=form["csrf"], origin=None)
    code = parse_qs(urlsplit(dict(answer.headers)["location"]).query)["code"][0]
    now[0] += CODE_TTL
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": fields["redirect_uri"],
        "client_id": CLIENT_ID,
        "code_verifier": verifier,
    }
    assert signin.token(exchange) == (400, {"error": "invalid_grant"})


def test_the_operator_signs_in_on_the_bare_host_only(served: ServeProcess) -> None:
    operator = Client(served, None)
    page = operator.page(operator.query(_challenge(_verifier())))
    assert page.status_code == 200
    assert "operator@tenantkit.local" in page.text
    assert "acme" not in page.text
    tokens = operator.sign_in("operator@tenantkit.local")
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert "custom:tenant_id" not in claims
    assert claims["cognito:groups"] == ["operator"]
    assert operator.refresh(tokens["refresh_token"]).status_code == 200
    tenants = operator.http.get(
        "/operator/tenants", headers={"authorization": f"Bearer {tokens['id_token']}"}
    )
    assert tenants.status_code == 200, tenants.text
    refused = operator.pick("admin@acme.example", _verifier())
    assert refused.status_code == 403  # a tenant's admin is no operator
    on_acme = Client(served, "acme").pick("operator@tenantkit.local", _verifier())
    assert on_acme.status_code == 403  # nor is the operator one of acme's users


def test_the_api_answers_preflights_of_this_servers_consoles_only(
    served: ServeProcess, acme: Client
) -> None:
    ask = {"access-control-request-method": "PATCH", "access-control-request-headers": "x"}
    console = f"http://globex.localhost:{served.port}"
    preflight = acme.http.options("/config", headers={"origin": console, **ask})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == console
    assert "PATCH" in preflight.headers["access-control-allow-methods"].split(",")
    assert "authorization" in preflight.headers["access-control-allow-headers"].split(",")
    foreign = acme.http.options("/config", headers={"origin": "https://evil.example", **ask})
    assert foreign.status_code == 204
    assert "access-control-allow-origin" not in foreign.headers
    answer = acme.http.get("/files", headers={"origin": console, "accept": "application/json"})
    assert answer.status_code == 401
    assert answer.headers["access-control-allow-origin"] == console
    assert answer.headers["access-control-expose-headers"] == "retry-after"


@pytest.mark.parametrize(
    ("method", "path", "content"),
    [
        ("GET", "/oauth2/authorize?" + "&".join(f"f{i}=1" for i in range(40)), b""),
        ("POST", "/oauth2/token", "&".join(f"f{i}=1" for i in range(40)).encode()),
        ("POST", "/oauth2/token", b"grant_type=refresh_token&refresh_token=" + b"x" * 9000),
        ("POST", "/oauth2/authorize", b"\xff\xfe" * 100),
        ("PUT", "/oauth2/token", b""),
        ("GET", "/logout?client_id=tenantkit-local&logout_uri=%00", b""),
    ],
)
def test_hostile_sign_in_requests_get_a_4xx(
    acme: Client, method: str, path: str, content: bytes
) -> None:
    answer = acme.http.request(method, path, content=content)
    assert 400 <= answer.status_code < 500, answer.text


def test_codes_and_tokens_never_reach_the_log(served: ServeProcess, acme: Client) -> None:
    verifier = _verifier()
    code = acme.code("admin@acme.example", verifier)
    tokens = acme.exchange(code, verifier).json()
    acme.refresh(tokens["refresh_token"])
    acme.http.post(
        "/oauth2/revoke", data={"token": tokens["refresh_token"], "client_id": CLIENT_ID}
    )
    logs = served.logs + served.printed
    for secret in (code, verifier, tokens["refresh_token"], tokens["id_token"]):
        assert secret not in logs


# --- one callback for every console (--shared-callback) ------------------------------------


def test_shared_callback_console_json_names_the_bare_hosts_addresses(
    shared: ServeProcess,
) -> None:
    bare = f"http://localhost:{shared.port}"
    for tenant in ("acme", None):
        auth = Client(shared, tenant).http.get("/console.json").json()["auth"]
        assert auth["callback"] == bare + "/callback"
        assert auth["signed_out"] == bare + "/signed-out"


def test_shared_callback_signs_a_tenant_in_through_the_bare_host(shared: ServeProcess) -> None:
    acme = Client(shared, "acme", shared=True)
    tokens = acme.sign_in("admin@acme.example")
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["custom:tenant_id"] == "acme"
    # the page's form may lead to the bare host (the redirect answering it goes there)
    page = acme.page(acme.query(_challenge(_verifier())))
    policy = page.headers["content-security-policy"]
    assert f"form-action 'self' http://localhost:{shared.port};" in policy
    # the code stays bound to the redirect URI it was issued for
    verifier = _verifier()
    code = acme.code("admin@acme.example", verifier)
    moved = acme.exchange(code, verifier, redirect_uri=acme.origin + "/callback")
    assert moved.json() == {"error": "invalid_grant"}


@pytest.mark.parametrize(
    "redirect",
    [
        "http://acme.localhost:{port}/callback",  # the console's own: not on the list
        "http://globex.localhost:{port}/callback",
        "http://localhost:{port}/callback?next=https://evil.example",
        "http://localhost:{port}/other",
        "http://localhost:1/callback",
        "https://evil.example/callback",
    ],
)
def test_shared_callback_refuses_every_other_redirect_uri(
    shared: ServeProcess, redirect: str
) -> None:
    acme = Client(shared, "acme", shared=True)
    query = acme.query(_challenge(_verifier()), redirect_uri=redirect.format(port=shared.port))
    page = acme.page(query)
    assert page.status_code == 400
    assert "location" not in page.headers
    assert "redirect_uri must be the console domain&#x27;s /callback address" in page.text


def test_shared_callback_logout_goes_to_the_bare_hosts_signed_out_only(
    shared: ServeProcess,
) -> None:
    acme = Client(shared, "acme", shared=True)
    bare = f"http://localhost:{shared.port}/signed-out"
    back = acme.http.get("/logout", params={"client_id": CLIENT_ID, "logout_uri": bare})
    assert (back.status_code, back.headers["location"]) == (302, bare)
    for elsewhere in (acme.origin + "/signed-out", "https://evil.example/"):
        away = acme.http.get("/logout", params={"client_id": CLIENT_ID, "logout_uri": elsewhere})
        assert away.status_code == 400
        assert "location" not in away.headers
