"""What API Gateway does around a Lambda function, as the local server plays it.

Nothing here does any I/O: it matches routes, builds the events API Gateway sends to
the functions, reads their answers and decides as API Gateway would. The shapes are
the documented ones:

* HTTP API routes and their priority, payload format 2.0 events and answers:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
* HTTP API Lambda authorizers (payload 2.0, simple responses; no identity source:
  401 without calling the authorizer; ``isAuthorized: false``: 403):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
* WebSocket API events (``$connect``, ``$disconnect``, messages), route selection
  on ``$request.body.action``, and the ``$connect`` REQUEST authorizer (IAM policy;
  an error whose message is ``Unauthorized``: 401; a ``Deny``: 403):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-keys-connect-disconnect.html
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html

The routes are those of the deployment's template (``runtime/deploy/template.yaml``).
"""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from tenantkit import untrusted
from tenantkit.errors import InvalidRequest
from tenantkit_runtime.limits import MAX_HTTP_BODY, MAX_WEBSOCKET_MESSAGE

__all__ = [
    "ACCOUNT_ID",
    "HTTP_ROUTES",
    "HTTP_STAGE",
    "MAX_HTTP_BODY",
    "MAX_WEBSOCKET_MESSAGE",
    "WEBSOCKET_FUNCTION",
    "WEBSOCKET_ROUTES",
    "Connection",
    "HttpAnswer",
    "HttpRequest",
    "HttpRoute",
    "InvalidAnswer",
    "http_authorizer_event",
    "http_event",
    "match_route",
    "new_connection_id",
    "new_request_id",
    "policy_allows",
    "proxy_answer",
    "refusal_reason",
    "select_route",
    "shadowed_route",
    "simple_authorizer_answer",
    "websocket_authorizer_context",
    "websocket_authorizer_event",
    "websocket_event",
    "websocket_status",
]

ACCOUNT_ID = "000000000000"
REGION = "local"
HTTP_API_ID = "http"
WEBSOCKET_API_ID = "websocket"
#: HTTP API stage: ``$default`` serves at the root, with no stage in the path.
HTTP_STAGE = "$default"

_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection"})
_VARIABLE = re.compile(r"\{([A-Za-z0-9_]+)(\+?)\}")
_TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|.*\+json|xml|.*\+xml|javascript|x-www-form-urlencoded))$"
)


class InvalidAnswer(Exception):
    """A function answered something API Gateway cannot use (it answers 500)."""


# --- HTTP API routes -----------------------------------------------------------------------


