"""``tenantkit serve``: API Gateway on 127.0.0.1, in front of the runtime's functions.

One port serves what a deployment spreads over several AWS endpoints:

==================================  ===================================================
``/conversations``, ``/files``...   the HTTP API: the template's routes, each request
                                    authorized by the ``auth`` function (simple
                                    responses, identity source ``Authorization``), then
                                    handed to its function as a payload 2.0 event
``ws://…/ws``                       the WebSocket API: ``$connect`` authorized with the
                                    ``token`` query parameter, then ``$connect``,
                                    messages (route selection ``$request.body.action``)
                                    and ``$disconnect`` handed to the ``websocket``
                                    function
``/ws/@connections/{id}``           the WebSocket API's Management API: ``POST``
                                    (send to the connection), ``GET``, ``DELETE``;
                                    ``410 GoneException`` for a closed or unknown one;
                                    only requests SigV4-signed with the deployment's
                                    credentials (:mod:`.management_auth`), else 403
``/.well-known/jwks.json``          the local token issuer's keys, which the
                                    authorizer fetches like a Cognito pool's
``/oauth2/authorize``, ``/token``,   the local sign-in (:mod:`.oauth`): Cognito's
``/revoke``, ``/logout``            hosted UI endpoints, authorization code + PKCE
the web console                     ``http://<tenant>.localhost:PORT/`` (and the
                                    operator's at ``http://localhost:PORT/``): pages,
                                    assets and ``console.json`` (:mod:`.console`)
the local storage's ``base_url``    presigned GET/PUT URLs of the deployment's
                                    ``local`` store (its defaults' ``storage``
                                    section), for the tenants that use it
==================================  ===================================================

The functions run in this process, called as Lambda calls them: the event and the
answer cross as JSON, each function is imported on its first call, and a function
that raises makes the gateway answer as API Gateway does (500). Nothing here is
imported by the functions themselves: the server's libraries (uvicorn, Starlette,
a2wsgi, websockets; the ``serve`` extra) load only in ``tenantkit serve``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import logging
import os
import secrets
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, cast
from urllib.parse import parse_qsl, urlsplit

import anyio
import uvicorn
from a2wsgi import WSGIMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from tenantkit.errors import ConfigurationError, TenantkitError
from tenantkit.sources import DirectorySource
from tenantkit_runtime import logs
from tenantkit_runtime.limits import MAX_HTTP_BODY, MAX_REQUEST_LINE, MAX_WEBSOCKET_MESSAGE
from tenantkit_runtime.local import gateway, oauth
from tenantkit_runtime.local.console import Console
from tenantkit_runtime.local.cors import PresignedCors, is_console_origin
from tenantkit_runtime.local.gateway import Connection, HttpRequest
from tenantkit_runtime.local.management_auth import ManagementAuth, Refusal
from tenantkit_runtime.local.oauth import (
    AUTHORIZE_PATH,
    LOGOUT_PATH,
    REVOKE_PATH,
    TOKEN_PATH,
    LocalSignIn,
)

__all__ = [
    "JWKS_PATH",
    "WEBSOCKET_PATH",
    "FunctionError",
    "Functions",
    "Gateway",
    "LambdaContext",
    "LocalServer",
    "StorageMounts",
    "serve",
]

log = logging.getLogger("tenantkit_runtime.local")

#: Where the WebSocket API is served; its Management API is below it.
WEBSOCKET_PATH = "/ws"
#: Where the local issuer's key set is served.
JWKS_PATH = "/.well-known/jwks.json"
#: How long a function may run, as the template's ``Timeout``.
FUNCTION_TIMEOUT = 29.0

Handler = Callable[[dict[str, Any], Any], Any]


# --- the functions -------------------------------------------------------------------------


@dataclass
class LambdaContext:
    """The context object a Lambda handler receives."""

    function_name: str
    aws_request_id: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    deadline: float = field(default=0.0, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class FunctionError(Exception):
    """A function raised, or answered something that is not JSON.

    ``message`` is what Lambda reports as ``errorMessage``: API Gateway turns an
    authorizer's ``Unauthorized`` into 401.
    """

    def __init__(self, function: str, error: BaseException) -> None:
        super().__init__(f"function {function!r} failed: {type(error).__name__}")
        self.function = function
        self.message = str(error)
        self.error = error


class Functions:
    """The Lambda functions behind the gateway, by name (``auth``, ``chat``...).

    Each is ``tenantkit_runtime.functions.<name>.handler`` unless ``handlers`` names
    another, and is imported on its first call, as a cold start imports it.
    """

    def __init__(self, handlers: Mapping[str, Handler] | None = None) -> None:
        self._handlers: dict[str, Handler] = dict(handlers or {})
        self._lock = threading.Lock()

    def handler(self, name: str) -> Handler:
        found = self._handlers.get(name)
        if found is None:
            with self._lock:
                found = self._handlers.get(name)
                if found is None:
                    module = importlib.import_module(f"tenantkit_runtime.functions.{name}")
                    found = self._handlers[name] = module.handler
        return found

    def invoke(self, name: str, event: Mapping[str, Any]) -> Any:
        """Call the function with ``event`` as Lambda would; its answer, through JSON.

        Raises:
            FunctionError: the function raised, or its answer is not JSON.
        """
        request_id = secrets.token_hex(16)
        context = LambdaContext(
            function_name=name,
            aws_request_id=request_id,
            invoked_function_arn=(
                f"arn:aws:lambda:{gateway.REGION}:{gateway.ACCOUNT_ID}:function:{name}"
            ),
            log_group_name=f"/aws/lambda/{name}",
            deadline=time.monotonic() + FUNCTION_TIMEOUT,
        )
        try:
            handler = self.handler(name)
            result = handler(json.loads(json.dumps(event)), context)
            return json.loads(json.dumps(result))
        except Exception as exc:
            raise FunctionError(name, exc) from exc


# --- local storage -------------------------------------------------------------------------


@dataclass
class _Mount:
    prefix: str
    identity: tuple[str, str]
    app: ASGIApp
    tenants: frozenset[str] = frozenset()


class StorageMounts:
    """The presigned URLs of the deployment's ``local`` store.

    Only what the operator configured is served: the ``storage`` section of the
    deployment's defaults (``defaults.json`` in the configuration directory), when it
    names the ``local`` provider and its ``base_url`` points at this server. A tenant's
    own section never mounts anything. The mount answers only the URLs of the tenants
    that use that store unchanged, each for keys under its own prefix
    (:class:`~tenantkit.providers.local_presign.PresignApp`), and never sits where it
    would hide a route of the API: such a ``base_url`` stops the server at start
    (:class:`~tenantkit.errors.ConfigurationError`) and is left unserved, with an error
    in the log, when the defaults change while it runs. The directory is read at start
    and again when a request misses (at most once a second).
    """

    def __init__(self, config_dir: Path | None, origin: str) -> None:
        self._config_dir = config_dir
        self._netloc = urlsplit(origin).netloc
        self._mount: _Mount | None = None
        self._scanned = 0.0
        self._scanned_mtime: int | None = None
        self._lock = threading.Lock()
        self.rescan(strict=True)

    @property
    def paths(self) -> list[str]:
        return [self._mount.prefix] if self._mount is not None else []

    def find(self, path: str) -> tuple[str, ASGIApp] | None:
        """The mount serving ``path``: its prefix and application."""
        found = self._lookup(path)
        if found is None and self._stale():
            self.rescan()
            found = self._lookup(path)
        return found

    def serves(self, tenant: str) -> bool:
        """Whether the mounted store is ``tenant``'s (the defaults' store, unchanged)."""
        mount = self._mount
        if mount is not None and tenant in mount.tenants:
            return True
        if self._stale():
            self.rescan()
            mount = self._mount
        return mount is not None and tenant in mount.tenants

    def _stale(self) -> bool:
        """A second has passed, or a tenant file was added or removed since the scan."""
        return (
            time.monotonic() - self._scanned > 1.0 or self._directory_mtime() != self._scanned_mtime
        )

    def _directory_mtime(self) -> int | None:
        try:
            return self._config_dir.stat().st_mtime_ns if self._config_dir is not None else None
        except OSError:
            return None

    def _lookup(self, path: str) -> tuple[str, ASGIApp] | None:
        mount = self._mount
        if mount is not None and path.startswith(mount.prefix + "/"):
            return mount.prefix, mount.app
        return None

    def rescan(self, *, strict: bool = False) -> None:
        """Read the configuration directory again.

        Raises:
            ConfigurationError: with ``strict``, the defaults' ``base_url`` would hide
                an API route.
        """
        from tenantkit.providers.local_presign import PresignApp
        from tenantkit.providers.local_storage import LocalObjectStore, LocalStorageSettings

        with self._lock:
            self._scanned = time.monotonic()
            self._scanned_mtime = self._directory_mtime()
            if self._config_dir is None or not self._config_dir.is_dir():
                return
            source = DirectorySource(self._config_dir)
            try:
                section = source.read_defaults().get("storage")
                if not isinstance(section, dict) or section.get("provider") != "local":
                    self._mount = None
                    return
                settings = LocalStorageSettings.model_validate(
                    {k: v for k, v in section.items() if k != "provider"}
                )
            except (TenantkitError, ValueError, TypeError):
                log.warning("the defaults' local storage section is invalid: not serving it")
                return
            url = urlsplit(settings.base_url)
            if url.netloc != self._netloc:
                self._mount = None
                return
            prefix = url.path.rstrip("/")
            hidden = gateway.shadowed_route(prefix, (WEBSOCKET_PATH, JWKS_PATH))
            if hidden is not None:
                message = (
                    f"the local storage base_url path {prefix or '/'!r} would hide the API "
                    f"route {hidden!r}: give the defaults' storage a base_url with a path of "
                    "its own, such as /_storage"
                )
                if strict:
                    raise ConfigurationError(message)
                log.error(message)
                self._mount = None
                return
            tenants = frozenset(
                tenant for tenant in source.tenant_ids() if _uses(source, tenant, section)
            )
            identity = (str(settings.root), settings.signing_key.get_secret_value())
            mount = self._mount
            if mount is not None and (mount.prefix, mount.identity) == (prefix, identity):
                mount.tenants = tenants
                return
            presign = PresignApp(LocalObjectStore(settings), tenants=self.serves)
            wsgi = cast(ASGIApp, WSGIMiddleware(presign))  # type: ignore[arg-type]
            app = PresignedCors(wsgi, urlsplit(f"//{self._netloc}").port)
            self._mount = _Mount(prefix, identity, app, tenants)
            log.info("serving local storage presigned URLs at %s", settings.base_url)


def _uses(source: DirectorySource, tenant: str, section: Mapping[str, Any]) -> bool:
    """Whether ``tenant``'s storage is the defaults' ``section`` unchanged."""
    try:
        return source.fetch(tenant).raw.get("storage") == section
    except TenantkitError:
        return False


# --- the gateway ---------------------------------------------------------------------------


@dataclass
class _Socket:
    connection: Connection
    websocket: WebSocket
    lock: anyio.Lock = field(default_factory=anyio.Lock)


def _message(status: int, message: str, **headers: str) -> Response:
    """API Gateway's own answers: ``{"message": ...}``."""
    return JSONResponse({"message": message}, status_code=status, headers=headers)


