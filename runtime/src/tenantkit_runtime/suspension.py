"""Suspended tenants: refused at the authorizer and in the functions, their data kept.

The control plane's tenant registry holds each tenant's ``status`` (``tenantkit
tenant suspend ID`` / ``resume ID`` write it). Every request of a tenant asks
:meth:`TenantStatus.check`, which reads the registry at most once per tenant every
:data:`STATUS_TTL` seconds per process (a warm Lambda container keeps the answers),
so neither the authorizer nor a function adds a database round trip per request.
The price: a suspension (or a resume) reaches every warm container within
``STATUS_TTL`` seconds, not at once.

A tenant the registry does not list is served as before (tenants exist by their
secret; the registry is the operator's list of them). A registry that cannot be read
fails the request (the error propagates), as the limits' meter would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cachetools import TTLCache

from tenantkit.errors import Forbidden
from tenantkit_runtime.controlplane import ControlPlane

__all__ = ["STATUS_TTL", "SUSPENDED", "TenantStatus", "TenantSuspended"]

#: Seconds a tenant's status is kept per process before the registry is read again.
STATUS_TTL = 30.0
#: The registry status of a suspended tenant.
SUSPENDED = "suspended"


class TenantSuspended(Forbidden):
    """The tenant is suspended by the operator: its requests are refused (HTTP 403)."""

    kind = "tenant_suspended"

    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"tenant {tenant_id!r} is suspended")
        self.tenant_id = tenant_id


class TenantStatus:
    """Whether a tenant may be served, from the registry, cached for ``ttl`` seconds."""

    def __init__(
        self,
        control_plane: ControlPlane,
        *,
        ttl: float = STATUS_TTL,
        maxsize: int = 4096,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._plane = control_plane
        self._cache: TTLCache[str, bool] = TTLCache(maxsize=maxsize, ttl=ttl, timer=timer)
        self._lock = threading.Lock()

    def suspended(self, tenant_id: str) -> bool:
        """Whether the registry marks ``tenant_id`` suspended (cached)."""
        with self._lock:
            known = self._cache.get(tenant_id)
        if known is not None:
            return known
        record = self._plane.tenant(tenant_id)
        answer = record is not None and record.status == SUSPENDED
        with self._lock:
            self._cache[tenant_id] = answer
        return answer

    def check(self, tenant_id: str) -> None:
        """Raise :class:`TenantSuspended` if the tenant is suspended."""
        if self.suspended(tenant_id):
            raise TenantSuspended(tenant_id)

    def forget(self, tenant_id: str | None = None) -> None:
        """Drop the cached status of one tenant (or of all): the next check reads it."""
        with self._lock:
            if tenant_id is None:
                self._cache.clear()
            else:
                self._cache.pop(tenant_id, None)
