"""``tenantkit tenant list|show|suspend|resume``: the runtime's subcommands of ``tenant``
(added through the ``tenantkit.tenant_commands`` entry-point group).

::

    tenantkit tenant list [--json]
    tenantkit tenant show TENANT
    tenantkit tenant suspend TENANT
    tenantkit tenant resume TENANT

They work on the deployment's control plane (``TENANTKIT_CONTROL_PLANE``). A
suspension reaches warm containers within :data:`tenantkit_runtime.suspension.STATUS_TTL`
seconds.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the subcommands to ``tenant``'s subparsers."""
    listing: argparse.ArgumentParser = sub.add_parser(
        "list", help="the tenants in the control plane's registry"
    )
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    listing.set_defaults(func=_list)

    show: argparse.ArgumentParser = sub.add_parser("show", help="one tenant's registry entry")
    show.add_argument("tenant", metavar="TENANT")
    show.set_defaults(func=_show)

    for name, text in (
        ("suspend", "refuse a tenant's requests (403 tenant_suspended), keeping its data"),
        ("resume", "serve a suspended tenant again"),
    ):
        one: argparse.ArgumentParser = sub.add_parser(name, help=text, description=text + ".")
        one.add_argument("tenant", metavar="TENANT")
        one.set_defaults(func=_status, action=name)


def _plane() -> Any:
    from tenantkit_runtime import deployment

    return deployment.control_plane()


def _checked(tenant_id: str) -> str:
    from tenantkit.cli import UsageError
    from tenantkit.identifiers import is_tenant_id

    if not is_tenant_id(tenant_id):
        raise UsageError(f"TENANT is not a tenant id: {tenant_id[:64]!r}")
    return tenant_id


def _list(args: argparse.Namespace) -> int:
    plane = _plane()
    cursor: str | None = None
    while True:
        page, cursor = plane.tenants(cursor=cursor)
        for record in page:
            if args.json:
                print(json.dumps(record.model_dump()))
            else:
                print(f"{record.tenant_id}\t{record.status}\t{record.created_at}")
        if cursor is None:
            return 0


def _show(args: argparse.Namespace) -> int:
    from tenantkit.errors import NotFound

    tenant_id = _checked(args.tenant)
    record = _plane().tenant(tenant_id)
    if record is None:
        raise NotFound(f"tenant {tenant_id!r} is not in the control plane's registry")
    print(json.dumps(record.model_dump()))
    return 0


def _status(args: argparse.Namespace) -> int:
    from tenantkit_runtime.provisioning.operations import resume, suspend

    change = suspend if args.action == "suspend" else resume
    record = change(_plane(), _checked(args.tenant))
    print(json.dumps(record.model_dump()))
    return 0
