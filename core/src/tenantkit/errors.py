"""The one error taxonomy shared by every provider kind.

Every error tenantkit raises is a :class:`TenantkitError`, in one of three families
that say whose fault it is and who must act:

* :class:`CallerError`: the caller's own input cannot succeed as sent (a malformed
  request, a missing item, a condition that does not hold). Retrying the same call
  cannot help; the caller changes the request. HTTP 4xx.
* :class:`ProviderError`: the tenant's provider failed (down, throttling, timing
  out, rejecting the tenant's credential, out of quota). :attr:`retryable` says
  whether the same call may succeed later; :class:`OutcomeUnknown` says a write may
  or may not have been applied. HTTP 5xx (429 for rate limits and quota).
* :class:`ConfigurationError`: the deployment or the tenant's configuration is wrong
  (an invalid secret, a plugin that is not installed or does not load). Nothing the
  caller does helps until a person fixes it. HTTP 503.

Messages never contain credentials: providers build them from status codes and
server error codes, and the core scrubs the tenant's secret values
(:func:`tenantkit.redaction.redact`) from every error that crosses the
tenant-scoped wrappers.

Hierarchy::

    TenantkitError
    ├── CallerError                      the caller's input
    │   ├── InvalidRequest               malformed, or breaks a documented limit
    │   │   ├── InvalidKey
    │   │   ├── InvalidCursor
    │   │   └── ContextWindowExceeded    the prompt does not fit the model
    │   ├── NotFound
    │   ├── Forbidden                    not the caller's to do (operator-owned, plan)
    │   ├── ConditionFailed              a conflict
    │   │   └── TransactionCanceled
    │   └── Unsupported                  the tenant's provider lacks the capability
    ├── ProviderError                    the tenant's provider failed
    │   ├── retryable: RateLimited, Throttled, Timeout, ProviderUnavailable,
    │   │              ConnectionFailed, StreamInterrupted
    │   ├── OutcomeUnknown               a write sent, its answer lost: retried by the
    │   │                                core only for idempotent calls
    │   └── final:     AuthenticationError, PermissionDenied (the tenant's
    │                  credential at its provider), QuotaExceeded, ContentFiltered
    ├── ConfigurationError               needs a person
    │   ├── SecretValidationError        (field paths in .errors)
    │   ├── TenantNotFound
    │   ├── TenantMismatch
    │   └── PluginError                  a plugin missing or broken
    │       ├── ProviderNotFound
    │       ├── PluginImportError
    │       ├── PluginConflict
    │       ├── InvalidPlugin
    │       └── ProviderSetupFailed      the provider's factory failed unexpectedly
    ├── ConfigSourceError                retryable: the configuration store failed
    ├── TenantClosed                     retryable: resolve the tenant again
    └── IsolationViolation               a provider answered outside the tenant: a bug

:func:`error_class_for_status` is the one table from an HTTP status to the taxonomy,
for every provider that speaks HTTP; plugins refine it with their service's error
codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from tenantkit.redaction import redact

__all__ = [
    "AuthenticationError",
    "CallerError",
    "ConditionFailed",
    "ConfigSourceError",
    "ConfigurationError",
    "ConnectionFailed",
    "ContentFiltered",
    "ContextWindowExceeded",
    "FieldError",
    "Forbidden",
    "InvalidCursor",
    "InvalidKey",
    "InvalidPlugin",
    "InvalidRequest",
    "IsolationViolation",
    "NotFound",
    "OutcomeUnknown",
    "PermissionDenied",
    "PluginConflict",
    "PluginError",
    "PluginImportError",
    "ProviderError",
    "ProviderNotFound",
    "ProviderSetupFailed",
    "ProviderUnavailable",
    "QuotaExceeded",
    "RateLimited",
    "SecretValidationError",
    "StreamInterrupted",
    "TenantClosed",
    "TenantMismatch",
    "TenantNotFound",
    "TenantkitError",
    "Throttled",
    "Timeout",
    "TransactionCanceled",
    "Unsupported",
    "error_class_for_status",
]


class TenantkitError(Exception):
    """Base of every tenantkit error.

    Attributes:
        message: human-readable text, free of credentials.
        provider: the provider name (``"dynamodb"``, ``"claude"``...) when known.
        status: the HTTP status or service status code when known.
        code: the provider's own error code (``"ThrottlingException"``...) when known.
        request_id: the provider's request id when known.
        retry_after: seconds the provider asked us to wait, when it said so.
    """

    retryable: ClassVar[bool] = False
    #: Stable machine-readable name, used by the runtime's HTTP error bodies.
    kind: ClassVar[str] = "error"

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after

    def __str__(self) -> str:
        details = [
            f"{label}={value}"
            for label, value in (
                ("provider", self.provider),
                ("status", self.status),
                ("code", self.code),
                ("request_id", self.request_id),
                ("retry_after", self.retry_after),
            )
            if value is not None
        ]
        return f"{self.message} ({', '.join(details)})" if details else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def _scrub(self, secrets: Sequence[str]) -> None:
        """Replace every occurrence of the given secret values in this error's text."""
        for attr in ("message", "code", "request_id"):
            value = getattr(self, attr)
            if isinstance(value, str):
                setattr(self, attr, redact(value, secrets))
        self.args = tuple(redact(a, secrets) if isinstance(a, str) else a for a in self.args)


