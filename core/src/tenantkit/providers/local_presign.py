"""The server side of the ``local`` provider's presigned URLs: a small WSGI application.

:class:`PresignApp` answers the URLs that
:meth:`~tenantkit.providers.local_storage.LocalObjectStore.presign_get` and
``presign_put`` hand out, against the same directory. Mount it where the store's
``base_url`` points (it reads the key from ``PATH_INFO``, so a mounting server
strips its own path prefix into ``SCRIPT_NAME`` as WSGI servers do)::

    store = LocalObjectStore(settings)
    app = PresignApp(store, tenants=lambda tenant: tenant in {"acme", "globex"})

Every request is checked before anything is read or written: a URL whose key is not
under the prefix of the tenant it was signed for (its ``tenant`` parameter), whose
tenant the application does not serve (``tenants``), whose signature does not match
(altered path, tenant, method, expiry or content type) or that has expired gets
``403``; only then does a missing object get ``404``. ``GET`` honours a single
``Range`` (``206``, or ``416`` when unsatisfiable); ``HEAD`` is allowed with a GET
URL; ``PUT`` needs a ``Content-Length`` and, when the URL was signed with a content
type, that exact ``Content-Type``. Bodies stream in bounded chunks both ways. The
app logs nothing and its answers never carry the signing key.

:func:`serve` runs an application with :mod:`wsgiref` in a background thread, for
tests and quick local use.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from socketserver import ThreadingMixIn
from typing import Any, BinaryIO
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from tenantkit.errors import (
    InvalidRequest,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    TenantkitError,
)
from tenantkit.identifiers import is_tenant_id
from tenantkit.providers.local_storage import LocalObjectStore, _Chunks

__all__ = ["PresignApp", "serve"]

_CHUNK = 64 * 1024
_PARAMS = frozenset({"tenant", "expires", "signature", "content_type"})
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_REASONS = {
    200: "OK",
    206: "Partial Content",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    416: "Range Not Satisfiable",
    500: "Internal Server Error",
    507: "Insufficient Storage",
}


class _Refused(Exception):
    def __init__(self, status: int, message: str, headers: Iterable[tuple[str, str]] = ()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)


class PresignApp:
    """WSGI application serving a :class:`LocalObjectStore`'s presigned URLs.

    Args:
        store: the store whose objects it serves.
        tenants: which tenants' URLs it serves (all when omitted): a mount shared by
            the tenants of one configured store answers only theirs.
        chunk_size: bytes read or written at a time.
    """

    def __init__(
        self,
        store: LocalObjectStore,
        *,
        tenants: Callable[[str], bool] | None = None,
        chunk_size: int = _CHUNK,
    ) -> None:
        self._store = store
        self._tenants = tenants
        self._chunk_size = chunk_size

    def __repr__(self) -> str:
        return f"PresignApp({self._store!r})"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            return self._handle(environ, start_response)
        except _Refused as refusal:
            return _text(start_response, refusal.status, refusal.message, refusal.headers)
        except NotFound as exc:
            return _text(start_response, 404, exc.message)
        except QuotaExceeded as exc:
            return _text(start_response, 507, exc.message)
        except PermissionDenied as exc:
            return _text(start_response, 403, exc.message)
        except InvalidRequest as exc:
            return _text(start_response, 400, exc.message)
        except TenantkitError as exc:
            return _text(start_response, 500, exc.message)
        except Exception:
            return _text(start_response, 500, "internal error")

    def _handle(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        if method not in ("GET", "HEAD", "PUT"):
            raise _Refused(405, "method not allowed", [("Allow", "GET, HEAD, PUT")])
        key = self._authorize(environ, "GET" if method == "HEAD" else method)
        if method == "PUT":
            return self._put(environ, start_response, key)
        return self._get(environ, start_response, key, body=method == "GET")

    def _authorize(self, environ: WSGIEnvironment, method: str) -> str:
        """The key of a request whose signature matches and has not expired."""
        try:
            raw_path = str(environ.get("PATH_INFO", "")).encode("latin-1").decode("utf-8")
        except UnicodeError:
            raise _Refused(400, "the path is not UTF-8") from None
        key = raw_path.removeprefix("/")
        params = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
        if set(params) - _PARAMS or any(len(values) != 1 for values in params.values()):
            raise _Refused(403, "not a presigned URL")
        tenant = params.get("tenant", [""])[0]
        expires = params.get("expires", [""])[0]
        signature = params.get("signature", [""])[0]
        content_type = params.get("content_type", [""])[0]
        if not (expires.isascii() and expires.isdigit()) or not signature:
            raise _Refused(403, "not a presigned URL")
        if not is_tenant_id(tenant) or not key.startswith(tenant + "/"):
            raise _Refused(403, "the key is not under the tenant the URL was signed for")
        if self._tenants is not None and not self._tenants(tenant):
            raise _Refused(403, "this server does not serve that tenant's objects")
        if not self._store._check_signature(
            method, tenant, key, int(expires), content_type, signature
        ):
            raise _Refused(403, "the signature does not match this request")
        if time.time() > int(expires):
            raise _Refused(403, "the presigned URL has expired")
        if "content_type" in params:
            sent = str(environ.get("CONTENT_TYPE") or "")
            if sent != content_type:
                raise _Refused(403, "Content-Type differs from the one the URL was signed for")
        return key

    def _get(
        self, environ: WSGIEnvironment, start_response: StartResponse, key: str, *, body: bool
    ) -> Iterable[bytes]:
        file, header = self._store._open_key(key)
        try:
            span = _range(environ.get("HTTP_RANGE"), header.size)
        except _Refused:
            file.close()
            raise
        headers = [
            ("Content-Type", header.content_type),
            ("ETag", f'"{header.etag}"'),
            (
                "Last-Modified",
                format_datetime(datetime.fromtimestamp(header.modified, UTC), usegmt=True),
            ),
            ("Accept-Ranges", "bytes"),
        ]
        if span is None:
            status, start, count = 200, 0, header.size
        else:
            status, (start, count) = 206, span
            end = start + count - 1
            headers.append(("Content-Range", f"bytes {start}-{end}/{header.size}"))
        headers.append(("Content-Length", str(count)))
        start_response(f"{status} {_REASONS[status]}", headers)
        if not body:
            file.close()
            return []
        return _Chunks(file, start, count, self._chunk_size)

    def _put(
        self, environ: WSGIEnvironment, start_response: StartResponse, key: str
    ) -> Iterable[bytes]:
        declared = str(environ.get("CONTENT_LENGTH") or "")
        if environ.get("HTTP_TRANSFER_ENCODING") or not (declared.isascii() and declared.isdigit()):
            raise _Refused(411, "PUT needs a Content-Length")
        content_type = str(environ.get("CONTENT_TYPE") or "") or None
        body = _read(environ["wsgi.input"], int(declared), self._chunk_size)
        info = self._store.put(key, body, content_type=content_type)
        headers = [("ETag", f'"{info.etag}"'), ("Content-Length", "0")]
        start_response("200 OK", headers)
        return []


def _read(stream: BinaryIO, length: int, chunk_size: int) -> Iterator[bytes]:
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(chunk_size, remaining))
        if not chunk:
            raise InvalidRequest(f"the request body ended {remaining} bytes early")
        remaining -= len(chunk)
        yield chunk


def _range(header: Any, size: int) -> tuple[int, int] | None:
    """``(start, count)`` of a single byte range, ``None`` to send the whole object."""
    if not header:
        return None
    match = _RANGE.fullmatch(str(header).strip())
    if match is None:  # malformed or several ranges: a server may ignore the header
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(0, size - suffix), min(suffix, size)
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise _unsatisfiable(size)
    end = size - 1 if not last else min(int(last), size - 1)
    return start, end - start + 1


def _unsatisfiable(size: int) -> _Refused:
    return _Refused(416, "the range is not satisfiable", [("Content-Range", f"bytes */{size}")])


def _text(
    start_response: StartResponse,
    status: int,
    message: str,
    headers: Iterable[tuple[str, str]] = (),
) -> list[bytes]:
    body = f"{message}\n".encode()
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *headers,
        ],
    )
    return [body]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: request lines carry presigned URLs, which are credentials."""


@contextlib.contextmanager
def serve(app: WSGIApplication, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` with :mod:`wsgiref` in a background thread; yields its base URL.

    The server stops when the ``with`` block ends.
    """
    server = make_server(
        host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
