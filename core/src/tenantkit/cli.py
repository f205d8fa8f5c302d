"""The ``tenantkit`` command line.

::

    tenantkit providers [--json] [--strict]
    tenantkit secret validate FILE... [--defaults FILE]
    tenantkit secret schema [--json]
    tenantkit check TENANT [--config-dir DIR | --secrets-prefix PREFIX
                            [--endpoint-url URL] [--region REGION]]
                           [--ensure-schema] [--json]

``check`` without ``--config-dir`` or ``--secrets-prefix`` reads the tenant secrets
where the deployment does (:meth:`tenantkit.Resolver.from_env`: ``TENANTKIT_CONFIG_DIR``,
else ``TENANTKIT_SECRETS_PREFIX``).

Exit status: 0 on success; 1 when the command ran and found a problem (an invalid
secret, a failing provider, a tenantkit error); 2 on a usage error; 141 (as a
command killed by ``SIGPIPE``), without a word, when the reader of its output goes
away (``tenantkit providers --json | head``). ``providers``
lists broken plugins with their error and still exits 0, so one broken distribution
does not hide the others; ``--strict`` makes it exit 1 when any plugin fails to load.

What a command finds (an invalid field, a failing provider, a tenant whose secret is
refused) is its output, on stdout. An error that stops a command prints one line to
stderr (``tenantkit: error: ...``), never a traceback. Neither ever shows a credential:
validation errors name field paths, not values, and provider errors are scrubbed of the
tenant's secrets.

Commands from other distributions
---------------------------------
A distribution adds commands through the entry-point group ``tenantkit.commands``::

    [project.entry-points."tenantkit.commands"]
    serve = "tenantkit_runtime.commands:register_serve"

The entry name is the command's name; the value is a callable
``register(subparsers)`` that receives argparse's subparsers action, adds that one
command with ``subparsers.add_parser(name, help=...)``, and sets its handler with
``set_defaults(func=run)``. ``run(args: argparse.Namespace) -> int`` returns the exit
status; a :class:`~tenantkit.errors.TenantkitError` it raises is printed as one line
and exits 1.

Extension commands are loaded when the parser is built: for ``tenantkit --help``, for
a command that is not built in, and for an empty command line. A command line naming a
built-in command does not read them, so a broken extension can never break
``tenantkit check``. An extension that fails to load, or that claims a name already
taken, is reported on stderr and left out; everything else still works.

This module imports only the standard library at the top; each command imports what
it needs, so ``tenantkit --help`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenantkit.errors import TenantkitError

if TYPE_CHECKING:
    from tenantkit.check import CheckReport
    from tenantkit.errors import FieldError
    from tenantkit.plugins import Plugins

__all__ = ["COMMANDS_GROUP", "UsageError", "build_parser", "main"]

#: The entry-point group of commands added by other distributions.
COMMANDS_GROUP = "tenantkit.commands"

_PROG = "tenantkit"
_BUILTIN = ("providers", "secret", "check")

Handler = Callable[[argparse.Namespace], "int | None"]


class UsageError(Exception):
    """A command line that parses but makes no sense: a handler raises it to exit with 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (``sys.argv[1:]`` by default); return the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(extensions=_wants_extensions(arguments))
    try:
        args = parser.parse_args(arguments)
        sys.stdout.flush()
    except SystemExit as exc:  # --help, --version and usage errors
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            return _reader_gone()
        return _status(exc.code)
    except BrokenPipeError:
        return _reader_gone()
    _configure_logging(args.verbose)
    handler: Handler = args.func
    try:
        status = int(handler(args) or 0)
        sys.stdout.flush()
    except BrokenPipeError:
        return _reader_gone()
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        _error(str(exc))
        return 2
    except TenantkitError as exc:
        _error(f"{type(exc).__name__}: {exc}")
        return 1
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    return status