class Gateway:
    """The local API Gateway, an ASGI application (see the module documentation).

    Args:
        functions: the Lambda functions it calls.
        jwks: the local issuer's key set.
        storage: the local storage mounts.
        management_auth: who may call the Management API (requests signed with this
            process's AWS credentials by default).
        max_concurrency: how many function calls run at once.
        signin: the local sign-in (:mod:`.oauth`), if served.
        console: the web console (:mod:`.console`), if served.
    """

    def __init__(
        self,
        functions: Functions,
        *,
        jwks: Callable[[], Mapping[str, Any]] | None = None,
        storage: StorageMounts | None = None,
        management_auth: ManagementAuth | None = None,
        max_concurrency: int = 32,
        signin: LocalSignIn | None = None,
        console: Console | None = None,
    ) -> None:
        self.functions = functions
        self._signin = signin
        self._console = console
        self._management_auth = management_auth or ManagementAuth()
        self._jwks = jwks
        self._storage = storage
        self._limiter = anyio.CapacityLimiter(max_concurrency)
        self._sockets: dict[str, _Socket] = {}
        self._management = WEBSOCKET_PATH + "/@connections/"

    @property
    def connections(self) -> list[str]:
        """The ids of the open WebSocket connections."""
        return list(self._sockets)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(WebSocket(scope, receive, send))

    async def _invoke(self, name: str, event: Mapping[str, Any]) -> Any:
        return await anyio.to_thread.run_sync(
            functools.partial(self.functions.invoke, name, event), limiter=self._limiter
        )

    # --- HTTP ------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        started = time.perf_counter()
        if len(scope.get("raw_path") or b"") + len(scope.get("query_string", b"")) > (
            MAX_REQUEST_LINE
        ):
            response = _message(414, "Request-URI Too Long")
        elif path.startswith(self._management):
            response = await self._manage(Request(scope, receive), path[len(self._management) :])
        elif path == JWKS_PATH and self._jwks is not None:
            response = JSONResponse(dict(self._jwks()))
        elif self._signin is not None and path in _SIGN_IN_PATHS:
            response = await self._sign_in(Request(scope, receive))
        elif (shown := self._console_answer(scope)) is not None:
            response = _response(shown)
        else:
            mount = self._storage.find(path) if self._storage is not None else None
            if mount is not None:
                prefix, app = mount
                await app(
                    {**scope, "root_path": scope.get("root_path", "") + prefix}, receive, send
                )
                return
            response = await self._api(Request(scope, receive))
        await response(scope, receive, send)
        with logs.bind(request_id=response.headers.get("apigw-requestid")):
            log.info(
                "%s %s %s",
                scope["method"],
                path,
                response.status_code,
                extra={
                    "data": {
                        "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    }
                },
            )

    async def _api(self, request: Request) -> Response:
        """The HTTP API, with the template's CORS configuration for the consoles of this
        server (:func:`.cors.is_console_origin`)."""
        origin = request.headers.get("origin")
        port = request.scope.get("server", (None, None))[1]
        allowed = origin if origin and is_console_origin(origin, port) else None
        if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
            preflight = Response(status_code=204)
            if allowed is not None:
                _add_headers(preflight, gateway.cors_headers(allowed, preflight=True))
            return preflight
        response = await self._route(request)
        if allowed is not None:
            for name in [k for k in response.headers if k.startswith("access-control-")]:
                del response.headers[name]
            _add_headers(response, gateway.cors_headers(allowed, preflight=False))
        return response

    async def _route(self, request: Request) -> Response:
        method = request.method
        matched = gateway.match_route(gateway.HTTP_ROUTES, method, request.url.path)
        if matched is None:
            return _message(404, "Not Found")
        route, params = matched
        body = await _read_body(request, MAX_HTTP_BODY)
        if body is None:
            return _message(413, "Request Entity Too Large")
        scope = request.scope
        incoming = HttpRequest(
            method=method,
            raw_path=scope.get("raw_path", b"").decode("latin-1") or request.url.path,
            path=request.url.path,
            raw_query=scope.get("query_string", b"").decode("latin-1"),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
            body=body,
            source_ip=request.client.host if request.client else "127.0.0.1",
            request_id=gateway.new_request_id(),
        )
        answer = await self._authorized_call(incoming, route, params)
        response = _response(answer)
        response.headers["apigw-requestid"] = incoming.request_id
        return response

    async def _authorized_call(
        self, request: HttpRequest, route: gateway.HttpRoute, params: dict[str, str]
    ) -> gateway.HttpAnswer:
        if not route.authorizer:
            try:
                result = await self._invoke(
                    route.function, gateway.http_event(request, route, params, None)
                )
                return gateway.proxy_answer(result)
            except (FunctionError, gateway.InvalidAnswer) as exc:
                _log_failure(route.function, exc)
                return _answer(500, "Internal Server Error")
        identity = request.header("authorization")
        if not identity:
            return _answer(401, "Unauthorized")
        try:
            answer = await self._invoke(
                "auth", gateway.http_authorizer_event(request, route, params, identity)
            )
            context = gateway.simple_authorizer_answer(answer)
        except (FunctionError, gateway.InvalidAnswer) as exc:
            _log_failure("authorizer", exc)
            return _answer(500, "Internal Server Error")
        if context is None:
            return _refusal(answer, request.request_id)
        try:
            result = await self._invoke(
                route.function, gateway.http_event(request, route, params, context)
            )
            return gateway.proxy_answer(result)
        except (FunctionError, gateway.InvalidAnswer) as exc:
            _log_failure(route.function, exc)
            return _answer(500, "Internal Server Error")

    def _console_answer(self, scope: Scope) -> gateway.HttpAnswer | None:
        if self._console is None:
            return None
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        return self._console.answer(
            scope["method"], scope["path"], headers.get("host", ""), headers.get("accept")
        )

    async def _sign_in(self, request: Request) -> Response:
        assert self._signin is not None
        signin, method, path = self._signin, request.method, request.url.path
        host = request.headers.get("host", "")
        try:
            query = dict(parse_qsl(request.url.query, max_num_fields=16))
        except ValueError:  # too many fields
            return _message(400, "Bad Request")
        if method == "GET" and path in (AUTHORIZE_PATH, LOGOUT_PATH):
            page = signin.authorize_page if path == AUTHORIZE_PATH else signin.logout
            return _response(await anyio.to_thread.run_sync(page, host, query))
        if method != "POST" or path == LOGOUT_PATH:
            return _message(405, "Method Not Allowed")
        data = await _read_body(request, 8192)
        try:
            if data is None:
                raise ValueError("too large")
            form = dict(parse_qsl(data.decode("utf-8", "replace"), max_num_fields=16))
        except ValueError:  # too large, or too many fields
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if path == AUTHORIZE_PATH:
            answer = await anyio.to_thread.run_sync(
                functools.partial(
                    signin.authorize,
                    host,
                    form,
                    cookie=request.cookies.get(oauth.CSRF_COOKIE),
                    origin=request.headers.get("origin"),
                )
            )
            return _response(answer)
        exchange = signin.token if path == TOKEN_PATH else signin.revoke
        status, body = await anyio.to_thread.run_sync(exchange, form)
        return JSONResponse(body, status_code=status, headers={"cache-control": "no-store"})

    # --- Management API --------------------------------------------------------------------

    async def _manage(self, request: Request, connection_id: str) -> Response:
        data = await _read_body(request, MAX_WEBSOCKET_MESSAGE)
        if data is None:
            return JSONResponse(
                {"message": "Message too long"},
                status_code=413,
                headers={"x-amzn-ErrorType": "PayloadTooLargeException"},
            )
        scope = request.scope
        raw = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        url = f"{request.url.scheme}://{request.headers.get('host', '')}{raw.decode('latin-1')}"
        if query:
            url += "?" + query.decode("latin-1")
        headers: dict[str, str] = {}
        for key, value in scope["headers"]:
            name = key.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[name] = f"{headers[name]},{text}" if name in headers else text
        try:
            self._management_auth.check(request.method, url, headers, data)
        except Refusal as refusal:
            log.warning("management API: request refused (%s)", refusal.error_type)
            return _message(403, refusal.message, **{"x-amzn-ErrorType": refusal.error_type})
        socket_ = self._sockets.get(connection_id)
        if request.method not in ("POST", "GET", "DELETE"):
            return _message(404, "Not Found")
        if socket_ is None:
            return _gone()
        if request.method == "GET":
            return JSONResponse(socket_.connection.description())
        if request.method == "DELETE":
            await self._close(socket_, 1000)
            return Response(status_code=204)
        try:
            async with socket_.lock:
                try:
                    await socket_.websocket.send_text(data.decode())
                except UnicodeDecodeError:
                    await socket_.websocket.send_bytes(data)
        except (WebSocketDisconnect, RuntimeError, OSError):
            self._sockets.pop(connection_id, None)
            return _gone()
        return Response(status_code=200)

    async def _close(self, socket_: _Socket, code: int) -> None:
        self._sockets.pop(socket_.connection.connection_id, None)
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            async with socket_.lock:
                await socket_.websocket.close(code)

    # --- WebSocket -------------------------------------------------------------------------

    async def _websocket(self, websocket: WebSocket) -> None:
        scope = websocket.scope
        if scope["path"].rstrip("/") != WEBSOCKET_PATH:
            await websocket.send_denial_response(_message(404, "Not Found"))
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        connection = Connection(
            connection_id=gateway.new_connection_id(),
            domain=websocket.headers.get("host", "127.0.0.1"),
            stage=WEBSOCKET_PATH.strip("/"),
            source_ip=websocket.client.host if websocket.client else "127.0.0.1",
            user_agent=websocket.headers.get("user-agent", ""),
            headers=headers,
            raw_query=scope.get("query_string", b"").decode("latin-1"),
        )
        status = await self._connect(connection)
        if status != 200:
            log.log(
                logging.ERROR if status >= 500 else logging.INFO,
                "websocket connect refused: %s",
                status,
            )
            await websocket.send_denial_response(
                _message(status, "Unauthorized" if status == 401 else "Forbidden")
                if status in (401, 403)
                else Response(status_code=status)
            )
            return
        await websocket.accept()
        socket_ = _Socket(connection, websocket)
        self._sockets[connection.connection_id] = socket_
        log.info("websocket %s connected", connection.connection_id)
        code: int | None = None
        async with anyio.create_task_group() as tasks:
            try:
                while True:
                    message = await websocket.receive()
                    if message["type"] == "websocket.disconnect":
                        code = message.get("code")
                        break
                    data = message.get("text")
                    if data is None:
                        data = message.get("bytes") or b""
                    connection.last_active_at = time.time()
                    tasks.start_soon(self._on_message, socket_, data)
            except (WebSocketDisconnect, RuntimeError, OSError):
                pass
            finally:
                self._sockets.pop(connection.connection_id, None)
                tasks.start_soon(self._on_disconnect, connection, code)
        log.info("websocket %s disconnected", connection.connection_id)

    async def _connect(self, connection: Connection) -> int:
        """Authorize and run ``$connect``; the handshake's status (200 accepts)."""
        query = dict(parse_qsl(connection.raw_query, keep_blank_values=True))
        if not query.get("token"):
            return 401  # the identity source is missing: the authorizer is not called
        request_id = gateway.new_request_id()
        try:
            answer = await self._invoke(
                "auth", gateway.websocket_authorizer_event(connection, request_id)
            )
        except FunctionError as exc:
            if exc.message == "Unauthorized":
                return 401
            _log_failure("authorizer", exc)
            return 500
        try:
            if not gateway.policy_allows(answer, gateway.method_arn(connection, "$connect")):
                return 403
            connection.authorizer = gateway.websocket_authorizer_context(answer)
            result = await self._invoke(
                gateway.WEBSOCKET_FUNCTION,
                gateway.websocket_event(connection, "CONNECT", "$connect", request_id),
            )
            status = gateway.websocket_status(result)
        except (FunctionError, gateway.InvalidAnswer) as exc:
            _log_failure("$connect", exc)
            return 500
        return 200 if 200 <= status < 300 else status

    async def _on_message(self, socket_: _Socket, data: str | bytes) -> None:
        connection = socket_.connection
        route_key = gateway.select_route(data)
        request_id = gateway.new_request_id()
        event = gateway.websocket_event(connection, "MESSAGE", route_key, request_id, body=data)
        try:
            await self._invoke(gateway.WEBSOCKET_FUNCTION, event)
        except FunctionError as exc:
            _log_failure(route_key, exc)
            # What API Gateway tells the client when the integration fails.
            error = {
                "message": "Internal server error",
                "connectionId": connection.connection_id,
                "requestId": request_id,
            }
            if connection.connection_id in self._sockets:
                with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                    async with socket_.lock:
                        await socket_.websocket.send_text(json.dumps(error))

    async def _on_disconnect(self, connection: Connection, code: int | None) -> None:
        event = gateway.websocket_event(
            connection, "DISCONNECT", "$disconnect", gateway.new_request_id(), close_code=code
        )
        with anyio.CancelScope(shield=True):
            try:
                await self._invoke(gateway.WEBSOCKET_FUNCTION, event)
            except FunctionError as exc:
                _log_failure("$disconnect", exc)


def _answer(status: int, message: str) -> gateway.HttpAnswer:
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return gateway.HttpAnswer(status, [("content-type", "application/json")], body)


def _refusal(answer: Mapping[str, Any], request_id: str) -> gateway.HttpAnswer:
    """API Gateway's 403, with the project's error body when the authorizer gave its
    reason (a local addition: API Gateway answers ``{"message": "Forbidden"}`` only)."""
    reason = gateway.refusal_reason(answer)
    if reason is None:
        return _answer(403, "Forbidden")
    error = {"code": reason[0], "message": reason[1], "request_id": request_id}
    body = json.dumps({"message": "Forbidden", "error": error}, separators=(",", ":"))
    return gateway.HttpAnswer(403, [("content-type", "application/json")], body.encode())


_SIGN_IN_PATHS = frozenset({AUTHORIZE_PATH, TOKEN_PATH, REVOKE_PATH, LOGOUT_PATH})


def _response(answer: gateway.HttpAnswer) -> Response:
    response = Response(answer.body, status_code=answer.status)
    _add_headers(response, answer.headers)
    return response


def _add_headers(response: Response, headers: list[tuple[str, str]]) -> None:
    response.raw_headers.extend(
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in headers
    )


def _gone() -> Response:
    return JSONResponse(
        {"message": None}, status_code=410, headers={"x-amzn-ErrorType": "GoneException"}
    )


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The request's body, ``None`` when it is larger than ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _log_failure(what: str, exc: BaseException) -> None:
    cause = exc.error if isinstance(exc, FunctionError) else exc
    log.error(
        "%s failed: %s",
        what,
        type(cause).__name__,
        extra={"data": {"traceback": "".join(traceback.format_exception(cause))}},
    )


# --- running it ----------------------------------------------------------------------------


def bind(port: int, host: str = "127.0.0.1") -> socket.socket:
    """A listening socket on ``host:port`` (0: a free port).

    Raises:
        ConfigurationError: the port is taken.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(
            f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port"
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class _WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, answering at once a handshake it cannot take.

    A request target longer than :data:`MAX_REQUEST_LINE` is answered 414 and the
    connection closed. A handshake the ``websockets`` library refuses while parsing
    (a header line over its limit, too many headers, not HTTP) gets the answer the
    library prepared; uvicorn would otherwise never send it and leave the connection
    open. A handshake the gateway refuses (401, 403...) is complete once its answer is
    sent: a refusal is not logged as an error of the server.
    """

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body"):
            self.handshake_complete = True

    def data_received(self, data: bytes) -> None:
        if not self.handshake_initiated:
            target = data.split(b"\r\n", 1)[0].split(b" ")
            if len(target) > 1 and len(target[1]) > MAX_REQUEST_LINE:
                body = json.dumps({"message": "Request-URI Too Long"}).encode()
                self._refuse(
                    b"HTTP/1.1 414 Request-URI Too Long\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
                )
                return
        super().data_received(data)
        if not self.handshake_initiated and self.conn.handshake_exc is not None:
            self._refuse(b"".join(self.conn.data_to_send()))

    def _refuse(self, answer: bytes) -> None:
        self.handshake_initiated = self.handshake_complete = self.close_sent = True
        self.transport.write(answer)
        self.transport.close()


class LocalServer:
    """Serves a :class:`Gateway` with uvicorn on an already bound socket."""

    def __init__(self, app: Gateway, sock: socket.socket) -> None:
        self.app = app
        self.socket = sock
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        self.websocket_url = f"ws://{host}:{port}{WEBSOCKET_PATH}"
        for name in ("uvicorn", "httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                log_config=None,
                access_log=False,
                lifespan="off",
                server_header=False,
                ws=_WebSocketProtocol,
                ws_max_size=MAX_WEBSOCKET_MESSAGE,
                timeout_graceful_shutdown=5,
            )
        )
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Serve until interrupted (Ctrl-C)."""
        self._server.run(sockets=[self.socket])

    @contextlib.contextmanager
    def running(self) -> Iterator[LocalServer]:
        """Serve in a background thread for the duration of the block."""
        self._thread = threading.Thread(target=self.run, name="tenantkit-serve", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigurationError("the local server did not start")
            time.sleep(0.01)
        try:
            yield self
        finally:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self.socket.close()


# --- tenantkit serve -----------------------------------------------------------------------


def serve(
    *,
    port: int = 8000,
    host: str = "127.0.0.1",
    state_dir: Path | None = None,
    config_dir: Path | None = None,
    demo: bool = False,
    reset: bool = False,
    token_ttl: int | None = None,
    shared_callback: bool = False,
    out: TextIO | None = None,
) -> None:
    """Run ``tenantkit serve`` until interrupted (see the module documentation).

    ``token_ttl`` is the lifetime in seconds of the tokens the local sign-in issues
    (:data:`~tenantkit_runtime.local.users.ACCESS_TOKEN_TTL` by default). With
    ``shared_callback`` every console signs in and out through the bare host's
    ``/callback`` and ``/signed-out``, as on AWS (one callback URL on the app client).

    Listens on ``host``:``port``, prepares the local deployment in ``state_dir``
    (:mod:`tenantkit_runtime.local.environment`; with ``reset``, afresh), with ``demo``
    writes the demo tenants that are missing and registers them, prints where to call
    and how, and serves.

    Raises:
        ConfigurationError: the port is taken, the state directory cannot be made...
    """
    from tenantkit_runtime import deployment
    from tenantkit_runtime.local import demo as demo_tenants
    from tenantkit_runtime.local.environment import DEFAULT_STATE_DIR, LocalDeployment

    out = out or sys.stdout
    sock = bind(port, host)
    try:
        server_origin = origin(sock)
        if reset:
            LocalDeployment.reset(state_dir or DEFAULT_STATE_DIR)
        local = LocalDeployment.prepare(
            state_dir or DEFAULT_STATE_DIR,
            origin=server_origin,
            websocket_path=WEBSOCKET_PATH,
            jwks_path=JWKS_PATH,
            config_dir=None if demo else config_dir,
        )
        if demo:
            demo_tenants.write_tenants(local)
        local.apply()
        _json_logs()
        deployment.reset()
        deployment.control_plane().ensure_schema()
        if demo:
            demo_tenants.register_tenants()
        app = build_gateway(local, token_ttl=token_ttl, demo=demo, shared_callback=shared_callback)
        if demo:
            from tenantkit_runtime.local.users import LocalUserStore

            demo_tenants.create_users(LocalUserStore(local.users_path))
        server = LocalServer(app, sock)
    except BaseException:
        sock.close()
        raise
    if demo:
        text = demo_tenants.instructions(
            local, demo_tenants.issue_tokens(local), websocket_url=server.websocket_url
        )
    else:
        tenants = (
            DirectorySource(local.config_dir).tenant_ids() if local.config_dir.is_dir() else []
        )
        text = demo_tenants.plain_instructions(local, tenants, websocket_url=server.websocket_url)
    # The socket already listens: a client that connects now waits in its backlog.
    print(text, file=out, flush=True)
    try:
        server.run()
    except KeyboardInterrupt:  # Ctrl-C is how a person stops the server
        pass
    finally:
        deployment.reset()


def build_gateway(
    local: Any,
    *,
    token_ttl: int | None = None,
    demo: bool = False,
    shared_callback: bool = False,
) -> Gateway:
    """The gateway of ``tenantkit serve`` for a prepared (and applied)
    :class:`~tenantkit_runtime.local.environment.LocalDeployment`: the functions, the
    local sign-in on its user pool, the console and the local storage."""
    from tenantkit_runtime import branding, deployment
    from tenantkit_runtime.local.users import ACCESS_TOKEN_TTL, LocalUserStore
    from tenantkit_runtime.users import UserDirectory
    from tenantkit_runtime.userstore import PoolUser

    users = LocalUserStore(local.users_path, token_ttl=token_ttl or ACCESS_TOKEN_TTL)

    def signed_in(user: PoolUser) -> None:
        if user.tenant_id is not None:
            directory = UserDirectory(users, deployment.control_plane())
            directory.profile(user.tenant_id, user.user_id)  # active, last seen now

    port = urlsplit(local.origin).port or 80
    app = Gateway(
        Functions(),
        jwks=local.issuer.jwks,
        storage=StorageMounts(local.config_dir, local.origin),
        signin=LocalSignIn(
            users,
            local.issuer,
            branding=branding.public_branding,
            on_sign_in=signed_in,
            shared_callback=shared_callback,
        ),
        console=Console(
            local.issuer,
            port=port,
            storage_origin=local.origin,
            deployment="tenantkit demo" if demo else "tenantkit serve",
            shared_callback=shared_callback,
        ),
    )
    return app


def origin(sock: socket.socket) -> str:
    """``http://HOST:PORT`` of a bound socket."""
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


def _json_logs() -> None:
    """JSON log lines on stderr (the functions' own format), at ``TENANTKIT_LOG_LEVEL``."""
    from tenantkit_runtime.logs import JsonFormatter

    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    formatter = JsonFormatter()
    for handler in root.handlers:
        handler.setFormatter(formatter)
    level = (os.environ.get("TENANTKIT_LOG_LEVEL") or "INFO").upper()
    root.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
