"""What a route receives: the request, who sent it, and that tenant's providers.

``request.db``, ``request.llm`` and ``request.storage`` are the tenant's scoped
providers, resolved on first use. When a provider rejects the tenant's credentials
(:class:`~tenantkit.errors.AuthenticationError` raised by the provider), the tenant's
configuration is read again once and, if it changed (the key was rotated), the call
is made again once on the new configuration. The caller never notices a rotation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from tenantkit import Resolver, Tenant, TenantConfig, TenantDatabase, TenantLLM, TenantStorage
from tenantkit.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequest,
    TenantkitError,
)
from tenantkit.registry import Kind
from tenantkit_runtime import deployment, logs, metrics
from tenantkit_runtime.auth.errors import AccessDenied, TokenRejected
from tenantkit_runtime.auth.identity import Identity
from tenantkit_runtime.events import Incoming
from tenantkit_runtime.http_errors import TenantUnavailable
from tenantkit_runtime.llm_metrics import MeasuredLLM
from tenantkit_runtime.usage import MeteredLLM, MeteredStorage, RequestUsage, require_feature

if TYPE_CHECKING:
    from tenantkit_runtime.controlplane import ControlPlane

__all__ = ["Request"]

B = TypeVar("B")


class Request(Generic[B]):
    """One request to a route. ``body`` is the validated body model (``None`` without one)."""

    def __init__(
        self,
        incoming: Incoming,
        *,
        body: B,
        path_params: Mapping[str, str] | None = None,
        event: Mapping[str, Any] | None = None,
        lambda_context: Any = None,
        resolver: Callable[[], Resolver] = deployment.resolver,
        usage: RequestUsage | None = None,
    ) -> None:
        self._incoming = incoming
        self.usage = usage
        """This request's meter (``None`` outside a tenant's request)."""
        self.body = body
        self.path_params = dict(path_params or {})
        self.event = event or {}
        self.lambda_context = lambda_context
        self._resolver = resolver
        self._tenant: Tenant | None = None
        self._refreshed = False

    # --- the request ---------------------------------------------------------------------

    @property
    def incoming(self) -> Incoming:
        return self._incoming

    @property
    def method(self) -> str:
        return self._incoming.method

    @property
    def path(self) -> str:
        return self._incoming.path

    @property
    def headers(self) -> dict[str, str]:
        """Request headers, names in lowercase."""
        return self._incoming.headers

    @property
    def query(self) -> dict[str, str]:
        return self._incoming.query

    @property
    def raw_body(self) -> bytes:
        return self._incoming.body

    @property
    def request_id(self) -> str:
        return self._incoming.request_id

    def query_int(self, name: str, default: int, *, minimum: int = 1, maximum: int = 1000) -> int:
        """An integer query parameter within bounds; a clear 400 otherwise."""
        text = self.query.get(name)
        if text is None or text == "":
            return default
        try:
            value = int(text)
        except ValueError:
            raise InvalidRequest(f"query parameter {name!r} must be an integer") from None
        if not minimum <= value <= maximum:
            raise InvalidRequest(f"query parameter {name!r} must be from {minimum} to {maximum}")
        return value

    # --- who is calling ------------------------------------------------------------------

    @property
    def source_ip(self) -> str | None:
        """The client's address as API Gateway saw it (``sourceIp`` of the event)."""
        value = _event_identity(self.event).get("sourceIp")
        return value if isinstance(value, str) and value else None

    @property
    def user_agent(self) -> str | None:
        """The client's ``User-Agent`` as API Gateway saw it."""
        value = _event_identity(self.event).get("userAgent") or self.headers.get("user-agent")
        return value if isinstance(value, str) and value else None

    def audit(self, action: str, details: Mapping[str, Any] | None = None) -> None:
        """Record ``action`` in the tenant's audit log: the caller, where from, what."""
        self.control_plane.audit(
            self.tenant_id,
            actor=self.user_id,
            action=action,
            details=details,
            source_ip=self.source_ip,
            user_agent=self.user_agent,
        )

    def limit_refused(self, limit: str) -> None:
        """A limit (``requests_per_minute``...) refused this request: the
        ``LimitRefused`` metric, and the minute's refusal burst in the audit log."""
        metrics.limit_refused(self.tenant_id, limit)
        self.control_plane.audit_limit_refusal(
            self.tenant_id,
            limit,
            actor=self.user_id,
            source_ip=self.source_ip,
            user_agent=self.user_agent,
        )

    @property
    def identity(self) -> Identity:
        """The caller as the authorizer vouched for it."""
        identity = self._incoming.identity
        if identity is None:
            raise TokenRejected("the request carries no authorizer context", reason="missing")
        return identity

    @property
    def tenant_id(self) -> str:
        """The caller's tenant; 403 for the platform operator, who has none."""
        tenant_id = self.identity.tenant_id
        if tenant_id is None:
            raise AccessDenied("the operator belongs to no tenant: this is a tenant's route")
        return tenant_id

    @property
    def user_id(self) -> str:
        return self.identity.user_id

    @property
    def roles(self) -> frozenset[str]:
        identity = self._incoming.identity
        return frozenset(identity.roles) if identity is not None else frozenset()

    def has_role(self, *roles: str) -> bool:
        """Whether the caller has at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)

    def require_role(self, *roles: str) -> None:
        """Refuse the request (403) unless the caller has one of ``roles``."""
        if not self.has_role(*roles):
            raise AccessDenied(f"this needs the role {' or '.join(repr(r) for r in roles)}")

    # --- the tenant ----------------------------------------------------------------------

    @property
    def tenant(self) -> Tenant:
        """The caller's tenant, resolved on first use (cached while warm)."""
        if self._tenant is None:
            self._tenant = self._resolve()
        return self._tenant

    @property
    def config(self) -> TenantConfig:
        return self.tenant.config

    @property
    def db(self) -> TenantDatabase:
        return cast(TenantDatabase, _AuthRetrying(self, "db"))

    @property
    def llm(self) -> TenantLLM:
        """The tenant's LLM: every call measured (:mod:`tenantkit_runtime.llm_metrics`)
        and kept within the tenant's daily token budget (:mod:`tenantkit_runtime.usage`)."""
        llm = MeasuredLLM(cast(TenantLLM, _AuthRetrying(self, "llm")))
        if self.usage is None:
            return cast(TenantLLM, llm)
        return cast(TenantLLM, MeteredLLM(llm, config=lambda: self.config, usage=self.usage))

    def require_feature(self, feature: str) -> None:
        """Refuse the request (403 naming ``feature``) unless the tenant's plan has it."""
        require_feature(self.config, feature)

    @property
    def storage(self) -> TenantStorage:
        """The tenant's storage, held to its storage quota (:mod:`tenantkit_runtime.usage`):
        what ``put`` and ``copy`` add is charged first, ``delete`` gives it back."""
        storage = self.unmetered_storage
        if self.usage is None:
            return storage
        return cast(
            TenantStorage, MeteredStorage(storage, config=lambda: self.config, usage=self.usage)
        )

    @property
    def unmetered_storage(self) -> TenantStorage:
        """The tenant's storage without the quota ledger, for code that keeps the ledger
        itself (the files function's presigned uploads)."""
        return cast(TenantStorage, _AuthRetrying(self, "storage"))

    @property
    def control_plane(self) -> ControlPlane:
        return deployment.control_plane()

    @property
    def secrets(self) -> tuple[str, ...]:
        """The resolved tenant's credentials (to mask them), empty before resolution."""
        return tuple(self._tenant.config.secret_values()) if self._tenant is not None else ()

    def _resolve(self) -> Tenant:
        tenant = self._resolver().resolve(self.tenant_id)
        logs.add_secrets(tenant.config.secret_values())
        return tenant

    def _provider(self, kind: Kind) -> Any:
        tenant = self.tenant
        try:
            return getattr(tenant, kind)
        except (ConfigurationError, AuthenticationError):
            raise
        except TenantkitError as exc:  # the provider could not be set up
            raise TenantUnavailable(
                f"the tenant's {kind} provider could not be set up ({exc.kind})",
                provider=exc.provider,
            ) from exc

    def _refresh_after_auth_error(self) -> bool:
        """Re-read the tenant's configuration once per request; True if it changed."""
        if self._refreshed:
            return False
        self._refreshed = True
        if not self._resolver().refresh_after_auth_error(self.tenant_id):
            return False
        self._tenant = self._resolve()
        return True


def _event_identity(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """``requestContext.http`` (HTTP API 2.0) or ``requestContext.identity`` (REST API,
    WebSocket): where API Gateway puts the client's address and user agent."""
    context = event.get("requestContext")
    if not isinstance(context, Mapping):
        return {}
    for name in ("http", "identity"):
        section = context.get(name)
        if isinstance(section, Mapping) and "sourceIp" in section:
            return section
    return {}


class _AuthRetrying:
    """A tenant provider whose calls are retried once after a credential rotation."""

    __slots__ = ("_kind", "_request")

    def __init__(self, request: Request[Any], kind: Kind) -> None:
        self._request = request
        self._kind = kind

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._request._provider(self._kind), name)
        if not callable(value):
            return value

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return value(*args, **kwargs)
            except AuthenticationError as exc:
                if exc.provider is None or not self._request._refresh_after_auth_error():
                    raise
            return getattr(self._request._provider(self._kind), name)(*args, **kwargs)

        return call

    def __repr__(self) -> str:
        return f"<{self._kind} of tenant {self._request.tenant_id!r}>"
