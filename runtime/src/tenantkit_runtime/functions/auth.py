"""The Lambda authorizer: Cognito JWTs for the HTTP, REST and WebSocket APIs.

One handler serves every API Gateway authorizer event; it tells them apart by shape:

==================  ======================================  ============================
event               token from                              answer
==================  ======================================  ============================
HTTP API, payload   ``Authorization`` header (``Bearer``    simple response:
2.0 (``version``    optional), else ``identitySource[0]``  ``{"isAuthorized": bool,
``"2.0"``)                                                  "context": {...}}``
REST ``TOKEN``      ``authorizationToken``                  IAM policy
REST ``REQUEST``    ``Authorization`` header                IAM policy
(and HTTP API 1.0)
WebSocket           query string ``token=``, else the       IAM policy
``$connect``        ``Authorization`` header
==================  ======================================  ============================

An IAM policy answer is ``{"principalId": user_id, "policyDocument": {...},
"context": {...}}`` allowing ``execute-api:Invoke`` on the event's ``methodArn`` only.

The context of an allowed request holds ``tenant_id``, ``user_id`` (the token's
``sub``) and ``roles`` (comma-joined); see :mod:`tenantkit_runtime.auth.identity` for
where the functions behind the API find it and how to read it.

Refusals:

* a missing, malformed, forged, expired or foreign token: HTTP API ``{"isAuthorized":
  false}`` (API Gateway answers 403); REST and WebSocket raise
  :class:`Unauthorized`, whose message is exactly ``"Unauthorized"``, which API Gateway
  turns into 401 (https://docs.aws.amazon.com/apigateway/latest/developerguide/
  apigateway-use-lambda-authorizer.html);
* a valid token used on a route that names another tenant (path parameter
  ``tenant_id`` or the configured name, query parameter of that name, or an
  ``X-Tenant-Id`` header): HTTP API ``{"isAuthorized": false, "context": {"error":
  "access_denied", "reason": ...}}`` (API Gateway drops the context; ``tenantkit serve``
  shows the reason), REST and WebSocket a ``Deny`` policy (403). A REST ``TOKEN``
  event carries no route parameters, so only the token is checked there;
* a valid token of a tenant the control plane's registry marks suspended
  (:mod:`tenantkit_runtime.suspension`; the status is cached per container for
  ``STATUS_TTL`` seconds, so no database read per request): refused as above, with
  ``"error": "tenant_suspended"``. Without ``TENANTKIT_CONTROL_PLANE`` there is no
  registry and nothing to check;
* the platform operator's token (role ``operator``, no tenant claim: see
  :mod:`tenantkit_runtime.auth.verifier`) on any route but the operator API's
  (``/operator/*``, told by the route API Gateway matched, ``routeKey`` or
  ``resource``, never by the caller's path text): refused as above, ``access_denied``.
  On ``/operator/*`` it skips the route-tenant and suspension checks (it names no
  tenant of its own). A TOKEN or WebSocket event carries no route: refused there.
  A tenant's token on ``/operator/*`` is let through like any tenant route; the
  operator function refuses it (403) and audits the attempt
  (:mod:`tenantkit_runtime.functions.operator`);
* the issuer's keys cannot be fetched: the error propagates (API Gateway answers 500)
  rather than refusing valid users.

Refusals are logged with their reason; a token is never logged. Settings come from
the ``TENANTKIT_AUTH_*`` environment variables (:mod:`tenantkit_runtime.auth.settings`),
read on the first invocation. Keep authorizer result caching off (or keyed on the
route) wherever a route names a tenant: a cached answer skips the tenant check.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, Literal

from tenantkit.errors import ConfigurationError, ProviderError
from tenantkit_runtime import coldgc, deployment
from tenantkit_runtime.auth import (
    AccessDenied,
    AuthSettings,
    Identity,
    TokenRejected,
    TokenVerifier,
    bearer_token,
)
from tenantkit_runtime.auth.errors import shown
from tenantkit_runtime.suspension import TenantStatus, TenantSuspended

__all__ = [
    "OPERATOR_PREFIX",
    "Unauthorized",
    "authorize",
    "default_verifier",
    "forget_verifier",
    "handler",
    "is_operator_path",
]

#: The operator API's routes: the only ones a tenant-less operator token may call.
OPERATOR_PREFIX = "/operator"

log = logging.getLogger("tenantkit_runtime.functions.auth")

EventKind = Literal["http", "token", "request", "websocket"]

_verifier: TokenVerifier | None = None
_verifier_lock = threading.Lock()


class Unauthorized(Exception):
    """Raised to make API Gateway answer 401 (REST and WebSocket authorizers)."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """The Lambda entry point."""
    try:
        return authorize(event, _default_verifier(), status=deployment.tenant_status())
    finally:
        coldgc.resume()  # after the first invocation (see tenantkit_runtime.coldgc)


def authorize(
    event: Mapping[str, Any], verifier: TokenVerifier, *, status: TenantStatus | None = None
) -> dict[str, Any]:
    """The authorizer's answer to ``event`` (see the module doc), using ``verifier``;
    with ``status``, a suspended tenant's valid token is refused too."""
    kind = event_kind(event)
    try:
        identity = verifier.verify(_token(event, kind)).identity
    except TokenRejected as exc:
        log.info(
            "authorizer: token refused (%s): %s",
            exc.reason,
            exc.message,
            extra={"auth_reason": exc.reason, "event_kind": kind},
        )
        if kind == "http":
            return {"isAuthorized": False}
        raise Unauthorized() from None
    except ProviderError as exc:
        log.error("authorizer: cannot verify tokens now: %s", exc, extra={"event_kind": kind})
        raise
    try:
        if identity.tenant_id is None:
            _check_operator_route(event, kind)
        else:
            _check_route_tenant(event, kind, identity, verifier.settings)
            if status is not None:
                status.check(identity.tenant_id)
    except (AccessDenied, TenantSuspended) as exc:
        log.warning(
            "authorizer: access denied: %s",
            exc.message,
            extra={
                "auth_reason": "tenant" if isinstance(exc, AccessDenied) else "suspended",
                "event_kind": kind,
            },
        )
        if kind == "http":
            # API Gateway ignores a refusal's context and answers {"message": "Forbidden"};
            # the local gateway shows the reason (it names tenants, never a secret).
            return {"isAuthorized": False, "context": {"error": exc.kind, "reason": exc.message}}
        return _policy(identity, "Deny", event)
    log.debug(
        "authorizer: allowed",
        extra={"tenant_id": identity.tenant_id, "user_id": identity.user_id, "event_kind": kind},
    )
    if kind == "http":
        return {"isAuthorized": True, "context": identity.to_context()}
    return _policy(identity, "Allow", event)