# --- the caller's input --------------------------------------------------------------


class CallerError(TenantkitError):
    """The caller's request cannot succeed as sent; the caller must change it.

    Raised by the core's own checks and by providers that refuse the request itself
    (a malformed request, a missing item, a condition that does not hold).
    """

    kind = "caller_error"


class InvalidRequest(CallerError):
    """The request is malformed or breaks a documented limit."""

    kind = "invalid_request"


class InvalidKey(InvalidRequest):
    """A storage key or database key is not allowed (``..``, absolute, control chars)."""

    kind = "invalid_key"


class InvalidCursor(InvalidRequest):
    """A pagination cursor was tampered with or belongs to another tenant or query."""

    kind = "invalid_cursor"


class ContextWindowExceeded(InvalidRequest):
    """The prompt does not fit the model's context window. Retrying cannot help."""

    kind = "context_window_exceeded"


class NotFound(CallerError):
    """The item, object, model or resource does not exist."""

    kind = "not_found"


class Forbidden(CallerError):
    """The caller may not do this: a setting only the operator may change, a feature
    the tenant's plan does not include. Not the provider refusing the tenant's
    credential (that is :class:`PermissionDenied`). HTTP 403."""

    kind = "forbidden"


class ConditionFailed(CallerError):
    """A conditional write did not hold (item exists, version moved on): a conflict."""

    kind = "condition_failed"


