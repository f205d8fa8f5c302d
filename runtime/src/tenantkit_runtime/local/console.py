"""The web console as ``tenantkit serve`` serves it, next to the API on one port.

The built console (``npm --prefix web run build`` writes it to
``tenantkit_runtime/console/dist``, which the wheel ships) is served for every host
of the server: ``http://acme.localhost:PORT/`` is acme's console, the bare
``http://localhost:PORT/`` the operator's.

Some console pages share their path with an API route (``/files``, ``/users``...).
A ``GET`` or ``HEAD`` whose ``Accept`` names ``text/html`` and whose first path
segment is one of :data:`CONSOLE_PAGES` is a page: it gets ``index.html`` (the
application routes in the browser). Everything else goes to the API; the
application's own requests always ask for ``application/json``.

==========================  =================================================================
``/assets/*``               the hashed build files, ``cache-control: public,
                            max-age=31536000, immutable``
pages, ``index.html``       ``no-cache`` (a new build is picked up at once)
``/console.json``           where the console finds the API, the WebSocket API and the
                            sign-in, built for the host of the request (``no-cache``)
==========================  =================================================================

Every answer carries a Content-Security-Policy: scripts and styles of the console's
own origin only, connections to the console's origin, its WebSocket and the local
storage's presigned URLs, never framed. Without a build, pages get a 404 page
saying how to build.
"""

from __future__ import annotations

import html
import json
import mimetypes
import os
import re
from pathlib import Path
from typing import Any

from tenantkit_runtime.local.gateway import HttpAnswer
from tenantkit_runtime.local.issuer import LocalIssuer
from tenantkit_runtime.local.oauth import (
    AUTHORIZE_PATH,
    LOCAL_DOMAIN,
    LOGOUT_PATH,
    REVOKE_PATH,
    TOKEN_PATH,
)

__all__ = [
    "CONSOLE_PAGES",
    "DEFAULT_DIST",
    "IMMUTABLE",
    "SCOPES",
    "Console",
    "is_page",
]

#: The console's page paths (their first segment; ``/`` too): an HTML request for
#: one of them gets ``index.html``.
CONSOLE_PAGES: tuple[str, ...] = (
    "chat",
    "files",
    "profile",
    "usage",
    "settings",
    "users",
    "operator",
    "callback",
    "signed-out",
)
#: Where the build lands (``vite build.outDir``), inside the installed package.
DEFAULT_DIST = Path(__file__).resolve().parent.parent / "console" / "dist"
#: ``cache-control`` of the hashed assets.
IMMUTABLE = "public, max-age=31536000, immutable"
#: The OAuth scopes the console asks for.
SCOPES = "openid email profile"
_NO_CACHE = "no-cache"
_BUILD = "npm --prefix web ci && npm --prefix web run build"
_ROOT_FILE = re.compile(r"^/[A-Za-z0-9][A-Za-z0-9._-]{0,100}\.[a-z0-9]{1,8}$")


def is_page(method: str, path: str, accept: str | None) -> bool:
    """Whether a request is for a console page rather than the API (see the module
    documentation)."""
    if method not in ("GET", "HEAD") or "text/html" not in (accept or ""):
        return False
    first = path.lstrip("/").split("/", 1)[0]
    return first == "" or first in CONSOLE_PAGES


