"""The runtime's ``tenantkit`` commands, added through the ``tenantkit.commands``
entry-point group: each ``register_*`` function receives argparse's subparsers, adds
one command and sets its handler (``run(args) -> int``) with ``set_defaults(func=...)``.

::

    tenantkit token --tenant ID --user ID [--role NAME]... [--ttl SECONDS]
                    [--token-use id|access] [--key-dir DIR]
    tenantkit package --db NAME --llm NAME --storage NAME [--arch x86_64|arm64]
                      [--python 3.13] [--use-runtime-boto3] --out FILE.zip
    tenantkit serve [--port 8000] [--demo] [--state-dir DIR] [--config-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["register_package", "register_serve", "register_token"]


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
    from tenantkit_runtime.package import ARCHITECTURES, DEFAULT_ARCH, DEFAULT_PYTHON

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
        "--arch",
        choices=ARCHITECTURES,
        default=DEFAULT_ARCH,
        help=f"Lambda architecture (default {DEFAULT_ARCH}, as the template's Architecture)",
    )
    parser.add_argument(
        "--python",
        default=DEFAULT_PYTHON,
        metavar="X.Y",
        help=f"Lambda Python version (default {DEFAULT_PYTHON}, as the template's Runtime)",
    )
    parser.add_argument(
        "--use-runtime-boto3",
        action="store_true",
        help="leave out boto3 and botocore and use the Lambda runtime's own: a much "
        "smaller artifact, but a boto3 version that was not tested here and changes when "
        "AWS updates the runtime",
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
        use_runtime_boto3=args.use_runtime_boto3,
        progress=lambda step: print(f"tenantkit package: {step}...", file=sys.stderr, flush=True),
    )
    print(report.summary(), file=sys.stderr)
    print(report.path)
    return 0


def register_serve(subparsers: Any) -> None:
    """Add ``tenantkit serve``: the local API Gateway in front of the runtime's functions."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the functions locally behind an API Gateway stand-in",
        description="Serve the runtime's functions on 127.0.0.1 as API Gateway does: the "
        "HTTP API with its Lambda authorizer, the WebSocket API with its Management API, "
        "the local token issuer's keys and the local storage's presigned URLs. Needs the "
        "'serve' extra (pip install 'tenantkit-runtime[serve]').",
    )
    parser.add_argument(
        "--port", type=int, default=8000, metavar="PORT", help="port on 127.0.0.1 (default 8000)"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="set up two demo tenants on the embedded providers and print how to call them",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".tenantkit"),
        metavar="DIR",
        help="control plane, signing key and demo data (default .tenantkit)",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        metavar="DIR",
        help="tenant secrets as {tenant}.json over defaults.json (default: "
        "$TENANTKIT_CONFIG_DIR, else STATE_DIR/config)",
    )
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from tenantkit.cli import UsageError

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535, got {args.port}")
    if args.demo and args.config_dir is not None:
        raise UsageError("--demo writes its tenants into STATE_DIR/config: leave out --config-dir")
    try:
        from tenantkit_runtime.local.server import serve
    except ImportError as exc:
        raise UsageError(
            f"tenantkit serve needs the 'serve' extra ({exc.name} is missing): "
            "pip install 'tenantkit-runtime[serve]'"
        ) from None
    config_dir = args.config_dir
    if config_dir is None and not args.demo and os.environ.get("TENANTKIT_CONFIG_DIR"):
        config_dir = Path(os.environ["TENANTKIT_CONFIG_DIR"])
    serve(port=args.port, state_dir=args.state_dir, config_dir=config_dir, demo=args.demo)
    return 0