def _reader_gone() -> int:
    """The reader of stdout went away (``| head``): exit quietly, as ``SIGPIPE`` would.

    Whatever is still buffered goes to ``/dev/null``, so the interpreter's last flush at
    exit does not fail again with a traceback.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no file descriptor (a test's capture)
        pass
    finally:
        os.close(devnull)
    return 128 + 13  # 128 + SIGPIPE


def build_parser(*, extensions: bool = True) -> argparse.ArgumentParser:
    """The argument parser, with the commands of other distributions when ``extensions``."""
    from tenantkit import __version__

    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Multi-tenant providers: inspect plugins, validate tenant secrets, "
        "check a tenant's providers.",
    )
    parser.add_argument("--version", action="version", version=f"{_PROG} {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (-vv for debug)"
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    providers = commands.add_parser(
        "providers",
        help="list installed providers and whether they load",
        description="List every installed provider plugin (kind, name, distribution, "
        "version, capabilities) and whether it loads. Broken plugins are listed with "
        "their error.",
    )
    providers.add_argument("--json", action="store_true", help="print JSON")
    providers.add_argument(
        "--strict", action="store_true", help="exit 1 when any plugin fails to load"
    )
    providers.set_defaults(func=_providers)

    secret = commands.add_parser(
        "secret",
        help="validate tenant secrets, print their schema",
        description="Work with tenant secret documents.",
    )
    secret_commands = secret.add_subparsers(title="commands", metavar="COMMAND", required=True)
    validate = secret_commands.add_parser(
        "validate",
        help="validate tenant secret files",
        description="Validate tenant secret files (one tenant each, named after it: "
        "acme.json holds tenant_id acme). Prints one line per problem, naming the file "
        "and the field path; exits 1 if any file is invalid.",
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help="a tenant secret (JSON)")
    validate.add_argument(
        "--defaults",
        metavar="FILE",
        help="merge each file over these defaults first, as the secret sources do",
    )
    validate.set_defaults(func=_secret_validate)
    schema = secret_commands.add_parser(
        "schema",
        help="show every installed provider's settings and who owns each",
        description="Show the settings of every installed provider: each field, its "
        "type, whether it is required or secret, and its owner (operator: only the "
        "operator's tools change it; tenant: a tenant admin may change it through the "
        "config API). With --json, the JSON Schema of a tenant secret, each provider "
        "field carrying its owner under x-tenantkit-owner.",
    )
    schema.add_argument(
        "--json", action="store_true", help="print the JSON Schema of a tenant secret"
    )
    schema.set_defaults(func=_secret_schema)

    check = commands.add_parser(
        "check",
        help="resolve a tenant and run a round trip on each of its providers",
        description="Resolve TENANT from its secret, load only the plugins it names, "
        "and write, read and delete a probe item and object and send one chat request. "
        "Exits 0 when every provider works.",
    )
    check.add_argument("tenant", metavar="TENANT", help="the tenant id")
    where = check.add_mutually_exclusive_group()
    where.add_argument(
        "--config-dir",
        metavar="DIR",
        help="read {DIR}/{TENANT}.json over {DIR}/defaults.json (default: $TENANTKIT_CONFIG_DIR)",
    )
    where.add_argument(
        "--secrets-prefix",
        metavar="PREFIX",
        help="read {PREFIX}/tenants/{TENANT} over {PREFIX}/defaults from AWS Secrets Manager "
        "(default: $TENANTKIT_SECRETS_PREFIX)",
    )
    check.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="Secrets Manager endpoint (default: $TENANTKIT_SECRETS_ENDPOINT_URL)",
    )
    check.add_argument(
        "--region", metavar="REGION", help="Secrets Manager region (default: $AWS_REGION)"
    )
    check.add_argument(
        "--ensure-schema",
        action="store_true",
        help="let the database provider create its tables first",
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(func=_check)

    if extensions:
        _add_extensions(commands)
    return parser


# --- providers -----------------------------------------------------------------------


def _providers(args: argparse.Namespace) -> int:
    from tenantkit.errors import PluginError
    from tenantkit.registry import KINDS

    plugins = _plugins()
    rows: list[dict[str, Any]] = []
    for kind in KINDS:
        for ref in plugins.available(kind):
            row: dict[str, Any] = {
                "kind": kind,
                "name": ref.name,
                "distribution": ref.distribution,
                "version": ref.version,
                "module": ref.value,
                "loads": True,
                "capabilities": [],
                "description": "",
                "error": None,
                "error_kind": None,
            }
            try:
                spec = plugins.get(kind, ref.name)
            except PluginError as exc:
                row.update(loads=False, error=_one_line(str(exc)), error_kind=exc.kind)
            else:
                row.update(capabilities=sorted(spec.capabilities), description=spec.description)
            rows.append(row)
    ok = all(row["loads"] for row in rows)
    if args.json:
        _print_json({"ok": ok, "providers": rows})
    elif not rows:
        print("no providers installed")
    else:
        table = [
            [
                row["kind"],
                row["name"],
                row["distribution"],
                row["version"],
                "ok" if row["loads"] else "FAILED",
                ", ".join(row["capabilities"]) or "-",
            ]
            for row in rows
        ]
        header = ["KIND", "NAME", "DISTRIBUTION", "VERSION", "LOADS", "CAPABILITIES"]
        widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header) - 1)]
        for cells, listed in zip([header, *table], [None, *rows], strict=True):
            padded = [c.ljust(w) for c, w in zip(cells, widths, strict=False)]
            print("  ".join([*padded, cells[-1]]))
            if listed is not None and listed["error"]:
                print(f"    {listed['error_kind']}: {listed['error']}")
    return 1 if args.strict and not ok else 0


# --- secret --------------------------------------------------------------------------


def _secret_validate(args: argparse.Namespace) -> int:
    from tenantkit.config import merge_secret, parse_tenant_config
    from tenantkit.errors import PluginError, SecretValidationError

    defaults: dict[str, Any] = {}
    if args.defaults:
        loaded = _read_document(args.defaults)
        if isinstance(loaded, list):
            _print_problems(args.defaults, loaded)
            return 1
        defaults = loaded
    plugins = _plugins()
    invalid = 0
    for name in args.files:
        document = _read_document(name)
        if isinstance(document, list):
            _print_problems(name, document)
            invalid += 1
            continue
        try:
            config = parse_tenant_config(merge_secret(defaults, document), plugins=plugins)
        except SecretValidationError as exc:
            _print_problems(name, exc.errors)
            invalid += 1
        except PluginError as exc:
            print(f"{name}: {type(exc).__name__}: {_one_line(str(exc))}")
            invalid += 1
        else:
            stem = Path(name).stem
            if stem != config.tenant_id:
                print(
                    f"{name}: tenant_id: {config.tenant_id!r} differs from the file's name "
                    f"{stem!r}: a secret is stored under its tenant's id ({config.tenant_id}.json)"
                )
                invalid += 1
                continue
            providers = ", ".join(f"{k}={p}" for k, p in config.public()["providers"].items())
            print(f"{name}: ok (tenant {config.tenant_id}: {providers})")
    if invalid and len(args.files) > 1:
        print(f"{invalid} of {len(args.files)} files invalid", file=sys.stderr)
    return 1 if invalid else 0


def _read_document(name: str) -> dict[str, Any] | list[FieldError]:
    """The JSON object in file ``name``, or the problems that stop it being read."""
    from tenantkit.config import parse_secret_text
    from tenantkit.errors import FieldError, SecretValidationError

    try:
        text = Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        return [FieldError("", f"cannot read the file: {exc.strerror or type(exc).__name__}")]
    except UnicodeDecodeError as exc:
        return [FieldError("", f"not UTF-8 text (byte {exc.start})")]
    try:
        return parse_secret_text(text, source=name)
    except SecretValidationError as exc:
        return exc.errors


def _print_problems(name: str, problems: Sequence[FieldError]) -> None:
    for problem in problems:
        print(f"{name}: {_one_line(str(problem))}")


def _secret_schema(args: argparse.Namespace) -> int:
    from tenantkit.config import json_schema, provider_specs
    from tenantkit.registry import KINDS
    from tenantkit.settings import field_owner

    plugins = _plugins()
    if args.json:
        _print_json(json_schema(plugins))
        return 0
    print("Who owns each setting: operator (where data lives, endpoints, roles, paths, keys;")
    print("only the operator's tools change it) or tenant (a tenant admin may change it).")
    for kind in KINDS:
        for spec in provider_specs(plugins, kind):
            print(f"\n{kind} provider {spec.name!r} ({spec.distribution or spec.module})")
            rows = [("field", "owner", "type", "")]
            for name, info in spec.settings.model_fields.items():
                notes = "required" if info.is_required() else ""
                if "SecretStr" in repr(info.annotation):
                    notes = f"{notes}, secret" if notes else "secret"
                rows.append((name, field_owner(spec.settings, name).value, _type(info), notes))
            widths = [max(len(row[i]) for row in rows) for i in range(3)]
            for row in rows:
                cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
                print("  " + "  ".join([*cells, row[3]]).rstrip())
    return 0


def _type(info: Any) -> str:
    """A field's type, short: ``str | None``, ``Literal['a', 'b']``."""
    annotation = info.annotation
    text = annotation.__name__ if isinstance(annotation, type) else repr(annotation)
    for noise in ("typing.", "pydantic.types.", "pathlib.", "tenantkit."):
        text = text.replace(noise, "")
    text = text.replace("NoneType", "None")
    if text.startswith("Optional[") and text.endswith("]"):
        text = f"{text[len('Optional[') : -1]} | None"
    return text if len(text) <= 40 else text[:39] + "…"


