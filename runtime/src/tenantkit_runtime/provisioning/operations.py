"""What ``tenantkit tenant suspend|resume`` do, on a control plane, audited as the operator."""

from __future__ import annotations

from tenantkit.errors import NotFound
from tenantkit_runtime.controlplane import ControlPlane, TenantRecord
from tenantkit_runtime.suspension import SUSPENDED

__all__ = ["ACTIVE", "resume", "suspend"]

ACTIVE = "active"
_ACTOR = "operator"


def suspend(plane: ControlPlane, tenant_id: str, *, actor: str = _ACTOR) -> TenantRecord:
    """Mark the tenant suspended: its requests are refused, its data kept. ``actor``
    names the operator in the tenant's audit log."""
    return _set_status(plane, tenant_id, SUSPENDED, "tenant.suspended", actor)


def resume(plane: ControlPlane, tenant_id: str, *, actor: str = _ACTOR) -> TenantRecord:
    """Serve a suspended tenant again."""
    return _set_status(plane, tenant_id, ACTIVE, "tenant.resumed", actor)


def _set_status(
    plane: ControlPlane, tenant_id: str, status: str, action: str, actor: str
) -> TenantRecord:
    record = plane.tenant(tenant_id)
    if record is None:
        raise NotFound(
            f"tenant {tenant_id!r} is not in the control plane's registry "
            "(`tenantkit tenant create` registers it)"
        )
    if record.status == status:
        return record
    updated = plane.register_tenant(tenant_id, display_name=record.display_name, status=status)
    plane.audit(tenant_id, actor=actor, action=action, details={"previous": record.status})
    return updated
