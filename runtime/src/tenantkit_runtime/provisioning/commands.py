"""``tenantkit tenant create|list|show|suspend|resume``: the runtime's subcommands of
``tenant`` (added through the ``tenantkit.tenant_commands`` entry-point group).

::

    tenantkit tenant create TENANT (--from FILE | --db SECTION --llm SECTION --storage SECTION)
                                   [--plan P] [--admin-email E] [SOURCE] [--json]
    tenantkit tenant delete TENANT [--export-dir DIR] [--yes] [SOURCE] [--quiet] [--json]
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
    from tenantkit.lifecycle.commands import add_source_arguments

    create: argparse.ArgumentParser = sub.add_parser(
        "create",
        help="write a new tenant's secret, register it, set up its schema and first admin",
        description="Validate the secret, write it to the deployment's source, register "
        "the tenant in the control plane, run the database provider's ensure_schema and "
        "invite the first admin (TENANTKIT_USER_POOL_ID, else TENANTKIT_LOCAL_USERS). "
        "Running it again finishes a create that stopped half-way; it never duplicates "
        "and never overwrites another secret. A SECTION is a JSON object "
        '(\'{"provider": "sqlite", "path": "acme.db"}\') or a provider name.',
    )
    create.add_argument("tenant", metavar="TENANT")
    create.add_argument("--from", dest="from_file", metavar="FILE", help="the whole secret")
    for kind in ("db", "llm", "storage"):
        create.add_argument(f"--{kind}", metavar="SECTION", help=f"the {kind} section")
    create.add_argument("--plan", metavar="P", help="the tenant's plan")
    create.add_argument("--admin-email", metavar="E", help="invite this first admin")
    add_source_arguments(create)
    create.add_argument("--json", action="store_true", help="print the result as JSON")
    create.set_defaults(func=_create)

    delete: argparse.ArgumentParser = sub.add_parser(
        "delete",
        help="export a tenant, then remove its users, data, secret and registry entry",
        description="Export TENANT to DIR (default TENANT-deleted-TIMESTAMP), ask for "
        "confirmation (type the tenant id; --yes skips it, for scripts), then remove its "
        "users, every item and object, its secret and its registry entry, and audit "
        "tenant.deleted. Running it again after an interruption finishes the removal.",
    )
    delete.add_argument("tenant", metavar="TENANT")
    delete.add_argument("--export-dir", metavar="DIR", help="where the export goes (new)")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_source_arguments(delete)
    delete.add_argument("--quiet", action="store_true", help="no progress on stderr")
    delete.add_argument("--json", action="store_true", help="progress and result as JSON")
    delete.set_defaults(func=_delete)

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


def _section(kind: str, text: str) -> dict[str, Any]:
    from tenantkit.cli import UsageError
    from tenantkit.config import parse_secret_text

    if not text.lstrip().startswith("{"):
        return {"provider": text}
    try:
        return parse_secret_text(text, source=f"--{kind}")
    except Exception as exc:
        raise UsageError(f"--{kind}: {getattr(exc, 'message', type(exc).__name__)}") from None


def _secret(args: argparse.Namespace) -> dict[str, Any]:
    from tenantkit.cli import UsageError
    from tenantkit.config import parse_secret_text
    from tenantkit.errors import InvalidRequest
    from tenantkit_runtime.provisioning.create import compose_secret

    texts = {k: getattr(args, k) for k in ("db", "llm", "storage")}
    whole: dict[str, Any] | None = None
    if args.from_file:
        if any(texts.values()):
            raise UsageError("--from FILE holds the providers: leave out --db, --llm, --storage")
        try:
            with open(args.from_file, encoding="utf-8") as f:
                whole = parse_secret_text(f.read(), source=args.from_file)
        except OSError as exc:
            raise UsageError(f"--from {args.from_file}: {exc.strerror}") from None
    sections = {k: _section(k, v) if v else None for k, v in texts.items()}
    try:
        return compose_secret(whole, sections, plan=args.plan)
    except InvalidRequest as exc:
        missing = [f"--{k}" for k, v in texts.items() if not v]
        raise UsageError(f"name the providers ({', '.join(missing)}), or --from FILE") from exc


def _create(args: argparse.Namespace) -> int:
    from tenantkit.lifecycle.commands import source_of
    from tenantkit_runtime.provisioning.create import create_tenant
    from tenantkit_runtime.userstore import user_store

    tenant_id = _checked(args.tenant)
    raw = _secret(args)
    users = user_store() if args.admin_email else None
    result = create_tenant(
        source_of(args), _plane(), tenant_id, raw, admin_email=args.admin_email, users=users
    )
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        done = ", ".join(result.done) or "nothing"
        kept = f" (already there: {', '.join(result.kept)})" if result.kept else ""
        print(f"tenant {tenant_id}: created: {done}{kept}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    import sys
    import time

    from tenantkit.cli import UsageError
    from tenantkit.lifecycle.commands import source_of
    from tenantkit.lifecycle.progress import Progress
    from tenantkit_runtime.provisioning.delete import delete_tenant
    from tenantkit_runtime.userstore import user_store

    tenant_id = _checked(args.tenant)
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("deleting a tenant needs confirmation: run it in a terminal or --yes")
        print(
            f"This exports tenant {tenant_id!r}, then removes its users, data, secret and "
            "registry entry.",
            file=sys.stderr,
        )
        answer = input(f"Type {tenant_id} to delete it: ")
        if answer.strip() != tenant_id:
            print("tenantkit: not deleted", file=sys.stderr)
            return 1
    export_dir = args.export_dir or f"{tenant_id}-deleted-{time.strftime('%Y%m%dT%H%M%S')}"
    plane = _plane()
    users = user_store() if plane.users(tenant_id, limit=1)[0] else None
    result = delete_tenant(
        source_of(args),
        plane,
        tenant_id,
        export_dir,
        Progress("export", quiet=args.quiet, as_json=args.json),
        users=users,
    )
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        where = f", exported to {result.export_dir}" if result.export_dir else ""
        print(
            f"tenant {tenant_id}: deleted {result.items} items, {result.objects} objects, "
            f"{result.users} users{where}"
        )
    return 0