def event_kind(event: Mapping[str, Any]) -> EventKind:
    """Which authorizer event ``event`` is.

    Raises:
        ConfigurationError: not an API Gateway authorizer event.
    """
    if event.get("version") == "2.0" and "routeArn" in event:
        return "http"
    kind = event.get("type")
    if kind == "TOKEN" and "methodArn" in event:
        return "token"
    if kind == "REQUEST" and "methodArn" in event:
        request_context = event.get("requestContext")
        if (
            isinstance(request_context, Mapping) and request_context.get("eventType") == "CONNECT"
        ) or str(event["methodArn"]).endswith("/$connect"):
            return "websocket"
        return "request"
    raise ConfigurationError(
        "the authorizer got an event that is not an API Gateway authorizer event "
        "(HTTP API 2.0, REST TOKEN/REQUEST or WebSocket $connect)"
    )


def _token(event: Mapping[str, Any], kind: EventKind) -> str | None:
    if kind == "token":
        return bearer_token(event.get("authorizationToken"))
    if kind == "websocket":
        token = _get(event.get("queryStringParameters"), "token")
        if token:
            return token
    token = bearer_token(_header(event, "authorization"))
    if token is None and kind == "http":
        sources = event.get("identitySource")
        if isinstance(sources, list) and sources:
            token = bearer_token(sources[0])
    return token


def is_operator_path(path: str) -> bool:
    """Whether ``path`` (a route template or a request path) is one of the operator's."""
    return path == OPERATOR_PREFIX or path.startswith(OPERATOR_PREFIX + "/")


def _route_path(event: Mapping[str, Any], kind: EventKind) -> str | None:
    """The path of the route API Gateway matched (its template, not the caller's text)."""
    if kind == "http":
        route_key = event.get("routeKey")
        if isinstance(route_key, str) and " " in route_key:
            return route_key.split(" ", 1)[1]
    elif kind == "request":
        resource = event.get("resource")
        if isinstance(resource, str):
            return resource
    return None


def _check_operator_route(event: Mapping[str, Any], kind: EventKind) -> None:
    path = _route_path(event, kind)
    if path is None or not is_operator_path(path):
        raise AccessDenied(
            "an operator token (no tenant) is accepted only on the operator API "
            f"({OPERATOR_PREFIX}/...), not on a tenant's routes"
        )


def _check_route_tenant(
    event: Mapping[str, Any], kind: EventKind, identity: Identity, settings: AuthSettings
) -> None:
    if kind == "token":
        return
    param = settings.route_tenant_param
    named = {
        "path parameter": _get(event.get("pathParameters"), param),
        "query parameter": _get(event.get("queryStringParameters"), param),
        "X-Tenant-Id header": _header(event, "x-tenant-id"),
    }
    for where, tenant_id in named.items():
        if tenant_id is not None and tenant_id != identity.tenant_id:
            raise AccessDenied(
                f"a token of tenant {identity.tenant_id!r} was used on a route whose "
                f"{where} names tenant {shown(tenant_id)}"
            )


def _policy(identity: Identity, effect: str, event: Mapping[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "principalId": identity.user_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}
            ],
        },
    }
    if effect == "Allow":
        answer["context"] = identity.to_context()
    return answer


def _get(mapping: object, key: str) -> str | None:
    if isinstance(mapping, Mapping):
        value = mapping.get(key)
        if isinstance(value, str):
            return value
    return None


def _header(event: Mapping[str, Any], name: str) -> str | None:
    headers = event.get("headers")
    if not isinstance(headers, Mapping):
        return None
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name and isinstance(value, str):
            return value
    return None


def default_verifier() -> TokenVerifier:
    """The process's verifier, from the ``TENANTKIT_AUTH_*`` settings (also used by the
    routes that verify their bearer token themselves)."""
    return _default_verifier()


def forget_verifier() -> None:
    """Drop the process's verifier and its cached signing keys (read again on next use)."""
    global _verifier
    with _verifier_lock:
        _verifier = None


def _default_verifier() -> TokenVerifier:
    global _verifier
    if _verifier is None:
        with _verifier_lock:
            if _verifier is None:
                _verifier = TokenVerifier(AuthSettings.from_env())
    return _verifier
