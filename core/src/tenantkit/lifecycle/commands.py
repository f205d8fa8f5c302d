"""``tenantkit tenant``: export, import, copy and roll back a tenant's data.

::

    tenantkit tenant export TENANT DIR    [SOURCE] [--quiet] [--json]
    tenantkit tenant import TENANT DIR    [SOURCE] [--quiet] [--json]
    tenantkit tenant copy TENANT --to FILE [--checkpoint FILE] [--rounds N] [--no-cut-over]
                                           [SOURCE] [--quiet] [--json]
    tenantkit tenant rollback TENANT      [SOURCE] [--json]

Other distributions add subcommands through the ``tenantkit.tenant_commands``
entry-point group (the runtime: ``create``, ``list``, ``show``, ``suspend``,
``resume``, ``delete``).

SOURCE is where tenant secrets live: ``--config-dir DIR``, or ``--secrets-prefix
PREFIX [--endpoint-url URL] [--region R]``; without either, the environment decides
as for the runtime (``TENANTKIT_CONFIG_DIR``, ``TENANTKIT_SECRETS_PREFIX``...).
Progress goes to stderr (``--quiet``: none; ``--json``: JSON lines); the result goes
to stdout (``--json``: one JSON object).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
from pathlib import Path
from typing import Any

from tenantkit.errors import InvalidRequest
from tenantkit.lifecycle.archive import Summary, export_tenant, import_tenant
from tenantkit.lifecycle.progress import Progress
from tenantkit.resolver import Resolver
from tenantkit.sources import ConfigDocument, DirectorySource, SecretsManagerSource

__all__ = [
    "add_common_arguments",
    "add_source_arguments",
    "operator_resolver",
    "progress_for",
    "register",
    "source_of",
]

SecretSource = DirectorySource | SecretsManagerSource


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tenant`` and its subcommands (the ``tenantkit.commands`` entry point)."""
    tenant = commands.add_parser(
        "tenant",
        help="create, export, import, copy, roll back, suspend or delete tenants",
        description="Operator commands on one tenant's data.",
    )
    sub = tenant.add_subparsers(title="commands", metavar="COMMAND", required=True)

    export = sub.add_parser(
        "export",
        help="write every item and object of a tenant to a directory",
        description="Write the tenant's items (JSON lines), objects (files) and a manifest "
        "with counts and SHA-256 checksums to DIR (new or empty).",
    )
    export.add_argument("tenant", metavar="TENANT")
    export.add_argument("directory", metavar="DIR")
    add_common_arguments(export)
    export.set_defaults(func=_export)

    imp = sub.add_parser(
        "import",
        help="write an export into a tenant and verify it",
        description="Check every checksum of the export in DIR, write its items and "
        "objects into TENANT (replacing items at the same keys), then compare the "
        "tenant's counts and digests with the manifest.",
    )
    imp.add_argument("tenant", metavar="TENANT")
    imp.add_argument("directory", metavar="DIR")
    add_common_arguments(imp)
    imp.set_defaults(func=_import)

    copy = sub.add_parser(
        "copy",
        help="copy a tenant to the providers of a new secret, verify, cut over",
        description="Copy TENANT's items and objects to the providers named by the "
        "secret in FILE, resumably (--checkpoint), catch up with writes made meanwhile, "
        "verify counts and digests, then write FILE as the tenant's secret (the "
        "previous one is kept for `tenant rollback`).",
    )
    copy.add_argument("tenant", metavar="TENANT")
    copy.add_argument("--to", required=True, metavar="FILE", help="the new tenant secret")
    copy.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="where progress is kept for a resumed copy (default: FILE.checkpoint)",
    )
    copy.add_argument("--rounds", type=int, default=3, help="catch-up rounds at most")
    copy.add_argument(
        "--no-cut-over", action="store_true", help="copy and verify, keep the old secret"
    )
    add_common_arguments(copy)
    copy.set_defaults(func=_copy)

    back = sub.add_parser(
        "rollback",
        help="put a tenant's previous secret back",
        description="Restore the secret a cut-over replaced (AWSPREVIOUS in Secrets "
        "Manager, TENANT.json.previous in a config directory).",
    )
    back.add_argument("tenant", metavar="TENANT")
    add_source_arguments(back)
    back.add_argument("--json", action="store_true", help="print the result as JSON")
    back.set_defaults(func=_rollback)
    _add_extensions(sub)


#: The entry-point group through which other distributions add ``tenant`` subcommands.
TENANT_COMMANDS_GROUP = "tenantkit.tenant_commands"


