"""Errors as HTTP answers: one mapping from the core's error taxonomy to status codes.

Every error answer has the same JSON body::

    {"error": {"code": "rate_limited", "message": "...", "request_id": "..."}}

``code`` is the error's ``kind``. Errors about the request (4xx) carry their own
message, scrubbed of the tenant's credentials; errors on the server's side (5xx)
carry a fixed message, and the details go to the log only. No traceback ever
reaches a client.

=====  ===================================================================================
 400   invalid_request, invalid_key, invalid_cursor, context_window_exceeded,
       content_filtered, unsupported
 401   invalid_token; authentication_error not raised by a provider (no caller identity)
 403   access_denied; permission_denied not raised by a provider (the caller's role,
       or a setting only the operator may change: ``details`` names the field paths)
 404   not_found, tenant_not_found
 405   method_not_allowed
 409   condition_failed, transaction_canceled
 413   payload_too_large
 422   validation_error (``details`` lists the field paths)
 429   rate_limited, throttled, quota_exceeded (``Retry-After`` when it is worth waiting)
 502   a tenant's provider failed: provider_error, provider_unavailable,
       connection_failed, stream_interrupted, isolation_violation, and
       authentication_error / permission_denied raised by a provider (the tenant's
       credentials, not the caller's)
 503   the tenant cannot be served: configuration_error, invalid_secret,
       tenant_mismatch, config_source_error, plugin errors, tenant_unavailable (a
       provider that cannot be set up)
 504   timeout
 500   anything else (``internal_error``)
=====  ===================================================================================
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from tenantkit.errors import FieldError, InvalidRequest, TenantkitError
from tenantkit_runtime.logs import scrub
from tenantkit_runtime.responses import Response

__all__ = [
    "MethodNotAllowed",
    "PayloadTooLarge",
    "RequestValidationError",
    "TenantUnavailable",
    "error_response",
    "status_for",
]


class PayloadTooLarge(InvalidRequest):
    """The request, or the upload it announces or confirms, is larger than allowed."""

    kind = "payload_too_large"


class MethodNotAllowed(InvalidRequest):
    """The path exists but not with this method; ``allowed`` lists the methods it takes."""

    kind = "method_not_allowed"

    def __init__(self, message: str, *, allowed: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.allowed = list(allowed)


class TenantUnavailable(TenantkitError):
    """One of the tenant's providers could not be set up (its ``__cause__`` says why):
    the tenant cannot be served, the others can."""

    kind = "tenant_unavailable"


class RequestValidationError(InvalidRequest):
    """The request body or parameters do not match the route's model.

    ``errors`` names every problem by field path; input values are never quoted.
    """

    kind = "validation_error"

    def __init__(self, errors: Sequence[FieldError], *, where: str = "request body") -> None:
        self.errors = list(errors)
        super().__init__(f"invalid {where}: " + "; ".join(str(e) for e in self.errors))


_BY_KIND: dict[str, int] = {
    "invalid_request": 400,
    "invalid_key": 400,
    "invalid_cursor": 400,
    "context_window_exceeded": 400,
    "content_filtered": 400,
    "unsupported": 400,
    "invalid_token": 401,
    "access_denied": 403,
    "not_found": 404,
    "tenant_not_found": 404,
    "method_not_allowed": 405,
    "condition_failed": 409,
    "transaction_canceled": 409,
    "payload_too_large": 413,
    "validation_error": 422,
    "rate_limited": 429,
    "throttled": 429,
    "quota_exceeded": 429,
    "provider_error": 502,
    "provider_unavailable": 502,
    "connection_failed": 502,
    "stream_interrupted": 502,
    "isolation_violation": 502,
    "configuration_error": 503,
    "invalid_secret": 503,
    "tenant_mismatch": 503,
    "config_source_error": 503,
    "plugin_error": 503,
    "provider_not_found": 503,
    "plugin_import_error": 503,
    "plugin_conflict": 503,
    "invalid_plugin": 503,
    "tenant_unavailable": 503,
    "error": 503,  # the core's bare error: a provider that could not be built
    "timeout": 504,
}

_SERVER_MESSAGES = {
    500: "internal error",
    502: "the tenant's provider failed",
    503: "this tenant cannot be served right now",
    504: "the tenant's provider did not answer in time",
}


def status_for(exc: BaseException) -> int:
    """The HTTP status for an exception (500 for anything outside the taxonomy)."""
    if not isinstance(exc, TenantkitError):
        return 500
    if exc.kind in ("authentication_error", "permission_denied"):
        if exc.provider is not None:
            return 502  # the tenant's credentials at its provider, not the caller's
        return 401 if exc.kind == "authentication_error" else 403
    status = _BY_KIND.get(exc.kind)
    if status is not None:
        return status
    for cls in type(exc).__mro__[1:]:  # a subclass defined elsewhere: its base's status
        kind = getattr(cls, "kind", None)
        if isinstance(kind, str) and kind in _BY_KIND and kind != "error":
            return _BY_KIND[kind]
    return 500


def error_response(
    exc: BaseException, *, request_id: str | None, secrets: Sequence[str] = ()
) -> Response:
    """The JSON error answer for ``exc``; ``secrets`` are masked from its message."""
    status = status_for(exc)
    code = exc.kind if isinstance(exc, TenantkitError) and status != 500 else "internal_error"
    if status >= 500:
        message = _SERVER_MESSAGES.get(status, "internal error")
    else:
        message = scrub(exc.message if isinstance(exc, TenantkitError) else str(exc), secrets)
    error: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    headers: dict[str, str] = {}
    field_errors = _field_errors(exc) if status < 500 else []
    if field_errors:
        error["details"] = [
            {"path": e.path, "message": scrub(e.message, secrets)} for e in field_errors
        ]
    if isinstance(exc, MethodNotAllowed) and exc.allowed:
        headers["allow"] = ", ".join(exc.allowed)
    retry_after = _retry_after(exc, status)
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    return Response({"error": error}, status, headers)


def _field_errors(exc: BaseException) -> list[FieldError]:
    """The field paths a 4xx error names: a validation error's, or a refused setting's
    (``tenantkit.ownership.OperatorOwnedSetting``)."""
    errors = getattr(exc, "errors", None) if isinstance(exc, TenantkitError) else None
    if not isinstance(errors, list):
        return []
    return [e for e in errors if isinstance(e, FieldError)]


def _retry_after(exc: BaseException, status: int) -> int | None:
    if status not in (429, 503) or not isinstance(exc, TenantkitError):
        return None
    if exc.retry_after is not None and math.isfinite(exc.retry_after) and exc.retry_after >= 0:
        return max(1, math.ceil(exc.retry_after))
    return 1 if exc.retryable else None
