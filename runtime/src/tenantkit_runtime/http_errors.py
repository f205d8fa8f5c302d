"""Errors as HTTP answers: one table from the core's error taxonomy to status codes.

Every error answer has the same JSON body::

    {"error": {"code": "rate_limited", "message": "...", "request_id": "..."}}

``code`` is the error's ``kind``. Errors about the request (4xx) carry their own
message, scrubbed of the tenant's credentials; errors on the server's side (5xx)
carry a fixed message, and the details go to the log only (unless the error class
says ``public_message = True``: its message names a setting an operator must set,
never a value). No traceback ever
reaches a client.

The status is chosen by class: :func:`status_for` walks the error's MRO and takes
the first class in :data:`STATUS`, so an error class defined elsewhere (a plugin's
subclass of ``Throttled``) gets its base's status. The three families of the
taxonomy answer as their kind of fault: the caller's input 4xx, the tenant's
provider 5xx (429 when it asks us to slow down), a configuration a person must fix
503. A :class:`~tenantkit.errors.TenantkitError` that is in none of them, and
anything outside the taxonomy, is 500 (``internal_error``).

A 4xx error that carries field errors lists their paths in ``details`` (a body that
failed validation: 422; a setting only the operator may change: 403).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tenantkit import errors
from tenantkit.errors import FieldError, InvalidRequest, TenantkitError
from tenantkit_runtime.auth.errors import TokenRejected
from tenantkit_runtime.logs import scrub
from tenantkit_runtime.responses import Response

__all__ = [
    "MethodNotAllowed",
    "PayloadTooLarge",
    "RequestValidationError",
    "TenantUnavailable",
    "error_family",
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


#: Error class → HTTP status; :func:`status_for` walks the MRO, so subclasses inherit.
STATUS: Mapping[type[TenantkitError], int] = {
    # the caller's input
    errors.CallerError: 400,
    TokenRejected: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    MethodNotAllowed: 405,
    errors.ConditionFailed: 409,
    PayloadTooLarge: 413,
    RequestValidationError: 422,
    # the tenant's provider (its credentials are not the caller's: never 401/403)
    errors.ProviderError: 502,
    errors.RateLimited: 429,
    errors.Throttled: 429,
    errors.QuotaExceeded: 429,
    errors.ContentFiltered: 400,  # the content the caller sent or asked for
    errors.Timeout: 504,
    errors.IsolationViolation: 502,
    # configuration a person must fix, and states that pass
    errors.ConfigurationError: 503,
    errors.TenantNotFound: 404,
    errors.ConfigSourceError: 503,
    errors.TenantClosed: 503,
    TenantUnavailable: 503,
}

_SERVER_MESSAGES = {
    500: "internal error",
    502: "the tenant's provider failed",
    503: "this tenant cannot be served right now",
    504: "the tenant's provider did not answer in time",
}


def status_for(exc: BaseException) -> int:
    """The HTTP status for an exception: that of the nearest class in :data:`STATUS`
    along its MRO, 500 for anything else."""
    for cls in type(exc).__mro__:
        status = STATUS.get(cls)
        if status is not None:
            return status
    return 500


def error_family(exc: BaseException) -> str:
    """Whose fault an error is, for metrics: ``caller`` (4xx), ``provider`` (the
    tenant's provider failed), ``configuration`` (503: a person must fix the
    deployment or the tenant's configuration, or its store is down) or ``internal``
    (500: a bug)."""
    if isinstance(exc, errors.CallerError):
        return "caller"
    if isinstance(exc, errors.ProviderError | errors.IsolationViolation):
        return "provider"
    status = status_for(exc)
    if status < 500:
        return "caller"
    return "configuration" if status == 503 else "internal"


def error_response(
    exc: BaseException, *, request_id: str | None, secrets: Sequence[str] = ()
) -> Response:
    """The JSON error answer for ``exc``; ``secrets`` are masked from its message."""
    status = status_for(exc)
    code = exc.kind if isinstance(exc, TenantkitError) and status != 500 else "internal_error"
    if status >= 500 and not getattr(exc, "public_message", False):
        message = _SERVER_MESSAGES.get(status, "internal error")
    elif status >= 500:  # an error whose message names a setting to fix, nothing secret
        message = exc.message if isinstance(exc, TenantkitError) else str(exc)
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