def _add_extensions(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Let other distributions add subcommands to ``tenant``.

    Each entry point of :data:`TENANT_COMMANDS_GROUP` names a function that receives
    ``tenant``'s subparsers (as a ``tenantkit.commands`` function receives the top
    level's). The runtime adds ``create``, ``list``, ``show``, ``suspend``, ``resume``
    and ``delete`` this way, since they need its control plane. One that fails to load
    is left out with a warning; the others still work.
    """
    import sys
    from importlib import metadata

    for entry in sorted(metadata.entry_points(group=TENANT_COMMANDS_GROUP), key=lambda e: e.name):
        try:
            entry.load()(sub)
        except Exception as exc:
            print(
                f"tenantkit: warning: tenant commands {entry.name!r} failed to load: "
                f"{type(exc).__name__}",
                file=sys.stderr,
            )


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the SOURCE options (read back by :func:`source_of`)."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--config-dir", metavar="DIR", help="tenant secrets in this directory")
    where.add_argument(
        "--secrets-prefix", metavar="PREFIX", help="tenant secrets in AWS Secrets Manager"
    )
    parser.add_argument("--endpoint-url", metavar="URL", help="Secrets Manager endpoint")
    parser.add_argument("--region", metavar="REGION", help="Secrets Manager region")


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Add SOURCE, ``--quiet`` and ``--json`` (every long command has them)."""
    add_source_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--json", action="store_true", help="progress and result as JSON (lines)")


def source_of(args: argparse.Namespace) -> SecretSource:
    """The secret source the options (or the environment) name."""
    if args.config_dir:
        return DirectorySource(args.config_dir)
    if args.secrets_prefix:
        return SecretsManagerSource(
            args.secrets_prefix, endpoint_url=args.endpoint_url, region=args.region
        )
    if directory := os.environ.get("TENANTKIT_CONFIG_DIR"):
        return DirectorySource(directory)
    return SecretsManagerSource(
        os.environ.get("TENANTKIT_SECRETS_PREFIX") or "tenantkit",
        endpoint_url=args.endpoint_url or os.environ.get("TENANTKIT_SECRETS_ENDPOINT_URL"),
        region=args.region,
    )


def operator_resolver(source: Any, signing_key: bytes | None = None) -> Resolver:
    """A resolver for the operator's commands on ``source``'s tenants."""
    # Cursors never leave the process (or its checkpoint), so a key of its own will do.
    return Resolver(source, signing_key=signing_key or secrets.token_bytes(32), max_tenants=4)


def progress_for(args: argparse.Namespace, what: str) -> Progress:
    """The progress report ``--quiet`` and ``--json`` ask for."""
    return Progress(what, quiet=args.quiet, as_json=args.json)


def _print(args: argparse.Namespace, summary: Summary, what: str, extra: str = "") -> None:
    if args.json:
        print(json.dumps({"command": what, **summary.to_dict()}))
        return
    items, objects = summary.items, summary.objects
    verified = "verified" if summary.verified else "not verified"
    print(
        f"tenant {summary.tenant_id}: {what}: {items.count} items, {objects.count} objects "
        f"({objects.bytes} bytes) in {summary.seconds:.1f} s, {verified}{extra}"
    )


def _export(args: argparse.Namespace) -> int:
    resolver = operator_resolver(source_of(args))
    try:
        tenant = resolver.resolve(args.tenant)
        summary = export_tenant(tenant, args.directory, progress_for(args, "export"))
    finally:
        resolver.close()
    _print(args, summary, "export", f" -> {args.directory}")
    return 0


def _import(args: argparse.Namespace) -> int:
    resolver = operator_resolver(source_of(args))
    try:
        tenant = resolver.resolve(args.tenant)
        summary = import_tenant(tenant, args.directory, progress_for(args, "import"))
    finally:
        resolver.close()
    _print(args, summary, "import")
    return 0


class _TargetSource:
    """The target secret of a copy, merged over the deployment's defaults."""

    def __init__(self, tenant_id: str, raw: dict[str, Any], defaults: dict[str, Any]) -> None:
        from tenantkit.config import deep_merge

        self._doc = ConfigDocument(
            tenant_id=tenant_id, raw=deep_merge(defaults, raw), version="target", source="--to"
        )

    def fetch(self, tenant_id: str, *, stage: str = "AWSCURRENT") -> ConfigDocument:
        return self._doc

    def describe(self) -> str:
        return "the copy's target secret"


def _read_target(path: str, tenant_id: str) -> dict[str, Any]:
    from tenantkit.config import parse_secret_text

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidRequest(f"--to {path}: {exc.strerror}") from None
    raw = parse_secret_text(text, source=path)
    if raw.get("tenant_id", tenant_id) != tenant_id:
        raise InvalidRequest(f"--to {path}: declares another tenant_id")
    return raw


def _copy(args: argparse.Namespace) -> int:
    from tenantkit.lifecycle.copy import Checkpoint, copy_tenant, cut_over, target_id

    source = source_of(args)
    raw = _read_target(args.to, args.tenant)
    checkpoint = Checkpoint.open(
        args.checkpoint or f"{args.to}.checkpoint", args.tenant, target_id(raw)
    )
    target_source = _TargetSource(args.tenant, raw, source.read_defaults())
    old = operator_resolver(source, checkpoint.signing_key)
    new = operator_resolver(target_source, checkpoint.signing_key)
    try:
        src, dst = old.resolve(args.tenant), new.resolve(args.tenant)
        dst.provider_instance("db").ensure_schema(dst.schema)
        summary = copy_tenant(src, dst, checkpoint, progress_for(args, "copy"), rounds=args.rounds)
    finally:
        old.close()
        new.close()
    extra = ""
    if not args.no_cut_over:
        cut_over(source, args.tenant, raw)
        extra = ", cut over to the new secret"
    _print(args, summary, "copy", extra)
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from tenantkit.lifecycle.copy import rollback

    version = rollback(source_of(args), args.tenant)
    if args.json:
        print(json.dumps({"command": "rollback", "tenant_id": args.tenant, "version": version}))
    else:
        print(f"tenant {args.tenant}: previous secret restored")
    return 0