# --- check ---------------------------------------------------------------------------


def _check(args: argparse.Namespace) -> int:
    import os
    import secrets

    from tenantkit.check import check_tenant
    from tenantkit.resolver import Resolver

    # The deployment's own settings, with the command line's on top: the resolver is
    # built as every process of a deployment builds it (Resolver.from_env).
    env = dict(os.environ)
    if args.config_dir is not None:
        if args.endpoint_url or args.region:
            raise UsageError("--endpoint-url and --region go with --secrets-prefix")
        env["TENANTKIT_CONFIG_DIR"] = args.config_dir
    elif args.secrets_prefix is not None:
        env.pop("TENANTKIT_CONFIG_DIR", None)
        env["TENANTKIT_SECRETS_PREFIX"] = args.secrets_prefix
        if args.endpoint_url:
            env["TENANTKIT_SECRETS_ENDPOINT_URL"] = args.endpoint_url
    elif not (env.get("TENANTKIT_CONFIG_DIR") or env.get("TENANTKIT_SECRETS_PREFIX")):
        raise UsageError(
            "where are the tenant secrets? pass --config-dir or --secrets-prefix, "
            "or set TENANTKIT_CONFIG_DIR or TENANTKIT_SECRETS_PREFIX"
        )
    if args.region:
        env["AWS_REGION"] = args.region
    directory = env.get("TENANTKIT_CONFIG_DIR")
    if directory:
        if not Path(directory).is_dir():
            given = "--config-dir " if args.config_dir is not None else "TENANTKIT_CONFIG_DIR="
            raise UsageError(f"{given}{directory}: not a directory")
    elif not env.get("AWS_REGION") and not _aws_default_region():
        raise UsageError("no AWS region: pass --region or set AWS_REGION")
    # Cursors never leave this process, so a throwaway signing key will do.
    resolver = Resolver.from_env(env, plugins=_plugins(), signing_key=secrets.token_bytes(32))
    try:
        report = check_tenant(resolver, args.tenant, ensure_schema=args.ensure_schema)
    finally:
        resolver.close()
    if args.json:
        _print_json(report.to_dict())
    else:
        _print_report(report, resolver.configs.source.describe())
    return 0 if report.ok else 1


