"""The tenant-aware application object: routes, bodies, errors and logs for Lambda.

A function module declares its routes on an :class:`App` and hands Lambda the app::

    app = App()

    class NewNote(BaseModel):
        text: str

    @app.post("/notes", body=NewNote)
    def add_note(request: Request[NewNote]) -> Response:
        item = request.db.put("notes", {"pk": request.user_id, "sk": new_id(),
                                        "text": request.body.text})
        return Response(item.to_dict(), status=201)

    def handler(event, context):
        return app(event, context)

The same routes answer REST API (payload 1.0) and HTTP API (payload 2.0) events;
WebSocket events are routed by their route key (``$connect``, ``$disconnect``,
``$default`` or a custom key) on method ``WEBSOCKET``. Every route needs the
authorizer's tenant and user unless declared ``public``; ``roles`` restricts it
further. Only a route declared ``operator`` takes the platform operator's identity,
which has no tenant (:mod:`tenantkit_runtime.auth.identity`); any other answers it 403.
A suspended tenant's requests are refused with 403 ``tenant_suspended``
(:mod:`tenantkit_runtime.suspension`). Bodies are parsed with
:func:`tenantkit.untrusted.loads` (bounded nesting, no repeated keys) and validated
with pydantic; errors become the JSON answers of :mod:`tenantkit_runtime.http_errors`;
every invocation logs one JSON line with its status and duration, carrying the
tenant, the user and the request id.

Routing is a short list of compiled path templates, not a framework: importing a web
framework cost more than the whole cold-start budget allows (see ``bench/README.md``).
CORS preflight and headers are answered for the origins the deployment allows.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import unquote

from pydantic import BaseModel, ValidationError

from tenantkit import TenantConfig, untrusted
from tenantkit.errors import NotFound, TenantkitError
from tenantkit.validation import field_errors
from tenantkit_runtime import coldgc, deployment, logs, metrics
from tenantkit_runtime.auth.errors import AccessDenied, TokenRejected
from tenantkit_runtime.context import Request
from tenantkit_runtime.events import Incoming, parse_event
from tenantkit_runtime.http_errors import (
    MethodNotAllowed,
    PayloadTooLarge,
    RequestValidationError,
    error_family,
    error_response,
    status_for,
)
from tenantkit_runtime.limits import MAX_FUNCTION_BODY
from tenantkit_runtime.responses import Response
from tenantkit_runtime.usage import RequestUsage

__all__ = ["App", "Request", "Response"]

log = logging.getLogger("tenantkit_runtime")

Handler = Callable[[Request[Any]], Any]
F = TypeVar("F", bound=Handler)
#: A route's body model, or a function returning it: a module whose models only some
#: routes need imports them on the first request that does.
BodyModel = type[BaseModel] | Callable[[], type[BaseModel]]

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_started: set[str] = set()  # the apps that have served an invocation in this process


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    body: BodyModel | None
    roles: tuple[str, ...]
    public: bool
    operator: bool = False


def _tenant_config(tenant_id: str) -> TenantConfig | None:
    """The tenant's configuration for its limits; ``None`` if it cannot be resolved
    (the route then fails as it would have, and only the meter counts the request)."""
    try:
        return deployment.resolver().resolve(tenant_id).config
    except TenantkitError:
        return None


def _source_ip(event: Mapping[str, Any]) -> str | None:
    rc = event.get("requestContext")
    if not isinstance(rc, Mapping):
        return None
    for holder in (rc.get("http"), rc.get("identity")):
        if isinstance(holder, Mapping) and isinstance(holder.get("sourceIp"), str):
            return str(holder["sourceIp"])[:64]
    return None


class App:
    """A set of routes served as one Lambda handler.

    Args:
        name: names the app in logs.
        cors_origins: origins allowed to call from a browser (``"*"`` for any); the
            deployment's ``TENANTKIT_CORS_ORIGINS`` when omitted.
        max_body_bytes: larger request bodies are refused with 413 before parsing.
    """

    def __init__(
        self,
        name: str = "tenantkit",
        *,
        cors_origins: Sequence[str] | None = None,
        max_body_bytes: int = MAX_FUNCTION_BODY,
    ) -> None:
        self.name = name
        self._routes: list[Route] = []
        self._static: dict[tuple[str, str], Route] = {}
        self._cors = tuple(cors_origins) if cors_origins is not None else None
        self._max_body = max_body_bytes

    # --- declaring routes ----------------------------------------------------------------

    def route(
        self,
        method: str,
        path: str,
        *,
        body: BodyModel | None = None,
        roles: Sequence[str] = (),
        public: bool = False,
        operator: bool = False,
    ) -> Callable[[F], F]:
        """Declare a route. ``{name}`` in ``path`` captures one path segment; ``body`` is
        the model the request body must validate against (or a function returning it).
        ``operator``: the route takes the platform operator's identity (no tenant);
        every other route refuses it with 403."""

        def decorate(handler: F) -> F:
            names = _PARAM.findall(path)
            if len(names) != len(set(names)):
                raise ValueError(f"route {path!r} repeats a parameter name")
            pieces = _PARAM.split(path)
            regex = "".join(
                re.escape(piece) if i % 2 == 0 else f"(?P<{piece}>[^/]+)"
                for i, piece in enumerate(pieces)
            )
            route = Route(
                method=method.upper(),
                template=path,
                pattern=re.compile(regex),
                handler=handler,
                body=body,
                roles=tuple(roles),
                public=public,
                operator=operator,
            )
            if any((r.method, r.template) == (route.method, path) for r in self._routes):
                raise ValueError(f"route {route.method} {path} is declared twice")
            self._routes.append(route)
            if not names:
                self._static[(route.method, path)] = route
            return handler

        return decorate

    def get(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route("POST", path, **options)

    def put(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route("PUT", path, **options)

    def patch(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route("DELETE", path, **options)

    def websocket(self, route_key: str, **options: Any) -> Callable[[F], F]:
        """A WebSocket route by its key (``$connect``, ``$disconnect``, ``$default``...)."""
        return self.route("WEBSOCKET", route_key, **options)

    def body_models(self) -> list[type[BaseModel]]:
        """The body models of the routes (those given as functions are loaded now)."""
        return [_model(r.body) for r in self._routes if r.body is not None]

    # --- serving -------------------------------------------------------------------------

    def __call__(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        """The Lambda handler: an API Gateway event in, a proxy result out."""
        try:
            return self._handle(event, context)
        finally:
            coldgc.resume()  # after the first invocation (see tenantkit_runtime.coldgc)

    def _handle(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        cold_start = self.name not in _started
        _started.add(self.name)
        try:
            level = deployment.settings().log_level
        except Exception:  # a broken setting fails the request below, with a 503
            level = "INFO"
        logs.configure(level)
        trace_id = logs.trace_id(context)
        try:
            incoming = parse_event(event, context)
        except Exception as exc:
            rc = event.get("requestContext") if isinstance(event, Mapping) else None
            rid = rc.get("requestId") if isinstance(rc, Mapping) else None
            with (
                logs.bind(
                    request_id=rid, function=self.name, cold_start=cold_start, trace_id=trace_id
                ),
                metrics.invocation(self.name) as m,
            ):
                self._log_error(exc, status_for(exc))
                if m is not None:
                    m.finish(
                        status=status_for(exc),
                        latency_ms=(time.perf_counter() - started) * 1000,
                        cold_start=cold_start,
                        error_family=error_family(exc),
                    )
            return error_response(exc, request_id=rid).to_proxy_result()
        identity = incoming.identity
        tenant_id = identity.tenant_id if identity else None
        with (
            logs.bind(
                request_id=incoming.request_id,
                tenant_id=tenant_id,
                user_id=identity.user_id if identity else None,
                function=self.name,
                cold_start=cold_start,
                trace_id=trace_id,
            ),
            metrics.invocation(self.name, tenant=tenant_id) as measured,
        ):
            request: Request[Any] | None = None
            usage = self._usage(incoming, event)
            failure: BaseException | None = None
            try:
                prepared = self._prepare(incoming, event, context, usage)
                if isinstance(prepared, Response):
                    response = prepared
                else:
                    route, request = prepared
                    response = self._run(route, request)
            except Exception as exc:
                failure = exc
                status = status_for(exc)
                self._log_error(exc, status)
                secrets = request.secrets if request is not None else ()
                response = error_response(exc, request_id=incoming.request_id, secrets=secrets)
            self._add_cors(incoming, response)
            try:
                result = response.to_proxy_result()
            except Exception as exc:  # a route answered something JSON cannot hold
                failure = exc
                self._log_error(exc, 500)
                response = error_response(exc, request_id=incoming.request_id)
                result = response.to_proxy_result()
            if usage is not None:
                usage.finish(response.status)
            duration_ms = (time.perf_counter() - started) * 1000
            log.info(
                "%s %s %s",
                incoming.method,
                incoming.path,
                response.status,
                extra={
                    "data": {
                        "app": self.name,
                        "status": response.status,
                        "duration_ms": round(duration_ms, 3),
                    }
                },
            )
            if measured is not None:
                measured.finish(
                    status=response.status,
                    latency_ms=duration_ms,
                    cold_start=cold_start,
                    error_family=error_family(failure) if failure is not None else None,
                )
            return result

    def _usage(self, incoming: Incoming, event: Mapping[str, Any]) -> RequestUsage | None:
        """The request's meter and rate limit: for a tenant's requests, not preflights."""
        identity = incoming.identity
        if identity is None or identity.tenant_id is None or incoming.method == "OPTIONS":
            return None  # the operator's requests are nobody's usage
        return RequestUsage(
            identity.tenant_id,
            self.name,
            user_id=identity.user_id,
            source_ip=_source_ip(event),
            # A disconnect is a notice, not a request: metered, never refused.
            limited=incoming.route_key != "$disconnect",
        )

    def _prepare(
        self,
        incoming: Incoming,
        event: Mapping[str, Any],
        context: Any,
        usage: RequestUsage | None = None,
    ) -> tuple[Route, Request[Any]] | Response:
        if incoming.method == "OPTIONS" and "access-control-request-method" in incoming.headers:
            return self._preflight(incoming)
        route, params = self._match(incoming)
        if not route.public and incoming.identity is None:
            raise TokenRejected("the request carries no authorizer context", reason="missing")
        if (
            incoming.identity is not None
            and incoming.identity.tenant_id is None
            and not (route.operator or route.public)
        ):
            raise AccessDenied(
                "an operator token (no tenant) is accepted only on the operator API, "
                "not on a tenant's routes"
            )
        # A disconnect is a notice: a suspended tenant's connections are still cleaned up.
        if (
            incoming.identity is not None
            and not route.public
            and incoming.route_key != "$disconnect"
        ):
            status = deployment.tenant_status()
            if status is not None and incoming.identity.tenant_id is not None:
                status.check(incoming.identity.tenant_id)
        if usage is not None and not route.public:
            usage.admit(_tenant_config(usage.tenant_id))
        body = self._body(route, incoming.body)
        request: Request[Any] = Request(
            incoming,
            body=body,
            path_params=params,
            event=event,
            lambda_context=context,
            usage=usage,
        )
        return route, request

    @staticmethod
    def _run(route: Route, request: Request[Any]) -> Response:
        if route.roles:
            request.require_role(*route.roles)
        result = route.handler(request)
        return result if isinstance(result, Response) else Response(result)

    def _match(self, incoming: Incoming) -> tuple[Route, dict[str, str]]:
        path = incoming.path
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        route = self._static.get((incoming.method, path))
        if route is not None:
            return route, {}
        allowed: list[str] = []
        for route in self._routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            if route.method == incoming.method:
                return route, {k: unquote(v) for k, v in match.groupdict().items()}
            allowed.append(route.method)
        if incoming.kind == "websocket":
            fallback = self._static.get(("WEBSOCKET", "$default"))
            if fallback is not None:
                return fallback, {}
        if allowed:
            raise MethodNotAllowed(
                f"{incoming.method} is not allowed on {path}", allowed=sorted(set(allowed))
            )
        raise NotFound(f"no route for {incoming.method} {path}")

    def _body(self, route: Route, raw: bytes) -> Any:
        if route.body is None:
            return None
        if len(raw) > self._max_body:
            raise PayloadTooLarge(f"the request body is larger than {self._max_body} bytes")
        model = _model(route.body)
        data = untrusted.loads(raw or b"{}", what="the request body")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise RequestValidationError(field_errors(exc)) from None

    # --- CORS ----------------------------------------------------------------------------

    def _origins(self) -> tuple[str, ...]:
        if self._cors is None:
            self._cors = deployment.settings().cors_origins
        return self._cors

    def _allowed_origin(self, incoming: Incoming) -> str | None:
        origin = incoming.headers.get("origin")
        if origin is None:
            return None
        try:
            origins = self._origins()
        except Exception:  # broken settings: answered by the route, never CORS-enabled
            return None
        if not origins:
            return None
        if "*" in origins:
            return "*"
        return origin if origin in origins else None

    def _preflight(self, incoming: Incoming) -> Response:
        allowed = self._allowed_origin(incoming)
        if allowed is None:
            return Response.empty(204)
        path = incoming.path.rstrip("/") or "/"
        methods = sorted({r.method for r in self._routes if r.pattern.fullmatch(path)})
        if not methods:
            raise NotFound(f"no route for {path}")
        return Response.empty(
            204,
            {
                "access-control-allow-origin": allowed,
                "access-control-allow-methods": ", ".join(methods),
                "access-control-allow-headers": incoming.headers.get(
                    "access-control-request-headers", "authorization, content-type"
                ),
                "access-control-max-age": "600",
                "vary": "Origin",
            },
        )

    def _add_cors(self, incoming: Incoming, response: Response) -> None:
        if incoming.kind == "websocket":
            return
        allowed = self._allowed_origin(incoming)
        if allowed is not None:
            response.headers.setdefault("access-control-allow-origin", allowed)
            response.headers.setdefault("vary", "Origin")

    # --- logging -------------------------------------------------------------------------

    def _log_error(self, exc: BaseException, status: int) -> None:
        kind = getattr(exc, "kind", type(exc).__name__)
        if status == 500:
            log.error("unexpected error: %s", type(exc).__name__, exc_info=exc)
        elif status >= 500:
            log.warning("%s: %s", kind, exc, extra={"data": {"kind": kind, "status": status}})
        else:
            log.info("%s: %s", kind, exc, extra={"data": {"kind": kind, "status": status}})


def _model(body: BodyModel) -> type[BaseModel]:
    """A route's body model, loading it if it was given as a function."""
    if isinstance(body, type) and issubclass(body, BaseModel):
        return body
    return cast("Callable[[], type[BaseModel]]", body)()