def refusal_reason(answer: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(code, reason)`` a refusing simple response gives in its context, if any.

    API Gateway drops a refusal's context; the local gateway shows it to the caller.
    """
    context = answer.get("context")
    if not isinstance(context, Mapping):
        return None
    code, reason = context.get("error"), context.get("reason")
    if isinstance(code, str) and isinstance(reason, str):
        return code, reason
    return None


@dataclass(frozen=True)
class HttpRoute:
    """One HTTP API route: ``method`` (or ``ANY``) and a path template, and its function.

    A ``{name}`` segment matches one path segment; a last ``{name+}`` segment matches
    the rest of the path (at least one character). ``authorizer`` false: the route has
    no authorizer (its function verifies the token itself).
    """

    method: str
    path: str
    function: str
    authorizer: bool = True

    @property
    def key(self) -> str:
        """The route key, as the event's ``routeKey`` carries it."""
        return f"{self.method} {self.path}"

    @property
    def greedy(self) -> bool:
        return self.path.endswith("+}")

    def match(self, path: str) -> dict[str, str] | None:
        """The path parameters if ``path`` matches this route, else ``None``."""
        match = _compiled(self.path).fullmatch(path)
        return None if match is None else match.groupdict()


def _compiled(template: str) -> re.Pattern[str]:
    pattern = _PATTERNS.get(template)
    if pattern is None:
        parts = _VARIABLE.split(template)
        regex = ""
        for i in range(0, len(parts), 3):
            regex += re.escape(parts[i])
            if i + 1 < len(parts):
                regex += f"(?P<{parts[i + 1]}>.+)" if parts[i + 2] else f"(?P<{parts[i + 1]}>[^/]+)"
        pattern = _PATTERNS[template] = re.compile(regex)
    return pattern


_PATTERNS: dict[str, re.Pattern[str]] = {}


#: The HTTP API of the deployment's template: each route and the function behind it.
HTTP_ROUTES: tuple[HttpRoute, ...] = (
    HttpRoute("ANY", "/conversations", "chat"),
    HttpRoute("ANY", "/conversations/{proxy+}", "chat"),
    HttpRoute("POST", "/v1/chat/completions", "chat", authorizer=False),
    HttpRoute("ANY", "/files", "files"),
    HttpRoute("ANY", "/files/{proxy+}", "files"),
    HttpRoute("ANY", "/config", "config"),
    HttpRoute("ANY", "/config/{proxy+}", "config"),
    HttpRoute("GET", "/usage", "config"),
    HttpRoute("GET", "/branding", "config", authorizer=False),
    HttpRoute("POST", "/v1/images/generations", "chat"),
    HttpRoute("ANY", "/users", "users"),
    HttpRoute("ANY", "/users/{proxy+}", "users"),
    HttpRoute("POST", "/v1/embeddings", "chat", authorizer=False),
    HttpRoute("GET", "/v1/models", "chat", authorizer=False),
    HttpRoute("ANY", "/operator/{proxy+}", "operator"),
)

#: The HTTP API's CORS configuration (the template's ``CorsConfiguration``, set when the
#: deployment has a console): API Gateway answers preflights itself and sets these
#: headers on every answer to an allowed origin, ignoring the functions' own.
#: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html
CORS_ALLOW_METHODS: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")
CORS_ALLOW_HEADERS: tuple[str, ...] = ("authorization", "content-type")
CORS_EXPOSE_HEADERS: tuple[str, ...] = ("retry-after",)
CORS_MAX_AGE = 600


def cors_headers(origin: str, *, preflight: bool) -> list[tuple[str, str]]:
    """The CORS headers of an answer to the allowed ``origin`` (a preflight's too)."""
    headers = [("access-control-allow-origin", origin), ("vary", "Origin")]
    if preflight:
        headers += [
            ("access-control-allow-methods", ",".join(CORS_ALLOW_METHODS)),
            ("access-control-allow-headers", ",".join(CORS_ALLOW_HEADERS)),
            ("access-control-max-age", str(CORS_MAX_AGE)),
        ]
    else:
        headers.append(("access-control-expose-headers", ",".join(CORS_EXPOSE_HEADERS)))
    return headers


#: The WebSocket API's route keys (route selection expression ``$request.body.action``),
#: all served by one function.
WEBSOCKET_ROUTES: tuple[str, ...] = ("$connect", "$disconnect", "$default", "chat", "broadcast")
WEBSOCKET_FUNCTION = "websocket"


def match_route(
    routes: Iterable[HttpRoute], method: str, path: str
) -> tuple[HttpRoute, dict[str, str]] | None:
    """The route API Gateway picks for ``method path``, with its path parameters.

    The most specific wins: a route without a greedy variable before one with, fewer
    variables before more, a route naming the method before ``ANY``, then the longer
    template.
    """
    best: tuple[tuple[int, int, int, int], HttpRoute, dict[str, str]] | None = None
    for route in routes:
        if route.method not in ("ANY", method):
            continue
        params = route.match(path)
        if params is None:
            continue
        rank = (
            int(route.greedy),
            route.path.count("{"),
            int(route.method == "ANY"),
            -len(route.path),
        )
        if best is None or rank < best[0]:
            best = (rank, route, params)
    return None if best is None else (best[1], best[2])


def shadowed_route(prefix: str, reserved: Iterable[str] = ()) -> str | None:
    """The API path a mount at ``prefix`` would hide (one of :data:`HTTP_ROUTES` or
    ``reserved``), ``None`` when it hides none.

    A mount at ``prefix`` serves ``prefix/...``: it hides a route whose path is the
    prefix, lies below it, or holds it; an empty prefix (the root) hides everything.
    """
    prefix = prefix.rstrip("/")
    if not prefix:
        return "/"
    literals = [route.path.split("{", 1)[0].rstrip("/") for route in HTTP_ROUTES]
    for path in (*literals, *reserved):
        path = path.rstrip("/")
        if prefix == path or path.startswith(prefix + "/") or prefix.startswith(path + "/"):
            return path
    return None


# --- HTTP API events -----------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request as the gateway received it.

    ``headers`` keep their order and repeats; ``raw_path`` is the path as sent
    (percent-encoded), ``path`` decoded.
    """

    method: str
    raw_path: str
    path: str
    raw_query: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    source_ip: str
    request_id: str
    time: float = field(default_factory=time.time)

    def header(self, name: str) -> str | None:
        """The header's values joined with commas, as API Gateway passes them on."""
        values = [v for k, v in self.headers if k.lower() == name]
        return ",".join(values) if values else None


def new_request_id() -> str:
    """A request id shaped like API Gateway's."""
    return base64.b64encode(secrets.token_bytes(10)).decode()


def _event_headers(request: HttpRequest) -> tuple[dict[str, str], list[str]]:
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        elif lower in headers:
            headers[lower] = f"{headers[lower]},{value}"
        else:
            headers[lower] = value
    return headers, cookies


def _query(raw_query: str) -> dict[str, str]:
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    return query


def _request_context(
    request: HttpRequest, route: HttpRoute, headers: Mapping[str, str]
) -> dict[str, Any]:
    domain = headers.get("host", "127.0.0.1")
    return {
        "accountId": ACCOUNT_ID,
        "apiId": HTTP_API_ID,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0].split(":", 1)[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request.request_id,
        "routeKey": route.key,
        "stage": HTTP_STAGE,
        "time": _clf_time(request.time),
        "timeEpoch": int(request.time * 1000),
    }


def _clf_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _common(request: HttpRequest, route: HttpRoute, params: Mapping[str, str]) -> dict[str, Any]:
    headers, cookies = _event_headers(request)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = _query(request.raw_query)
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = _request_context(request, route, headers)
    if params:
        event["pathParameters"] = dict(params)
    return event


def http_authorizer_event(
    request: HttpRequest, route: HttpRoute, params: Mapping[str, str], identity: str
) -> dict[str, Any]:
    """The Lambda authorizer's event (payload 2.0); ``identity`` is the identity source."""
    event = _common(request, route, params)
    arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{HTTP_API_ID}/{HTTP_STAGE}"
    event = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"{arn}/{request.method}{request.path}",
        "identitySource": [identity],
        **{k: v for k, v in event.items() if k != "version"},
    }
    return event


