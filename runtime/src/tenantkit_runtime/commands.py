"""The runtime's ``tenantkit`` commands, added through the ``tenantkit.commands``
entry-point group: each ``register_*`` function receives argparse's subparsers, adds
one command and sets its handler (``run(args) -> int``) with ``set_defaults(func=...)``.

::

    tenantkit token (--tenant ID | --operator) --user ID [--role NAME]... [--ttl SECONDS]
                    [--token-use id|access] [--key-dir DIR]
    tenantkit package --db NAME --llm NAME --storage NAME [--arch x86_64|arm64]
                      [--python 3.13] [--use-runtime-boto3] --out FILE.zip
    tenantkit serve [--port 8000] [--host 127.0.0.1] [--demo [--reset]] [--state-dir DIR]
                    [--token-ttl SECONDS] [--shared-callback]
                    [--config-dir DIR]
    tenantkit usage (TENANT [--reconcile] | --all) [--from DAY] [--to DAY] [--json | --csv]
    tenantkit user list|invite|set-roles|disable|enable|remove|resend TENANT ...
    tenantkit console publish --stack STACK [--auth-domain URL] [--client-id ID] [--dist DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "register_package",
    "register_serve",
    "register_token",
    "register_usage",
    "register_user",
]


def register_token(subparsers: Any) -> None:
    """Add ``tenantkit token``: print a token from the local issuer."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "token",
        help="print a token from the local issuer",
        description="Print a Cognito-shaped token signed by the local issuer, for calling "
        "the local server (Authorization: Bearer TOKEN). The issuer's key is created on "
        "first use in the key directory.",
    )
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--tenant", metavar="ID", help="the tenant id")
    who.add_argument(
        "--operator",
        action="store_true",
        help="the platform operator's token: no tenant, role operator (the /operator/ API)",
    )
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
    from tenantkit_runtime.roles import OPERATOR

    issuer = LocalIssuer(args.key_dir)
    roles = list(args.roles)
    if args.operator and OPERATOR not in roles:
        roles.append(OPERATOR)
    token = issuer.issue(
        tenant=None if args.operator else args.tenant,
        user=args.user,
        roles=roles,
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
        "--port", type=int, default=8000, metavar="PORT", help="port (default 8000)"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="IPv4 address to listen on (default 127.0.0.1; another is reachable from "
        "other machines: a warning says so)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="set up two demo tenants on the embedded providers and print how to call them; "
        "a restart keeps their data and settings",
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="with --demo: start over (remove the demo's config, data, control plane and "
        "signing key from STATE_DIR first)",
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
    parser.add_argument(
        "--token-ttl",
        type=int,
        default=None,
        metavar="SECONDS",
        help="lifetime of the ID and access tokens the console's local sign-in issues "
        "(default 900; short ones show the refresh and an expired session)",
    )
    parser.add_argument(
        "--shared-callback",
        action="store_true",
        help="sign every console in and out through the bare host's /callback and "
        "/signed-out, as on AWS, where the app client lists one callback URL for all "
        "tenants (default: each console's own)",
    )
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from tenantkit.cli import UsageError

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535, got {args.port}")
    if args.reset and not args.demo:
        raise UsageError("--reset starts the demo over: it goes with --demo")
    if args.host != "127.0.0.1":
        print(
            f"tenantkit: warning: listening on {args.host}: other machines may reach the "
            "server, whose tokens come from a local issuer",
            file=sys.stderr,
        )
    if args.token_ttl is not None and not 0 < args.token_ttl <= 86400:
        raise UsageError(f"--token-ttl must be from 1 to 86400 seconds, got {args.token_ttl}")
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
    serve(
        port=args.port,
        host=args.host,
        state_dir=args.state_dir,
        config_dir=config_dir,
        demo=args.demo,
        reset=args.reset,
        token_ttl=args.token_ttl,
        shared_callback=args.shared_callback,
    )
    return 0


def register_console(subparsers: Any) -> None:
    """Add ``tenantkit console publish``: upload the built web console to the CDN."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "console",
        help="publish the web console to the deployment's CDN",
        description="Manage the deployed web console.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    publish = actions.add_parser(
        "publish",
        help="upload the build and console.json to the stack's console bucket",
        description="Upload the built console (hashed assets immutable, index.html and "
        "console.json no-cache) to the console bucket of a stack deployed with "
        "ConsoleDomain, and write console.json from the stack's outputs.",
    )
    publish.add_argument("--stack", required=True, metavar="STACK", help="the stack's name")
    publish.add_argument(
        "--auth-domain",
        metavar="URL",
        help="the user pool domain's origin (https://PREFIX.auth.REGION.amazoncognito.com; "
        "default: the stack's UserPoolDomainUrl)",
    )
    publish.add_argument(
        "--client-id",
        metavar="ID",
        help="the app client of the console (default: the stack's UserPoolClientId)",
    )
    publish.add_argument(
        "--dist",
        type=Path,
        metavar="DIR",
        help="the build (default: the one in the installed tenantkit-runtime)",
    )
    publish.set_defaults(func=_console_publish)


def _console_publish(args: argparse.Namespace) -> int:
    from tenantkit_runtime.console_publish import publish

    dist = args.dist or Path(__file__).resolve().parent / "console" / "dist"
    report = publish(args.stack, dist=dist, auth_domain=args.auth_domain, client_id=args.client_id)
    print(report.summary())
    return 0


def register_usage(subparsers: Any) -> None:
    """Add ``tenantkit usage``: the operator's usage reports and the storage reconcile."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "usage",
        help="report tenants' usage per day from the control plane",
        description="Print a tenant's usage per day (requests by function and status "
        "class, LLM calls and tokens, bytes moved, WebSocket minutes, storage held), or "
        "every registered tenant's totals with --all. Reads the deployment's control "
        "plane (TENANTKIT_CONTROL_PLANE) and, for --reconcile, the tenant's configuration "
        "(TENANTKIT_CONFIG_DIR or TENANTKIT_SECRETS_PREFIX).",
    )
    parser.add_argument("tenant", nargs="?", metavar="TENANT", help="the tenant id")
    parser.add_argument("--all", action="store_true", help="every registered tenant's totals")
    parser.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day")
    parser.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day (today)")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="the report as JSON")
    shape.add_argument("--csv", action="store_true", help="one CSV row per tenant and day")
    parser.add_argument(
        "--reconcile",
        action="store_true",
        help="first set the tenant's storage ledger from its storage listing",
    )
    parser.set_defaults(func=_usage)


