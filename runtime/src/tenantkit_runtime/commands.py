"""The runtime's ``tenantkit`` commands, added through the ``tenantkit.commands``
entry-point group: each ``register_*`` function receives argparse's subparsers, adds
one command and sets its handler (``run(args) -> int``) with ``set_defaults(func=...)``.

::

    tenantkit token --tenant ID --user ID [--role NAME]... [--ttl SECONDS]
                    [--token-use id|access] [--key-dir DIR]
    tenantkit package --db NAME --llm NAME --storage NAME [--arch x86_64|arm64]
                      [--python 3.11] --out FILE.zip
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register_package", "register_token"]


def register_token(subparsers: Any) -> None:
    """Add ``tenantkit token``: print a token from the local issuer."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "token",
        help="print a token from the local issuer",
        description="Print a Cognito-shaped token signed by the local issuer, for calling "
        "the local server (Authorization: Bearer TOKEN). The issuer's key is created on "
        "first use in the key directory.",
    )
    parser.add_argument("--tenant", required=True, metavar="ID", help="the tenant id")
    parser.add_argument("--user", required=True, metavar="ID", help="the user id (sub)")
    parser.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="NAME",
        dest="roles",
        help="a role (cognito:groups); repeat for several",
    )
    parser.add_argument(
        "--ttl", type=int, default=3600, metavar="SECONDS", help="lifetime (default 3600)"
    )
    parser.add_argument(
        "--token-use",
        choices=("id", "access"),
        default="id",
        help="an ID token (default) or an access token",
    )
    parser.add_argument(
        "--key-dir",
        type=Path,
        metavar="DIR",
        help="the issuer's key directory (default: $TENANTKIT_LOCAL_KEY_DIR or "
        "~/.local/share/tenantkit/local-issuer)",
    )
    parser.set_defaults(func=_token)


def register_package(subparsers: Any) -> None:
    """Add ``tenantkit package``: build a Lambda artifact with only the named plugins."""
    from tenantkit_runtime.package import ARCHITECTURES, DEFAULT_PYTHON

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "package",
        help="build a Lambda artifact holding only the named providers",
        description="Build a Lambda deployment zip: tenantkit, tenantkit-runtime, the "
        "plugins providing the named db, llm and storage providers, and their "
        "dependencies, as wheels for the Lambda architecture. Nothing else.",
    )
    parser.add_argument("--db", required=True, metavar="NAME", help="database provider")
    parser.add_argument("--llm", required=True, metavar="NAME", help="LLM provider")
    parser.add_argument("--storage", required=True, metavar="NAME", help="storage provider")
    parser.add_argument(
        "--arch", choices=ARCHITECTURES, default="x86_64", help="Lambda architecture"
    )
    parser.add_argument(
        "--python",
        default=DEFAULT_PYTHON,
        metavar="X.Y",
        help=f"Lambda Python version (default {DEFAULT_PYTHON})",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="FILE.zip")
    parser.set_defaults(func=_package)


def _token(args: argparse.Namespace) -> int:
    from tenantkit_runtime.local.issuer import LocalIssuer

    issuer = LocalIssuer(args.key_dir)
    token = issuer.issue(
        tenant=args.tenant,
        user=args.user,
        roles=args.roles,
        ttl=args.ttl,
        token_use=args.token_use,
    )
    print(token)
    return 0


def _package(args: argparse.Namespace) -> int:
    from tenantkit_runtime.package import build_package

    report = build_package(
        db=args.db,
        llm=args.llm,
        storage=args.storage,
        arch=args.arch,
        python=args.python,
        out=args.out,
    )
    print(report.summary(), file=sys.stderr)
    print(report.path)
    return 0