def http_event(
    request: HttpRequest,
    route: HttpRoute,
    params: Mapping[str, str],
    authorizer: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The integration's event (payload 2.0), the authorizer's context under
    ``requestContext.authorizer.lambda``."""
    event = _common(request, route, params)
    if authorizer is not None:
        event["requestContext"]["authorizer"] = {"lambda": dict(authorizer)}
    if request.body:
        text = _as_text(request.body, request.header("content-type"))
        if text is None:
            event["body"] = base64.b64encode(request.body).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
            event["isBase64Encoded"] = False
    else:
        event["isBase64Encoded"] = False
    return event


def _as_text(body: bytes, content_type: str | None) -> str | None:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if not _TEXT_TYPES.match(media):
        return None
    try:
        return body.decode()
    except UnicodeDecodeError:
        return None


def simple_authorizer_answer(answer: Any) -> dict[str, Any] | None:
    """The context of an allowing simple response, ``None`` for a refusal.

    Raises:
        InvalidAnswer: not a simple response.
    """
    if not isinstance(answer, Mapping) or not isinstance(answer.get("isAuthorized"), bool):
        raise InvalidAnswer("the authorizer's answer is not a simple response")
    if not answer["isAuthorized"]:
        return None
    context = answer.get("context") or {}
    if not isinstance(context, Mapping):
        raise InvalidAnswer("the authorizer's context is not an object")
    return dict(context)


@dataclass(frozen=True)
class HttpAnswer:
    """What the gateway sends back to the client."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def proxy_answer(result: Any) -> HttpAnswer:
    """The HTTP answer for a function's result (payload 2.0).

    A result without ``statusCode`` is taken as the body of a 200 JSON answer.

    Raises:
        InvalidAnswer: a malformed proxy result.
    """
    if not isinstance(result, Mapping) or "statusCode" not in result:
        text = result if isinstance(result, str) else json.dumps(result)
        return HttpAnswer(200, [("content-type", "application/json")], text.encode())
    status = result["statusCode"]
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise InvalidAnswer("statusCode is not an HTTP status")
    single, multi = result.get("headers") or {}, result.get("multiValueHeaders") or {}
    cookies = result.get("cookies") or []
    if not isinstance(single, Mapping) or not isinstance(multi, Mapping):
        raise InvalidAnswer("headers are not an object")
    if not isinstance(cookies, list) or not all(isinstance(v, list) for v in multi.values()):
        raise InvalidAnswer("cookies or multiValueHeaders are not lists")
    headers: list[tuple[str, str]] = []
    for name, value in single.items():
        if str(name).lower() not in _HOP_BY_HOP:
            headers.append((str(name).lower(), str(value)))
    for name, values in multi.items():
        if str(name).lower() not in _HOP_BY_HOP:
            headers.extend((str(name).lower(), str(v)) for v in values)
    headers.extend(("set-cookie", str(cookie)) for cookie in cookies)
    body = result.get("body")
    if body is None:
        data = b""
    elif not isinstance(body, str):
        raise InvalidAnswer("body is not a string")
    elif result.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except ValueError:
            raise InvalidAnswer("body is not valid base64") from None
    else:
        data = body.encode()
    return HttpAnswer(status, headers, data)


# --- WebSocket API -------------------------------------------------------------------------


def new_connection_id() -> str:
    """A connection id shaped like API Gateway's (``L0SM9cOFvHcCIhw=``)."""
    return base64.b64encode(secrets.token_bytes(10)).decode()


@dataclass
class Connection:
    """An open WebSocket connection, as the gateway knows it."""

    connection_id: str
    domain: str
    stage: str
    source_ip: str
    user_agent: str
    headers: Sequence[tuple[str, str]]
    raw_query: str
    connected_at: float = field(default_factory=time.time)
    last_active_at: float = field(default_factory=time.time)
    authorizer: dict[str, Any] = field(default_factory=dict)

    def description(self) -> dict[str, Any]:
        """``GetConnection``'s answer, as the Management API sends it."""
        return {
            "connectedAt": _iso(self.connected_at),
            "identity": {"sourceIp": self.source_ip, "userAgent": self.user_agent},
            "lastActiveAt": _iso(self.last_active_at),
        }


def _iso(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _ws_context(
    connection: Connection, event_type: str, route_key: str, request_id: str
) -> dict[str, Any]:
    now = time.time()
    context: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": _clf_time(now),
        "messageDirection": "IN",
        "stage": connection.stage,
        "connectedAt": int(connection.connected_at * 1000),
        "requestTimeEpoch": int(now * 1000),
        "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
        "requestId": request_id,
        "domainName": connection.domain,
        "connectionId": connection.connection_id,
        "apiId": WEBSOCKET_API_ID,
    }
    if event_type == "MESSAGE":
        context["messageId"] = new_request_id()
    return context


def _handshake(connection: Connection) -> dict[str, Any]:
    headers: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in connection.headers:
        multi.setdefault(name, []).append(value)
        headers[name] = value
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(connection.raw_query, keep_blank_values=True):
        multi_query.setdefault(name, []).append(value)
        query[name] = value
    part: dict[str, Any] = {"headers": headers, "multiValueHeaders": multi}
    if query:
        part["queryStringParameters"] = query
        part["multiValueQueryStringParameters"] = multi_query
    return part


def method_arn(connection: Connection, route_key: str) -> str:
    return (
        f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{WEBSOCKET_API_ID}/"
        f"{connection.stage}/{route_key}"
    )


def websocket_authorizer_event(connection: Connection, request_id: str) -> dict[str, Any]:
    """The ``$connect`` REQUEST authorizer's event."""
    return {
        "type": "REQUEST",
        "methodArn": method_arn(connection, "$connect"),
        **_handshake(connection),
        "stageVariables": {},
        "requestContext": _ws_context(connection, "CONNECT", "$connect", request_id),
    }


def policy_allows(answer: Any, resource: str) -> bool:
    """Whether an authorizer's IAM policy allows ``execute-api:Invoke`` on ``resource``
    (an explicit ``Deny`` wins).

    Raises:
        InvalidAnswer: not an authorizer's policy answer.
    """
    if not isinstance(answer, Mapping) or not isinstance(answer.get("principalId"), str):
        raise InvalidAnswer("the authorizer's answer has no principalId")
    document = answer.get("policyDocument")
    statements = document.get("Statement") if isinstance(document, Mapping) else None
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        raise InvalidAnswer("the authorizer's answer has no policy statements")
    allowed = False
    for statement in statements:
        if not isinstance(statement, Mapping):
            raise InvalidAnswer("a policy statement is not an object")
        if not (
            _matches(statement.get("Action"), "execute-api:Invoke")
            and _matches(statement.get("Resource"), resource)
        ):
            continue
        effect = statement.get("Effect")
        if effect == "Deny":
            return False
        if effect == "Allow":
            allowed = True
    return allowed


def _matches(patterns: Any, value: str) -> bool:
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list):
        return False
    return any(
        isinstance(p, str) and fnmatch.fnmatchcase(value, p.replace("[", "[[]")) for p in patterns
    )


