"""``tenantkit migrate``: bring a legacy application's data into a tenant.

::

    tenantkit migrate tinydb DB.json --tenant ID [--mapping FILE] [--resume]
                                     [--checkpoint FILE] [--report FILE]
                                     [SOURCE] [--quiet] [--json]
    tenantkit migrate uploads DIR --tenant ID [--prefix P] [--resume]
                                  [--checkpoint FILE] [--report FILE]
                                  [SOURCE] [--quiet] [--json]

The tenant's providers come from its secret (SOURCE as for ``tenantkit tenant``).
Progress goes to stderr; the summary to stdout (``--json``: one JSON object). The exit
status is 0 when everything was migrated and verified, 1 when anything was rejected
(listed in the report file) or the verification found a difference.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tenantkit.lifecycle.commands import (
    add_common_arguments,
    operator_resolver,
    progress_for,
    source_of,
)
from tenantkit.lifecycle.migration import MigrationSummary

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``migrate`` and its subcommands (the ``tenantkit.commands`` entry point)."""
    migrate = commands.add_parser(
        "migrate",
        help="import a legacy TinyDB database or uploads directory into a tenant",
        description="Bring a legacy application's data into a tenant's providers.",
    )
    sub = migrate.add_subparsers(title="commands", metavar="COMMAND", required=True)

    tinydb = sub.add_parser(
        "tinydb",
        help="import a TinyDB database file into the tenant's database",
        description="Import every table of the TinyDB file DB into a collection of the "
        "tenant's database: keys from the document id, or as the mapping file says. "
        "Resumable; documents that do not fit are listed in the report file.",
    )
    tinydb.add_argument("database", metavar="DB", help="the TinyDB JSON file")
    tinydb.add_argument(
        "--mapping", metavar="FILE", help="JSON mapping of tables to collections and keys"
    )
    _migration_arguments(tinydb)
    tinydb.set_defaults(func=_tinydb)

    uploads = sub.add_parser(
        "uploads",
        help="copy a directory of uploaded files into the tenant's storage",
        description="Copy every file under DIR to the tenant's storage at PREFIX + its "
        "relative path; files already there with the same size and SHA-256 are not sent "
        "again. Resumable; files that cannot be copied are listed in the report file.",
    )
    uploads.add_argument("directory", metavar="DIR")
    uploads.add_argument("--prefix", default="", metavar="P", help="key prefix (a folder)")
    _migration_arguments(uploads)
    uploads.set_defaults(func=_uploads)


def _migration_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", required=True, metavar="ID", help="the tenant to fill")
    parser.add_argument(
        "--resume", action="store_true", help="continue after the last finished page"
    )
    parser.add_argument(
        "--checkpoint", metavar="FILE", help="the checkpoint (default: INPUT.ID.checkpoint)"
    )
    parser.add_argument(
        "--report", metavar="FILE", help="rejected items, JSON lines (default: INPUT.ID.rejected)"
    )
    add_common_arguments(parser)


def _beside(path: str, tenant: str, suffix: str) -> Path:
    where = Path(path.rstrip("/"))
    return where.with_name(f"{where.name}.{tenant}.{suffix}")


def _tinydb(args: argparse.Namespace) -> int:
    from tenantkit.lifecycle.mapping import load_mapping
    from tenantkit.lifecycle.tinydb_import import import_tinydb

    mapping = load_mapping(args.mapping)
    resolver = operator_resolver(source_of(args))
    try:
        summary = import_tinydb(
            resolver.resolve(args.tenant),
            args.database,
            mapping,
            checkpoint=args.checkpoint or _beside(args.database, args.tenant, "checkpoint"),
            report=args.report or _beside(args.database, args.tenant, "rejected"),
            progress=progress_for(args, "migrate tinydb"),
            resume=args.resume,
        )
    finally:
        resolver.close()
    return _print(args, summary, "documents", "items")


def _uploads(args: argparse.Namespace) -> int:
    from tenantkit.lifecycle.uploads import import_uploads

    resolver = operator_resolver(source_of(args))
    try:
        summary = import_uploads(
            resolver.resolve(args.tenant),
            args.directory,
            prefix=args.prefix,
            checkpoint=args.checkpoint or _beside(args.directory, args.tenant, "checkpoint"),
            report=args.report or _beside(args.directory, args.tenant, "rejected"),
            progress=progress_for(args, "migrate uploads"),
            resume=args.resume,
        )
    finally:
        resolver.close()
    return _print(args, summary, "files", "objects")


def _print(args: argparse.Namespace, summary: MigrationSummary, inputs: str, what: str) -> int:
    if args.json:
        print(json.dumps(summary.to_dict(), ensure_ascii=False))
    else:
        verified = (
            "verified" if summary.verified else "NOT verified: " + "; ".join(summary.problems)
        )
        rejected = (
            f", {summary.rejected} {inputs} rejected (see {summary.report})"
            if summary.rejected
            else ""
        )
        resumed = " (resumed)" if summary.resumed else ""
        print(
            f"tenant {summary.tenant_id}: migrate {summary.kind}{resumed}: "
            f"{summary.written.count} {what} in {summary.seconds:.1f} s{rejected}, {verified}"
        )
    return 0 if summary.ok else 1