class TransactionCanceled(ConditionFailed):
    """A transactional write was rolled back.

    ``reasons`` has one entry per operation in request order: ``None`` for operations
    that did not fail, else a short reason (``"ConditionalCheckFailed"``...).
    """

    kind = "transaction_canceled"

    def __init__(
        self, message: str, *, reasons: Sequence[str | None] = (), **kwargs: object
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.reasons = list(reasons)

    @property
    def failed_indexes(self) -> list[int]:
        return [i for i, reason in enumerate(self.reasons) if reason is not None]


class Unsupported(CallerError):
    """The tenant's provider does not declare the capability this call needs."""

    kind = "unsupported"


# --- provider failures ---------------------------------------------------------------


class ProviderError(TenantkitError):
    """A call to a tenant's provider failed on the provider's side."""

    kind = "provider_error"


class RateLimited(ProviderError):
    """The provider rate-limited the caller; ``retry_after`` says how long to wait."""

    retryable = True
    kind = "rate_limited"


class Throttled(ProviderError):
    """The service is shedding load (DynamoDB throughput, S3 SlowDown...)."""

    retryable = True
    kind = "throttled"


class Timeout(ProviderError):
    """The call did not complete in time (and did not change anything)."""

    retryable = True
    kind = "timeout"


class ProviderUnavailable(ProviderError):
    """The service answered with a server-side failure (5xx, overloaded)."""

    retryable = True
    kind = "provider_unavailable"


class ConnectionFailed(ProviderError):
    """No connection could be made, or it broke before the request was sent."""

    retryable = True
    kind = "connection_failed"


class StreamInterrupted(ProviderError):
    """A stream broke after it had started. ``partial_text`` holds what arrived."""

    retryable = True
    kind = "stream_interrupted"

    def __init__(self, message: str, *, partial_text: str = "", **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.partial_text = partial_text


class OutcomeUnknown(ProviderError):
    """A request that changes data was sent and its answer was lost (the connection
    broke, the read timed out): it may or may not have been applied.

    Not :attr:`retryable`: repeating an increment or a conditional write could apply
    it twice. The core's tenant-scoped wrappers repeat it only for idempotent calls
    (``get``, queries, an unconditional ``put``); anyone else must check what happened
    before deciding.
    """

    kind = "outcome_unknown"


class AuthenticationError(ProviderError):
    """The provider rejected the tenant's credentials."""

    kind = "authentication_error"


class PermissionDenied(ProviderError):
    """The tenant's credentials are valid but may not do this at the provider."""

    kind = "permission_denied"


class ContentFiltered(ProviderError):
    """The provider's content filter refused the prompt or the answer."""

    kind = "content_filtered"


class QuotaExceeded(ProviderError):
    """The account is out of quota or credit; waiting a little will not help."""

    kind = "quota_exceeded"


# --- configuration -------------------------------------------------------------------


class ConfigurationError(TenantkitError):
    """The deployment or a tenant's configuration is wrong; fixing it needs a person."""

    kind = "configuration_error"


class FieldError:
    """One validation problem: the dotted field path and what is wrong there."""

    __slots__ = ("message", "path")

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def __repr__(self) -> str:
        return f"FieldError({self.path!r}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldError) and (self.path, self.message) == (
            other.path,
            other.message,
        )

    def __hash__(self) -> int:
        return hash((self.path, self.message))


class SecretValidationError(ConfigurationError):
    """A tenant secret does not match the schema. ``errors`` lists every problem."""

    kind = "invalid_secret"

    def __init__(self, errors: Sequence[FieldError], *, source: str | None = None) -> None:
        self.errors = list(errors)
        self.source = source
        where = f"{source}: " if source else ""
        lines = "; ".join(str(e) for e in self.errors)
        super().__init__(f"{where}invalid tenant secret: {lines}")


class TenantNotFound(ConfigurationError):
    """No configuration exists for the tenant id."""

    kind = "tenant_not_found"


class TenantMismatch(ConfigurationError):
    """A secret stored under one tenant's name declares another ``tenant_id``."""

    kind = "tenant_mismatch"


class PluginError(ConfigurationError):
    """A provider plugin could not be found, loaded or set up. ``provider`` names it."""

    kind = "plugin_error"


class ProviderNotFound(PluginError):
    """No installed distribution provides the named provider.

    ``provider_kind`` is the kind it was looked up as (``"db"``, ``"llm"``,
    ``"storage"``) when known, so a caller can name the field (``llm.provider``).
    """

    kind = "provider_not_found"

    def __init__(self, message: str, *, provider_kind: str | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.provider_kind = provider_kind


class PluginImportError(PluginError):
    """The plugin module raised while being imported; ``__cause__`` holds the original."""

    kind = "plugin_import_error"


class PluginConflict(PluginError):
    """Two distributions claim the same (kind, name)."""

    kind = "plugin_conflict"


class InvalidPlugin(PluginError):
    """The plugin's hook implementations do not match the hook specifications."""

    kind = "invalid_plugin"


class ProviderSetupFailed(PluginError):
    """The provider's factory raised an error outside the taxonomy while building the
    tenant's provider instance (a bug in the plugin, or settings its model let
    through). The message names the original error, scrubbed of the tenant's secrets."""

    kind = "provider_setup_failed"


# --- the deployment's own state -----------------------------------------------------


class ConfigSourceError(TenantkitError):
    """The configuration store (Secrets Manager, a directory) could not be read."""

    retryable = True
    kind = "config_source_error"


class TenantClosed(TenantkitError):
    """The :class:`~tenantkit.Tenant` object was closed (evicted, or its configuration
    changed) while still in use; resolving the tenant again gives a live one."""

    retryable = True
    kind = "tenant_closed"


class IsolationViolation(TenantkitError):
    """A provider returned data outside the calling tenant's scope. Never ignored."""

    kind = "isolation_violation"


# --- HTTP status → taxonomy -----------------------------------------------------------

_BY_STATUS: dict[int, type[TenantkitError]] = {
    400: InvalidRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    408: Timeout,
    409: ConditionFailed,
    412: ConditionFailed,
    413: InvalidRequest,
    422: InvalidRequest,
    429: RateLimited,
    500: ProviderUnavailable,
    502: ProviderUnavailable,
    503: ProviderUnavailable,
    504: Timeout,
    529: ProviderUnavailable,
}


def error_class_for_status(status: int | None) -> type[TenantkitError]:
    """The taxonomy's class for an HTTP error status answered by a provider.

    The one table for every provider that speaks HTTP (the LLM APIs, AWS, Azure,
    Google): other 4xx are :class:`InvalidRequest`, other 5xx
    :class:`ProviderUnavailable`, anything else :class:`ProviderError`. Plugins refine
    the class with their service's error codes; a status alone says little more.
    """
    if status is None:
        return ProviderError
    found = _BY_STATUS.get(status)
    if found is not None:
        return found
    if 500 <= status <= 599:
        return ProviderUnavailable
    if 400 <= status <= 499:
        return InvalidRequest
    return ProviderError