def websocket_authorizer_context(answer: Mapping[str, Any]) -> dict[str, Any]:
    """``requestContext.authorizer`` of the connection's events: the principal and the
    authorizer's context, whose values must be strings, numbers or booleans.

    Raises:
        InvalidAnswer: a context value of another type.
    """
    context = answer.get("context") or {}
    if not isinstance(context, Mapping):
        raise InvalidAnswer("the authorizer's context is not an object")
    for name, value in context.items():
        if value is not None and not isinstance(value, str | int | float | bool):
            raise InvalidAnswer(f"the authorizer's context value {name!r} is not a scalar")
    return {"principalId": answer["principalId"], **context}


def websocket_event(
    connection: Connection,
    event_type: str,
    route_key: str,
    request_id: str,
    *,
    body: str | bytes | None = None,
    close_code: int | None = None,
    close_reason: str = "",
) -> dict[str, Any]:
    """A ``CONNECT``, ``MESSAGE`` or ``DISCONNECT`` event for the integration."""
    context = _ws_context(connection, event_type, route_key, request_id)
    context["authorizer"] = dict(connection.authorizer)
    event: dict[str, Any] = {}
    if event_type == "CONNECT":
        event.update(_handshake(connection))
    elif event_type == "DISCONNECT":
        headers = {k: v for k, v in connection.headers if k in ("host", "user-agent")}
        event["headers"] = headers
        event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
        context["disconnectStatusCode"] = close_code if close_code is not None else 1005
        context["disconnectReason"] = close_reason
    event["requestContext"] = context
    if isinstance(body, bytes):
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
    else:
        if body is not None:
            event["body"] = body
        event["isBase64Encoded"] = False
    return event


def select_route(body: str | bytes, routes: Sequence[str] = WEBSOCKET_ROUTES) -> str:
    """The route key for a message: its JSON ``action`` when a route has that key,
    else ``$default``."""
    if isinstance(body, str):
        try:
            message = untrusted.loads(body, what="the message")
        except InvalidRequest:
            return "$default"
        action = message.get("action") if isinstance(message, dict) else None
        if isinstance(action, str) and not action.startswith("$") and action in routes:
            return action
    return "$default"


def websocket_status(result: Any) -> int:
    """The status of a ``$connect`` integration's answer (200 without one)."""
    if isinstance(result, Mapping) and "statusCode" in result:
        status = result["statusCode"]
        if isinstance(status, int) and not isinstance(status, bool):
            return status
        raise InvalidAnswer("statusCode is not an HTTP status")
    return 200
