"""The one error taxonomy shared by every provider kind.

Every error tenantkit raises is a :class:`TenantkitError`. Errors that come from a
provider call are :class:`ProviderError` subclasses and say whether retrying the
same call may succeed (:attr:`TenantkitError.retryable`). Messages never contain
credentials: providers build them from status codes and server error codes, and
the core scrubs the tenant's secret values from every error that crosses the
tenant-scoped wrappers.

Hierarchy::

    TenantkitError
    ├── ConfigurationError
    │   ├── SecretValidationError        (field paths in .errors)
    │   ├── TenantNotFound
    │   └── TenantMismatch
    ├── PluginError
    │   ├── ProviderNotFound
    │   ├── PluginImportError
    │   ├── PluginConflict
    │   └── InvalidPlugin
    ├── ConfigSourceError                (retryable: the config store failed)
    ├── IsolationViolation               (a provider answered outside the tenant)
    └── ProviderError
        ├── retryable: RateLimited, Throttled, Timeout, ProviderUnavailable,
        │              ConnectionFailed, StreamInterrupted
        └── final:     AuthenticationError, PermissionDenied, NotFound,
                       InvalidRequest (InvalidKey, InvalidCursor),
                       ContextWindowExceeded, ContentFiltered, QuotaExceeded,
                       ConditionFailed (TransactionCanceled), Unsupported
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

__all__ = [
    "AuthenticationError",
    "ConditionFailed",
    "ConfigSourceError",
    "ConfigurationError",
    "ConnectionFailed",
    "ContentFiltered",
    "ContextWindowExceeded",
    "FieldError",
    "InvalidCursor",
    "InvalidKey",
    "InvalidPlugin",
    "InvalidRequest",
    "IsolationViolation",
    "NotFound",
    "PermissionDenied",
    "PluginConflict",
    "PluginError",
    "PluginImportError",
    "ProviderError",
    "ProviderNotFound",
    "ProviderUnavailable",
    "QuotaExceeded",
    "RateLimited",
    "SecretValidationError",
    "StreamInterrupted",
    "TenantMismatch",
    "TenantNotFound",
    "TenantkitError",
    "Throttled",
    "Timeout",
    "TransactionCanceled",
    "Unsupported",
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
                setattr(self, attr, _redact(value, secrets))
        self.args = tuple(_redact(a, secrets) if isinstance(a, str) else a for a in self.args)


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4 and secret in text:
            text = text.replace(secret, "**********")
    return text


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


# --- plugins -------------------------------------------------------------------------


class PluginError(TenantkitError):
    """A provider plugin could not be found or loaded."""

    kind = "plugin_error"


class ProviderNotFound(PluginError):
    """No installed distribution provides the named provider."""

    kind = "provider_not_found"


class PluginImportError(PluginError):
    """The plugin module raised while being imported; ``__cause__`` holds the original."""

    kind = "plugin_import_error"


class PluginConflict(PluginError):
    """Two distributions claim the same (kind, name)."""

    kind = "plugin_conflict"


class InvalidPlugin(PluginError):
    """The plugin's hook implementations do not match the hook specifications."""

    kind = "invalid_plugin"


# --- config source and isolation ----------------------------------------------------


class ConfigSourceError(TenantkitError):
    """The configuration store (Secrets Manager, a directory) could not be read."""

    retryable = True
    kind = "config_source_error"


class IsolationViolation(TenantkitError):
    """A provider returned data outside the calling tenant's scope. Never ignored."""

    kind = "isolation_violation"


# --- provider calls ------------------------------------------------------------------


class ProviderError(TenantkitError):
    """A call to a tenant's provider failed."""

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
    """The call did not complete in time."""

    retryable = True
    kind = "timeout"


class ProviderUnavailable(ProviderError):
    """The service answered with a server-side failure (5xx, overloaded)."""

    retryable = True
    kind = "provider_unavailable"


class ConnectionFailed(ProviderError):
    """No connection could be made or it broke before an answer."""

    retryable = True
    kind = "connection_failed"


class StreamInterrupted(ProviderError):
    """A stream broke after it had started. ``partial_text`` holds what arrived."""

    retryable = True
    kind = "stream_interrupted"

    def __init__(self, message: str, *, partial_text: str = "", **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.partial_text = partial_text


class AuthenticationError(ProviderError):
    """The provider rejected the tenant's credentials."""

    kind = "authentication_error"


class PermissionDenied(ProviderError):
    """The credentials are valid but may not do this."""

    kind = "permission_denied"


class NotFound(ProviderError):
    """The item, object, model or resource does not exist."""

    kind = "not_found"


class InvalidRequest(ProviderError):
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


class ContentFiltered(ProviderError):
    """The provider's content filter refused the prompt or the answer."""

    kind = "content_filtered"


class QuotaExceeded(ProviderError):
    """The account is out of quota or credit; waiting a little will not help."""

    kind = "quota_exceeded"


class ConditionFailed(ProviderError):
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


class Unsupported(ProviderError):
    """The provider does not declare the capability this call needs."""

    kind = "unsupported"
