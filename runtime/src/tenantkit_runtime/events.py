"""API Gateway events, read into one shape whatever the API kind.

Three event formats reach the functions (AWS documentation, "Lambda proxy
integrations" for REST APIs and "payload format version 2.0" for HTTP APIs, and the
WebSocket ``$connect``/``$disconnect`` page):

* REST API (payload 1.0): ``httpMethod``, ``path`` (without the stage), the
  authorizer's context directly under ``requestContext.authorizer``.
* HTTP API (payload 2.0): ``version: "2.0"``, ``requestContext.http.method``,
  ``rawPath`` (with the stage for a named stage), the Lambda authorizer's context
  under ``requestContext.authorizer.lambda``.
* WebSocket API: ``requestContext.eventType`` (``CONNECT``, ``MESSAGE``,
  ``DISCONNECT``), ``connectionId``, ``routeKey``, ``domainName``, ``stage``; the
  ``$connect`` authorizer's context under ``requestContext.authorizer``, on every
  event of the connection.

The authorizer context holds ``tenant_id``, ``user_id`` and ``roles`` (a comma-joined
string). Tenant and user come only from there, never from the path, the query or a
header.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tenantkit.errors import InvalidRequest
from tenantkit_runtime.auth.errors import TokenRejected
from tenantkit_runtime.auth.identity import Identity

__all__ = ["Incoming", "parse_event"]

EventKind = Literal["rest", "http", "websocket"]


@dataclass(frozen=True)
class Incoming:
    """One API Gateway event, whatever its format."""

    kind: EventKind
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes
    request_id: str
    identity: Identity | None
    """Who is calling, as the authorizer vouched for it; ``None`` without an authorizer."""
    raw_identity: Mapping[str, Any] = field(default_factory=dict, repr=False)
    connection_id: str | None = None
    event_type: str | None = None
    route_key: str | None = None
    domain_name: str | None = None
    stage: str | None = None


def parse_event(event: Mapping[str, Any], context: Any = None) -> Incoming:
    """Read an API Gateway proxy event (REST 1.0, HTTP 2.0 or WebSocket)."""
    if not isinstance(event, Mapping):
        raise InvalidRequest("the event is not a JSON object")
    rc = event.get("requestContext")
    rc = rc if isinstance(rc, Mapping) else {}
    request_id = str(
        rc.get("requestId") or getattr(context, "aws_request_id", None) or uuid.uuid4()
    )
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    query = {str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()}
    body = _body(event)
    stage = rc.get("stage")
    if rc.get("eventType") or rc.get("connectionId"):
        authorizer = rc.get("authorizer")
        return Incoming(
            kind="websocket",
            method="WEBSOCKET",
            path=str(rc.get("routeKey") or ""),
            headers=headers,
            query=query,
            body=body,
            request_id=request_id,
            identity=_identity(authorizer),
            raw_identity=authorizer if isinstance(authorizer, Mapping) else {},
            connection_id=_opt_str(rc.get("connectionId")),
            event_type=_opt_str(rc.get("eventType")),
            route_key=_opt_str(rc.get("routeKey")),
            domain_name=_opt_str(rc.get("domainName")),
            stage=_opt_str(stage),
        )
    if event.get("version") == "2.0":
        http_value = rc.get("http")
        http: Mapping[str, Any] = http_value if isinstance(http_value, Mapping) else {}
        outer = rc.get("authorizer")
        authorizer = outer.get("lambda") if isinstance(outer, Mapping) else None
        path = str(event.get("rawPath") or http.get("path") or "/")
        if isinstance(stage, str) and stage != "$default":
            prefix = f"/{stage}"
            if path == prefix or path.startswith(prefix + "/"):
                path = path[len(prefix) :] or "/"
        return Incoming(
            kind="http",
            method=str(http.get("method") or "GET").upper(),
            path=path,
            headers=headers,
            query=query,
            body=body,
            request_id=request_id,
            identity=_identity(authorizer),
            raw_identity=authorizer if isinstance(authorizer, Mapping) else {},
            domain_name=_opt_str(rc.get("domainName")),
            stage=_opt_str(stage),
        )
    if "httpMethod" in event:
        authorizer = rc.get("authorizer")
        return Incoming(
            kind="rest",
            method=str(event.get("httpMethod") or "GET").upper(),
            path=str(event.get("path") or "/"),
            headers=headers,
            query=query,
            body=body,
            request_id=request_id,
            identity=_identity(authorizer),
            raw_identity=authorizer if isinstance(authorizer, Mapping) else {},
            domain_name=_opt_str(rc.get("domainName")),
            stage=_opt_str(stage),
        )
    raise InvalidRequest("not an API Gateway proxy event (REST, HTTP or WebSocket)")


def _opt_str(value: object) -> str | None:
    return str(value) if value is not None else None


def _body(event: Mapping[str, Any]) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise InvalidRequest("the event body is not a string")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest("the event body is not valid base64") from None
    return body.encode()


def _identity(authorizer: object) -> Identity | None:
    if not isinstance(authorizer, Mapping):
        return None
    context = authorizer.get("lambda")
    try:
        return Identity.from_context(context if isinstance(context, Mapping) else authorizer)
    except ValueError as exc:
        raise TokenRejected(str(exc), reason="claims") from None