def _usage(args: argparse.Namespace) -> int:
    from tenantkit.cli import UsageError
    from tenantkit.errors import InvalidRequest
    from tenantkit.metering import parse_range
    from tenantkit_runtime import deployment
    from tenantkit_runtime.reports import print_reports, reconcile_storage

    if args.all == bool(args.tenant):
        raise UsageError("name one TENANT, or --all")
    if args.reconcile and args.all:
        raise UsageError("--reconcile takes one TENANT")
    try:
        start, end = parse_range(args.start, args.end)
    except InvalidRequest as exc:
        raise UsageError(exc.message.replace("'from'", "--from").replace("'to'", "--to")) from None
    plane = deployment.control_plane()
    if args.reconcile:
        before, after = reconcile_storage(args.tenant)
        print(f"{args.tenant}: storage ledger {before} -> {after} bytes", file=sys.stderr)
    if args.all:
        tenant_ids: list[str] = []
        cursor: str | None = None
        while True:
            records, cursor = plane.tenants(cursor=cursor)
            tenant_ids.extend(r.tenant_id for r in records)
            if cursor is None:
                break
    else:
        tenant_ids = [args.tenant]
    reports = [plane.meter.report(t, start, end) for t in tenant_ids]
    fmt: Literal["text", "json", "csv"] = "json" if args.json else "csv" if args.csv else "text"
    print_reports(reports, fmt=fmt, totals_only=args.all)
    return 0


def register_user(subparsers: Any) -> None:
    """Add ``tenantkit user``: the operator manages a tenant's users."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "user",
        help="list, invite, change roles of, disable, enable or remove a tenant's users",
        description="Manage a tenant's users in the deployment's user pool "
        "(TENANTKIT_USER_POOL_ID, else TENANTKIT_LOCAL_USERS) and control plane "
        "(TENANTKIT_CONTROL_PLANE). Every change is audited with the actor 'operator'. "
        "Only tenant roles (admin, member) are granted; never the operator role.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="the tenant's users").add_argument("tenant")
    invite = actions.add_parser("invite", help="invite a user")
    invite.add_argument("tenant")
    invite.add_argument("email")
    invite.add_argument("--role", action="append", dest="roles", metavar="NAME")
    roles = actions.add_parser("set-roles", help="set a user's roles (all of them)")
    roles.add_argument("tenant")
    roles.add_argument("user_id")
    roles.add_argument("--role", action="append", dest="roles", default=[], metavar="NAME")
    for name in ("disable", "enable", "remove", "resend"):
        one = actions.add_parser(name, help=f"{name} a user")
        one.add_argument("tenant")
        one.add_argument("user_id")
    parser.set_defaults(func=_user)


def _user(args: argparse.Namespace) -> int:
    import json

    from tenantkit.cli import UsageError
    from tenantkit.errors import ConditionFailed, NotFound
    from tenantkit.identifiers import is_tenant_id
    from tenantkit_runtime import deployment
    from tenantkit_runtime.auth.errors import AccessDenied
    from tenantkit_runtime.http_errors import RequestValidationError
    from tenantkit_runtime.users import Invitation, UserDirectory
    from tenantkit_runtime.userstore import user_store

    if not is_tenant_id(args.tenant):
        raise UsageError(f"TENANT is not a tenant id: {args.tenant[:64]!r}")
    directory = UserDirectory(
        user_store(), deployment.control_plane(), admin_role=deployment.settings().admin_role
    )
    actor = "operator"
    try:
        if args.action == "list":
            cursor: str | None = None
            while True:
                page, cursor = directory.list(args.tenant, cursor=cursor)
                for record in page:
                    print(json.dumps(record.model_dump()))
                if cursor is None:
                    return 0
        if args.action == "invite":
            from pydantic import ValidationError

            try:
                invitation = Invitation(email=args.email, roles=args.roles or ["member"])
            except ValidationError as exc:
                first = exc.errors()[0]
                raise UsageError(f"{first['loc'][0]}: {first['msg']}") from None
            result = directory.invite(args.tenant, invitation, actor=actor)
        elif args.action == "set-roles":
            result = directory.set_roles(args.tenant, args.user_id, args.roles, actor=actor)
        elif args.action in ("disable", "enable"):
            enabled = args.action == "enable"
            result = directory.set_enabled(args.tenant, args.user_id, enabled, actor=actor)
        elif args.action == "resend":
            result = directory.resend_invitation(args.tenant, args.user_id, actor=actor)
        else:
            directory.remove(args.tenant, args.user_id, actor=actor)
            print(json.dumps({"removed": args.user_id}))
            return 0
    except (AccessDenied, NotFound, ConditionFailed, RequestValidationError) as exc:
        raise UsageError(exc.message) from None
    print(json.dumps(result.model_dump()))
    return 0
