"""``tenantkit tenant delete``: export, then remove a tenant's users, data, secret and
registry entry, leaving an audit record.

The steps, in this order so that a run that stops half-way can be run again:

1. export the tenant (:func:`tenantkit.lifecycle.archive.export_tenant`) to a new
   directory: nothing is removed before a verified copy exists;
2. mark the tenant ``suspended`` in the registry (its requests are refused from now on,
   within the status cache's TTL);
3. remove its users from the user pool and the control plane;
4. delete every item of its database namespace and every object under its storage
   prefix (pages read from the start again after each deletion, so nothing is skipped);
5. delete its secret (Secrets Manager keeps it recoverable for 7 days; a config
   directory loses the file and its ``.previous``);
6. remove its registry entry and audit ``tenant.deleted`` with the export's counts and
   digests. The audit log stays in the control plane.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantkit.errors import TenantNotFound
from tenantkit.identifiers import check_tenant_id
from tenantkit.lifecycle.archive import Summary, export_tenant
from tenantkit.lifecycle.progress import Progress
from tenantkit.plugins import Plugins
from tenantkit.resolver import Resolver
from tenantkit.sources import DirectorySource, SecretsManagerSource
from tenantkit_runtime.controlplane import ControlPlane
from tenantkit_runtime.suspension import SUSPENDED
from tenantkit_runtime.userstore import UserStore

__all__ = ["Deleted", "delete_tenant"]

_ACTOR = "operator"
_PAGE = 200


@dataclass
class Deleted:
    """What a delete removed, and where the export went."""

    tenant_id: str
    export: Summary | None
    export_dir: str | None
    users: int
    items: int
    objects: int
    secret: bool
    registered: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "export_dir": self.export_dir,
            "exported": self.export.to_dict() if self.export else None,
            "users": self.users,
            "items": self.items,
            "objects": self.objects,
            "secret": self.secret,
            "registered": self.registered,
        }


def delete_tenant(
    source: DirectorySource | SecretsManagerSource,
    plane: ControlPlane,
    tenant_id: str,
    export_dir: str | Path,
    progress: Progress,
    *,
    users: UserStore | None = None,
    plugins: Plugins | None = None,
    actor: str = _ACTOR,
    exported: Callable[[Path, Summary], object] | None = None,
) -> Deleted:
    """Export ``tenant_id`` to ``export_dir``, then remove it (see the module doc).

    ``exported`` is called with the export's directory and summary before anything is
    removed (it copies the export elsewhere; if it raises, nothing is removed).
    ``actor`` names the operator in the audit log. A tenant whose secret is gone
    already (an earlier run stopped after step 5) is not exported again; its
    remaining users and registry entry are removed.
    """
    check_tenant_id(tenant_id)
    resolver = Resolver(source, plugins=plugins, signing_key=secrets.token_bytes(32))
    try:
        tenant = None if _secret_gone(source, tenant_id) else resolver.resolve(tenant_id)
        summary = export_tenant(tenant, export_dir, progress) if tenant is not None else None
        if summary is not None and exported is not None:
            exported(Path(export_dir), summary)
        record = plane.tenant(tenant_id)
        if record is not None and record.status != SUSPENDED:
            plane.register_tenant(tenant_id, display_name=record.display_name, status=SUSPENDED)
        removed_users = _remove_users(plane, tenant_id, users)
        items = objects = 0
        if tenant is not None:
            items, objects = _remove_data(tenant)
    finally:
        resolver.close()
    secret = tenant is not None and source.delete(tenant_id)
    registered = plane.remove_tenant(tenant_id)
    details: dict[str, Any] = {
        "export_dir": str(export_dir) if summary else None,
        "users": removed_users,
        "items": items,
        "objects": objects,
    }
    if summary is not None:
        details["exported"] = {
            "items": summary.items.count,
            "objects": summary.objects.count,
            "items_digest": summary.items.hexdigest,
            "objects_digest": summary.objects.hexdigest,
        }
    plane.audit(tenant_id, actor=actor, action="tenant.deleted", details=details)
    return Deleted(
        tenant_id=tenant_id,
        export=summary,
        export_dir=str(export_dir) if summary else None,
        users=removed_users,
        items=items,
        objects=objects,
        secret=secret,
        registered=registered,
    )


def _secret_gone(source: DirectorySource | SecretsManagerSource, tenant_id: str) -> bool:
    if isinstance(source, SecretsManagerSource) and source.scheduled_for_deletion(tenant_id):
        return True
    try:
        source.read(tenant_id)
    except TenantNotFound:
        return True
    return False


def _remove_users(plane: ControlPlane, tenant_id: str, users: UserStore | None) -> int:
    removed = 0
    while True:
        page, _ = plane.users(tenant_id, limit=_PAGE)
        if not page:
            return removed
        for record in page:
            if users is not None:
                pooled = users.get(record.user_id)
                if pooled is not None and pooled.tenant_id == tenant_id:
                    users.delete(record.user_id)
            plane.remove_user(tenant_id, record.user_id)
            removed += 1


def _remove_data(tenant: Any) -> tuple[int, int]:
    items = objects = 0
    while True:
        page = tenant.db.scan(limit=_PAGE)
        if not page.entries:
            break
        for collection, item in page.entries:
            tenant.db.delete(collection, item.pk, item.sk)
            items += 1
    while True:
        listing = tenant.storage.list("")
        if not listing.objects:
            break
        for info in listing.objects:
            tenant.storage.delete(info.key)
            objects += 1
    return items, objects
