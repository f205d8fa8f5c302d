"""The local sign-in: an OAuth 2.0 authorization server for ``tenantkit serve``.

It stands in for the Cognito Hosted UI, on its endpoint paths, so the web console
signs in locally exactly as it does on AWS (authorization code with PKCE S256):

=============================  ============================================================
``GET /oauth2/authorize``      a page clearly marked *Local sign-in: development only*,
                               branded with the tenant of the host it is served on,
                               listing that tenant's users (email and roles) to pick
``POST /oauth2/authorize``     the pick: a one-time code (60 s; bound to the client,
                               the ``redirect_uri``, the PKCE challenge and the user),
                               then ``302`` to ``redirect_uri?code=…&state=…``
``POST /oauth2/token``         ``authorization_code`` (PKCE checked, the code used once)
                               and ``refresh_token`` (:func:`.users.token_endpoint`:
                               a disabled or removed user's refresh is ``invalid_grant``,
                               roles are read again)
``POST /oauth2/revoke``        ends the session of a refresh token
``GET /logout``                ``302`` to ``logout_uri``
=============================  ============================================================

Rules, whatever the request says:

* the tenant is the first label of the host the request came to (``acme.localhost``);
  a user of another tenant is refused there ("this account belongs to another
  organisation"), and the tokens carry the user's tenant from the user store;
* ``redirect_uri`` and ``logout_uri`` must be on the very host the request came to
  (``http://acme.localhost:8000/callback``, ``…/signed-out``): any other is refused
  with an error page, never redirected to. With ``shared_callback`` (``tenantkit serve
  --shared-callback``) they must instead be exactly the bare host's
  (``http://localhost:8000/callback``, ``…/signed-out``), as an app client that lists
  one callback URL for every tenant's console has it on Cognito;
* the form is protected against cross-site posting by a token in a cookie
  (``SameSite=Strict``) repeated in the form, and by the ``Origin`` header;
* every page and error escapes what it shows and forbids framing and scripts.

Signing in marks an invited user ``active`` (the user store, and the control plane's
user table through ``on_sign_in``).

Protocol references: RFC 6749 (section 4.1, the code grant; 5.2, token errors),
RFC 7636 (PKCE, S256), RFC 7009 (revocation), and Cognito's endpoints
https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html
https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html
https://docs.aws.amazon.com/cognito/latest/developerguide/revocation-endpoint.html
https://docs.aws.amazon.com/cognito/latest/developerguide/logout-endpoint.html
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from tenantkit_runtime.auth.errors import TokenRejected
from tenantkit_runtime.branding import NEUTRAL, tenant_of_host
from tenantkit_runtime.local.gateway import HttpAnswer
from tenantkit_runtime.local.issuer import LocalIssuer
from tenantkit_runtime.local.users import LocalUserStore, token_endpoint
from tenantkit_runtime.roles import OPERATOR
from tenantkit_runtime.userstore import PoolUser

__all__ = [
    "AUTHORIZE_PATH",
    "CODE_TTL",
    "LOCAL_DOMAIN",
    "LOGOUT_PATH",
    "REVOKE_PATH",
    "TOKEN_PATH",
    "LocalSignIn",
]

AUTHORIZE_PATH = "/oauth2/authorize"
TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path, not a password
REVOKE_PATH = "/oauth2/revoke"
LOGOUT_PATH = "/logout"
#: The console domain of ``tenantkit serve``: ``acme.localhost`` is acme's console.
LOCAL_DOMAIN = "localhost"
#: Seconds an authorization code lives.
CODE_TTL = 60
#: The cookie holding the form's anti-forgery token.
CSRF_COOKIE = "tenantkit_signin"

_MAX_CODES = 10_000
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_AUTHORIZE_FIELDS = ("response_type", "client_id", "redirect_uri", "scope", "state")


@dataclass(frozen=True)
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    user_id: str
    email: str
    expires: float


class _Refused(Exception):
    """The request cannot be honoured: an error page with this message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class LocalSignIn:
    """The local authorization server (see the module documentation).

    Args:
        store: the local user pool.
        issuer: signs the tokens.
        branding: the public branding of a host (``tenant`` ``None`` when the host
            names no served tenant): :func:`tenantkit_runtime.branding.public_branding`.
        on_sign_in: called with each user who signs in (the server brings the control
            plane's user table in step).
        shared_callback: accept only the bare host's ``/callback`` and ``/signed-out``
            (see the module documentation).
    """

    def __init__(
        self,
        store: LocalUserStore,
        issuer: LocalIssuer,
        *,
        branding: Callable[[str], Mapping[str, Any]],
        on_sign_in: Callable[[PoolUser], None] | None = None,
        clock: Callable[[], float] = time.time,
        shared_callback: bool = False,
    ) -> None:
        self.shared_callback = shared_callback
        self.store = store
        self.issuer = issuer
        self._branding = branding
        self._on_sign_in = on_sign_in
        self._clock = clock
        self._codes: dict[str, _Grant] = {}
        self._lock = threading.Lock()

    # --- the authorization endpoint --------------------------------------------------------

    def authorize_page(self, host: str, query: Mapping[str, str]) -> HttpAnswer:
        """``GET /oauth2/authorize``: the sign-in page for ``host``, or an error page."""
        try:
            tenant, brand = self._host(host)
            self._check_request(host, query)
        except _Refused as refused:
            return _error_page(refused)
        csrf = secrets.token_urlsafe(24)
        users = self._users(tenant)
        answer = _page(
            brand,
            _sign_in_form(
                brand, users, {k: query.get(k, "") for k in _AUTHORIZE_FIELDS}, query, csrf
            ),
            # the redirect answering the form goes to the shared callback on the bare host
            form_action=f"'self' http://{_bare_host(host)}" if self.shared_callback else "'self'",
        )
        answer.headers.append(
            (
                "set-cookie",
                f"{CSRF_COOKIE}={csrf}; Path={AUTHORIZE_PATH}; HttpOnly; SameSite=Strict",
            )
        )
        return answer

    def authorize(
        self, host: str, form: Mapping[str, str], *, cookie: str | None, origin: str | None
    ) -> HttpAnswer:
        """``POST /oauth2/authorize``: issue a code for the picked user and redirect."""
        try:
            tenant, _ = self._host(host)
            if origin is not None and origin not in (f"http://{host}", f"https://{host}"):
                raise _Refused("the form was sent from another site", 403)
            sent = form.get("csrf", "")
            if not cookie or not sent or not hmac.compare_digest(cookie, sent):
                raise _Refused(
                    "the sign-in form expired or was sent from another site: start again", 403
                )
            self._check_request(host, form)
            user = self._user(tenant, form.get("pick") or form.get("email", ""))
        except _Refused as refused:
            return _error_page(refused)
        code = secrets.token_urlsafe(32)
        grant = _Grant(
            client_id=form["client_id"],
            redirect_uri=form["redirect_uri"],
            challenge=form["code_challenge"],
            user_id=user.user_id,
            email=user.email,
            expires=self._clock() + CODE_TTL,
        )
        with self._lock:
            now = self._clock()
            for key in [k for k, g in self._codes.items() if g.expires <= now]:
                del self._codes[key]
            if len(self._codes) >= _MAX_CODES:
                return _error_page(_Refused("too many sign-ins at once: try again", 503))
            self._codes[code] = grant
        params = {"code": code}
        if form.get("state"):
            params["state"] = form["state"]
        location = form["redirect_uri"] + "?" + urlencode(params)
        return HttpAnswer(302, [("location", location), ("cache-control", "no-store")], b"")

    # --- the token, revocation and logout endpoints ----------------------------------------

    def token(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """``POST /oauth2/token``: the status and JSON body (RFC 6749 section 5)."""
        if form.get("grant_type") != "authorization_code":
            return token_endpoint(self.store, self.issuer, form)
        if form.get("client_id") != self.issuer.client_id:
            return 400, {"error": "invalid_client"}
        code, verifier = form.get("code", ""), form.get("code_verifier", "")
        if not code or len(code) > 128 or not _VERIFIER.fullmatch(verifier):
            return 400, {"error": "invalid_request"}
        with self._lock:
            grant = self._codes.pop(code, None)  # used once, whatever happens next
        if (
            grant is None
            or grant.expires <= self._clock()
            or grant.client_id != form.get("client_id")
            or grant.redirect_uri != form.get("redirect_uri")
            or not hmac.compare_digest(_s256(verifier), grant.challenge)
        ):
            return 400, {"error": "invalid_grant"}
        user = self.store.get(grant.user_id)
        if user is None or not user.enabled:
            return 400, {"error": "invalid_grant"}
        try:
            tokens = self.store.sign_in(user.email, self.issuer)
        except TokenRejected:
            return 400, {"error": "invalid_grant"}
        if self._on_sign_in is not None:
            self._on_sign_in(user)
        return 200, tokens

    def revoke(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """``POST /oauth2/revoke``: end a refresh token's session (RFC 7009)."""
        token = form.get("token", "")
        if not token or len(token) > 512:
            return 400, {"error": "invalid_request"}
        if form.get("client_id") != self.issuer.client_id:
            return 400, {"error": "invalid_client"}
        self.store.revoke(token)
        return 200, {}

    def logout(self, host: str, query: Mapping[str, str]) -> HttpAnswer:
        """``GET /logout``: back to the console's ``logout_uri`` on the same host."""
        try:
            if query.get("client_id") != self.issuer.client_id:
                raise _Refused("unknown client_id")
            target = query.get("logout_uri", "")
            if self.shared_callback:
                if target != f"http://{_bare_host(host)}/signed-out":
                    raise _Refused("logout_uri must be the console domain's /signed-out address")
            elif not _same_host(target, host):
                raise _Refused("logout_uri must be an address of this console")
        except _Refused as refused:
            return _error_page(refused)
        return HttpAnswer(302, [("location", target), ("cache-control", "no-store")], b"")

    # --- plumbing --------------------------------------------------------------------------

    def _host(self, host: str) -> tuple[str | None, Mapping[str, Any]]:
        """The tenant served on ``host`` (``None``: the operator's host) and its branding."""
        name = host.rsplit(":", 1)[0].lower() if ":" in host else host.lower()
        if name in (LOCAL_DOMAIN, "127.0.0.1"):
            return None, {**NEUTRAL, "display_name": "tenantkit operator"}
        tenant = tenant_of_host(host, LOCAL_DOMAIN)
        brand = self._branding(host) if tenant is not None else NEUTRAL
        if tenant is None or brand.get("tenant") != tenant:
            raise _Refused("this address is not the console of an organisation", 404)
        return tenant, brand

    def _check_request(self, host: str, fields: Mapping[str, str]) -> None:
        if fields.get("client_id") != self.issuer.client_id:
            raise _Refused("unknown client_id")
        if self.shared_callback:
            if fields.get("redirect_uri") != f"http://{_bare_host(host)}/callback":
                raise _Refused("redirect_uri must be the console domain's /callback address")
        elif not _same_host(fields.get("redirect_uri", ""), host, path="/callback"):
            raise _Refused("redirect_uri must be this console's /callback address")
        if fields.get("response_type") != "code":
            raise _Refused("response_type must be code")
        if fields.get("code_challenge_method") != "S256":
            raise _Refused("code_challenge_method must be S256 (PKCE)")
        if not _CHALLENGE.fullmatch(fields.get("code_challenge", "")):
            raise _Refused("code_challenge must be a base64url SHA-256 digest")
        if len(fields.get("state", "")) > 512 or len(fields.get("scope", "")) > 512:
            raise _Refused("state or scope is too long")

    def _users(self, tenant: str | None) -> list[PoolUser]:
        if tenant is None:
            return self.store.operators()
        return self.store.tenant_users(tenant)

    def _user(self, tenant: str | None, email: str) -> PoolUser:
        user = self.store.find_email(email.strip()) if 0 < len(email) <= 254 else None
        if user is None or not user.enabled:
            raise _Refused("no enabled user has this email", 403)
        if tenant is None:
            if OPERATOR not in user.roles:
                raise _Refused(
                    "this is the operator's console: sign in on your organisation's", 403
                )
        elif user.tenant_id != tenant:
            raise _Refused("this account belongs to another organisation", 403)
        return user


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _bare_host(host: str) -> str:
    """The console domain's own host on the port of ``host`` (``localhost:8000``)."""
    _, colon, port = host.rpartition(":")
    return f"{LOCAL_DOMAIN}:{port}" if colon and port.isdigit() else LOCAL_DOMAIN


def _same_host(url: str, host: str, *, path: str | None = None) -> bool:
    """Whether ``url`` is an http(s) address on ``host`` (with ``path`` if given)."""
    if not url or len(url) > 2048:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and parts.netloc.lower() == host.lower()
        and not parts.username
        and (path is None or (parts.path == path and not parts.query and not parts.fragment))
    )


# --- pages ---------------------------------------------------------------------------------

_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1b1f24}
main{max-width:28rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;
box-shadow:0 1px 3px rgba(0,0,0,.15)}
.local{background:#fff4ce;color:#4d3b00;border:1px solid #d9b600;padding:.5rem .75rem;
border-radius:4px;font-weight:600}
h1{margin:.75rem 0;font-size:1.5rem}
ul{list-style:none;padding:0}
li{margin:.5rem 0}
label{display:block;margin:.25rem 0}
input[type=email]{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;
border:1px solid #6b7280;border-radius:4px}
button{margin-top:1rem;padding:.6rem 1.2rem;font:inherit;border:0;border-radius:4px;
background:var(--primary);color:var(--on-primary);cursor:pointer}
button:focus-visible,input:focus-visible{outline:3px solid #1b1f24;outline-offset:2px}
.error{color:#8a1c1c}
"""


def _page(
    brand: Mapping[str, Any], body: str, status: int = 200, *, form_action: str = "'self'"
) -> HttpAnswer:
    """A page of the sign-in; ``form_action`` lists where its form may lead (the CSP's
    ``form-action`` also covers the redirect that answers the form)."""
    nonce = secrets.token_urlsafe(16)
    color = brand.get("primary_color")
    primary = color if isinstance(color, str) and _COLOR.fullmatch(color) else "#3b4a5a"
    on_primary = "#000000" if _luminance(primary) > 0.179 else "#ffffff"
    name = brand.get("display_name") or "tenantkit"
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Sign in to {html.escape(str(name))} (local)</title>"
        f'<style nonce="{nonce}">:root{{--primary:{primary};--on-primary:{on_primary}}}'
        f"{_STYLE}</style></head><body><main>"
        '<p class="local" role="note">Local sign-in — development only</p>'
        f"{body}</main></body></html>"
    )
    headers = [
        ("content-type", "text/html; charset=utf-8"),
        ("cache-control", "no-store"),
        (
            "content-security-policy",
            f"default-src 'none'; style-src 'nonce-{nonce}'; form-action {form_action}; "
            "frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),  # no-referrer would send Origin: null
    ]
    return HttpAnswer(status, headers, document.encode())


def _error_page(refused: _Refused) -> HttpAnswer:
    body = (
        f'<h1>Cannot sign in</h1><p class="error" role="alert">{html.escape(refused.message)}</p>'
    )
    return _page(NEUTRAL, body, refused.status)


def _sign_in_form(
    brand: Mapping[str, Any],
    users: list[PoolUser],
    fields: Mapping[str, str],
    query: Mapping[str, str],
    csrf: str,
) -> str:
    name = html.escape(str(brand.get("display_name") or brand.get("tenant") or "tenantkit"))
    hidden = {
        **fields,
        "code_challenge": query.get("code_challenge", ""),
        "code_challenge_method": query.get("code_challenge_method", ""),
        "csrf": csrf,
    }
    inputs = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(v, quote=True)}">'
        for k, v in hidden.items()
    )
    buttons = "".join(
        f'<li><button type="submit" name="pick" value="{html.escape(u.email, quote=True)}">'
        f"Sign in as {html.escape(u.email)}</button> "
        f"<span>({html.escape(', '.join(u.roles) or 'no role')})</span></li>"
        for u in users
    )
    listed = f'<ul aria-label="Users of {name}">{buttons}</ul>' if buttons else ""
    return (
        f"<h1>Sign in to {name}</h1>"
        f'<form method="post" action="{AUTHORIZE_PATH}">{inputs}{listed}'
        '<label for="email">Email</label>'
        '<input type="email" id="email" name="email" autocomplete="username">'
        '<button type="submit">Sign in</button></form>'
    )


def _luminance(color: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    channels = []
    for i in (1, 3, 5):
        c = int(color[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