def _aws_default_region() -> str | None:
    """The region botocore finds without being told (AWS_DEFAULT_REGION, the profile)."""
    try:
        from botocore.session import Session
    except ImportError:  # the source says which extra to install
        return "unknown"
    region = Session().get_config_variable("region")
    return str(region) if region else None


def _print_report(report: CheckReport, where: str) -> None:
    verdict = "ok" if report.ok else "FAILED"
    version = f", configuration version {report.config_version}" if report.config_version else ""
    print(f"tenant {report.tenant_id}: {verdict} ({where}{version})")
    if report.error:
        print(f"  {_one_line(report.error)}")
    if report.providers:
        kind_w = max(len(p.kind) for p in report.providers)
        name_w = max(len(p.provider) for p in report.providers)
        for p in report.providers:
            status = "ok" if p.ok else "FAILED"
            text = p.detail if p.ok else f"{p.error_kind}: {_one_line(p.error or '')}"
            print(
                f"  {p.kind.ljust(kind_w)}  {p.provider.ljust(name_w)}  {status.ljust(6)}  "
                f"{p.seconds * 1000:8.1f} ms  {text}"
            )
    print(f"plugins imported: {', '.join(report.imported_plugins) or 'none'}")


# --- extension commands --------------------------------------------------------------


def _wants_extensions(arguments: Sequence[str]) -> bool:
    """Whether the command line may need commands from other distributions."""
    for argument in arguments:
        if argument == "--":
            return True
        if not argument.startswith("-"):
            return argument not in _BUILTIN
    return True


def _add_extensions(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from importlib import metadata

    taken = dict.fromkeys(_BUILTIN, "tenantkit (built in)")
    for entry in sorted(metadata.entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        dist = entry.dist
        origin = f"{dist.name} {dist.version}" if dist is not None else entry.value
        if entry.name in taken:
            _warn(
                f"command {entry.name!r} from {origin} left out: "
                f"the name is taken by {taken[entry.name]}"
            )
            continue
        try:
            register = entry.load()
            register(commands)
        except Exception as exc:
            _warn(
                f"command {entry.name!r} from {origin} failed to load: "
                f"{type(exc).__name__}: {_one_line(str(exc))}"
            )
            continue
        taken[entry.name] = origin


# --- helpers -------------------------------------------------------------------------


def _plugins() -> Plugins:
    from tenantkit.plugins import Plugins

    return Plugins()


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(format=f"{_PROG}: %(levelname)s: %(name)s: %(message)s")
    logging.getLogger("tenantkit").setLevel(level)


def _print_json(data: Mapping[str, Any]) -> None:
    print(json.dumps(data, indent=2, sort_keys=False, default=str))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _error(message: str) -> None:
    print(f"{_PROG}: error: {_one_line(message)}", file=sys.stderr)


def _warn(message: str) -> None:
    print(f"{_PROG}: warning: {message}", file=sys.stderr)


def _status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1


if __name__ == "__main__":
    sys.exit(main())
