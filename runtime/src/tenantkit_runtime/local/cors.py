"""CORS for the local store's presigned URLs, answered to the consoles of this server.

A console at ``http://<tenant>.localhost:PORT`` uploads straight to a presigned URL
(``PUT``, with the upload's ``content-type``) and downloads from one. Those URLs live
on the server's storage origin (``http://127.0.0.1:PORT/_storage/...``), another
origin for the browser, so the browser asks first (a preflight ``OPTIONS``) and reads
the answer only when it carries ``Access-Control-Allow-Origin``.

Only the consoles of this server are answered: ``http(s)://localhost:PORT`` and
``http(s)://<label>.localhost:PORT`` with this server's port. The presigned URL stays
the credential: CORS only lets a console's script read what its URL already grants.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["PresignedCors", "is_console_origin"]

_METHODS = "GET, HEAD, PUT"
_MAX_AGE = "600"
#: The request headers a presigned PUT carries (the upload's ``headers``).
_ALLOWED_HEADERS = frozenset(
    {"content-type", "content-length", "content-md5", "x-amz-checksum-sha256"}
)
_EXPOSED = "etag, content-length, content-type"


def is_console_origin(origin: str, port: int | None) -> bool:
    """Whether ``origin`` (an ``Origin`` header) is a console of the server on ``port``."""
    try:
        parts = urlsplit(origin)
        origin_port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or parts.path or parts.query or parts.username:
        return False
    if origin_port is None:
        origin_port = 443 if parts.scheme == "https" else 80
    if origin_port != port:
        return False
    if host == "localhost":
        return True
    label, _, rest = host.partition(".")
    return rest == "localhost" and label.isascii() and label.replace("-", "").isalnum()


class PresignedCors:
    """ASGI middleware: answers preflights and marks answers for the consoles' origins."""

    def __init__(self, app: ASGIApp, port: int | None) -> None:
        self.app = app
        self.port = port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = origin is not None and is_console_origin(origin, self.port)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(send, origin if allowed else None, headers)
            return
        if not allowed:
            await self.app(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not k.lower().startswith(b"access-control-")
                ]
                raw += [
                    (b"access-control-allow-origin", str(origin).encode("latin-1")),
                    (b"access-control-expose-headers", _EXPOSED.encode()),
                    (b"vary", b"Origin"),
                ]
                message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, marked)

    async def _preflight(self, send: Send, origin: str | None, headers: Headers) -> None:
        raw: list[tuple[bytes, bytes]] = [(b"vary", b"Origin"), (b"content-length", b"0")]
        method = headers.get("access-control-request-method", "").upper()
        wanted = {
            h.strip().lower()
            for h in headers.get("access-control-request-headers", "").split(",")
            if h.strip()
        }
        status = 403
        if origin is not None and method in ("GET", "HEAD", "PUT") and wanted <= _ALLOWED_HEADERS:
            status = 204
            raw += [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-methods", _METHODS.encode()),
                (
                    b"access-control-allow-headers",
                    ", ".join(sorted(wanted)).encode() or b"content-type",
                ),
                (b"access-control-max-age", _MAX_AGE.encode()),
            ]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": b""})
