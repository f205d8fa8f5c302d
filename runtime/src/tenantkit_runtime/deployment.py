"""The deployment's shared objects, built on first use and kept while the process is warm.

One :class:`~tenantkit.Resolver` and one :class:`~tenantkit_runtime.controlplane.ControlPlane`
per process: a warm Lambda container reuses the tenants' provider instances (and
their connections) and the control-plane store across invocations.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from tenantkit import Resolver
from tenantkit_runtime import logs
from tenantkit_runtime.settings import Settings

if TYPE_CHECKING:
    from tenantkit_runtime.controlplane import ControlPlane
    from tenantkit_runtime.suspension import TenantStatus
    from tenantkit_runtime.usage import Guard

__all__ = ["control_plane", "reset", "resolver", "settings", "tenant_status", "usage_guard"]

_lock = threading.Lock()
_settings: Settings | None = None
_resolver: Resolver | None = None
_control_plane: ControlPlane | None = None
_guard: Guard | None = None
_status: TenantStatus | None = None


def settings() -> Settings:
    """The deployment settings, read from the environment once."""
    global _settings
    if _settings is None:
        with _lock:
            if _settings is None:
                loaded = Settings.from_env()
                if loaded.signing_key:
                    logs.add_secrets([loaded.signing_key], process=True)
                _settings = loaded
    return _settings


def resolver() -> Resolver:
    """The process's tenant resolver, built by :meth:`tenantkit.Resolver.from_env`."""
    global _resolver
    if _resolver is None:
        current = settings()
        with _lock:
            if _resolver is None:
                key = current.signing_key.encode() if current.signing_key else None
                _resolver = Resolver.from_env(signing_key=key)
    return _resolver


def control_plane() -> ControlPlane:
    """The process's control-plane store."""
    global _control_plane
    if _control_plane is None:
        from tenantkit_runtime.controlplane import ControlPlane

        current = settings()
        with _lock:
            if _control_plane is None:
                key = current.signing_key.encode() if current.signing_key else None
                _control_plane = ControlPlane.from_section(current.control_plane, signing_key=key)
    return _control_plane


def usage_guard() -> Guard | None:
    """The process's limits and meter over the control plane; ``None`` without one."""
    global _guard
    current = settings()
    if current.control_plane is None:
        return None
    if _guard is None:
        from tenantkit_runtime.usage import Guard

        plane = control_plane()
        with _lock:
            if _guard is None:
                _guard = Guard(plane.meter, fail_open=current.limits_fail_open)
    return _guard


def tenant_status() -> TenantStatus | None:
    """The process's cached view of suspended tenants; ``None`` without a control plane."""
    global _status
    if settings().control_plane is None:
        return None
    if _status is None:
        from tenantkit_runtime.suspension import TenantStatus

        plane = control_plane()
        with _lock:
            if _status is None:
                _status = TenantStatus(plane)
    return _status


def reset() -> None:
    """Forget every shared object (closing them); the next use reads the environment again."""
    global _settings, _resolver, _control_plane, _guard, _status
    with _lock:
        resolver_, plane = _resolver, _control_plane
        _settings = _resolver = _control_plane = _guard = _status = None
    if resolver_ is not None:
        resolver_.close()
    if plane is not None:
        plane.close()