class Console:
    """Serves the built console (see the module documentation).

    Args:
        issuer: the local issuer (its client id goes into ``console.json``).
        port: the server's port: only hosts on it are served.
        storage_origin: the local storage's presigned URLs' origin (allowed in
            ``connect-src``), if any.
        dist: the build directory (``TENANTKIT_CONSOLE_DIST``, else
            :data:`DEFAULT_DIST`).
        deployment: the name ``console.json`` gives the deployment.
        shared_callback: ``console.json`` names the bare host's ``/callback`` and
            ``/signed-out`` as every console's (``tenantkit serve --shared-callback``).
    """

    def __init__(
        self,
        issuer: LocalIssuer,
        *,
        port: int,
        storage_origin: str | None = None,
        dist: Path | None = None,
        deployment: str = "tenantkit serve",
        shared_callback: bool = False,
    ) -> None:
        self._shared = f"http://{LOCAL_DOMAIN}:{port}" if shared_callback else None
        configured = os.environ.get("TENANTKIT_CONSOLE_DIST")
        self.dist = (dist or (Path(configured) if configured else DEFAULT_DIST)).resolve()
        self._issuer = issuer
        self._storage_origin = storage_origin
        self._deployment = deployment
        self._host = re.compile(
            rf"^(?:(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)?localhost|127\.0\.0\.1):{port}$"
        )

    @property
    def built(self) -> bool:
        """Whether the build is there."""
        return (self.dist / "index.html").is_file()

    def serves_host(self, host: str) -> bool:
        """Whether ``host`` is one of this server's console hosts."""
        return bool(self._host.fullmatch(host.lower()))

    def answer(self, method: str, path: str, host: str, accept: str | None) -> HttpAnswer | None:
        """The console's answer to a request, ``None`` when it is the API's."""
        if method not in ("GET", "HEAD") or not self.serves_host(host):
            return None
        if path == "/console.json":
            return self._answer(method, host, json.dumps(self.settings(host)).encode())
        if is_page(method, path, accept):
            return self._file(method, host, self.dist / "index.html", _NO_CACHE, page=True)
        if path.startswith("/assets/"):
            return self._file(method, host, self.dist / path.lstrip("/"), IMMUTABLE)
        if _ROOT_FILE.fullmatch(path) and (self.dist / path[1:]).is_file():
            return self._file(method, host, self.dist / path[1:], _NO_CACHE)
        return None

    def settings(self, host: str) -> dict[str, Any]:
        """``console.json`` for ``host``."""
        base = f"http://{host}"
        auth = {
            "authorize": base + AUTHORIZE_PATH,
            "token": base + TOKEN_PATH,
            "revoke": base + REVOKE_PATH,
            "logout": base + LOGOUT_PATH,
            "client_id": self._issuer.client_id,
            "scopes": SCOPES,
        }
        if self._shared:
            auth["callback"] = self._shared + "/callback"
            auth["signed_out"] = self._shared + "/signed-out"
        return {
            "api": base,
            "websocket": f"ws://{host}/ws",
            "auth": auth,
            "local": True,
            "deployment": self._deployment,
        }

    def headers(self, host: str) -> list[tuple[str, str]]:
        """The security headers of every console answer."""
        connect = ["'self'", f"ws://{host}"]
        if self._storage_origin:
            connect.append(self._storage_origin)
        policy = (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: https:; font-src 'self'; "
            f"connect-src {' '.join(connect)}; frame-ancestors 'none'; base-uri 'self'; "
            "form-action 'self'; object-src 'none'"
        )
        return [
            ("content-security-policy", policy),
            ("x-frame-options", "DENY"),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "strict-origin-when-cross-origin"),
        ]

    def _file(
        self, method: str, host: str, path: Path, cache: str, *, page: bool = False
    ) -> HttpAnswer | None:
        try:
            resolved = path.resolve()
            if not resolved.is_relative_to(self.dist) or not resolved.is_file():
                raise FileNotFoundError(path)
            data = resolved.read_bytes()
        except (OSError, ValueError):
            if page:
                return self._not_built(method, host)
            return HttpAnswer(404, [("content-type", "text/plain; charset=utf-8")], b"Not Found")
        kind = mimetypes.guess_type(resolved.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
            kind += "; charset=utf-8"
        headers = [("content-type", kind), ("cache-control", cache), *self.headers(host)]
        return HttpAnswer(200, headers, b"" if method == "HEAD" else data)

    def _answer(self, method: str, host: str, data: bytes) -> HttpAnswer:
        headers = [
            ("content-type", "application/json"),
            ("cache-control", _NO_CACHE),
            *self.headers(host),
        ]
        return HttpAnswer(200, headers, b"" if method == "HEAD" else data)

    def _not_built(self, method: str, host: str) -> HttpAnswer:
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>The console is not built</title></head><body><main>"
            "<h1>The console is not built</h1>"
            f"<p>No build in <code>{html.escape(str(self.dist))}</code>. From the "
            f"repository, build it with <code>{html.escape(_BUILD)}</code> "
            "(<code>./run demo</code> builds it when it is missing), then reload.</p>"
            "<p>The API works without it.</p></main></body></html>"
        ).encode()
        headers = [
            ("content-type", "text/html; charset=utf-8"),
            ("cache-control", "no-store"),
            *self.headers(host),
        ]
        return HttpAnswer(404, headers, b"" if method == "HEAD" else body)
