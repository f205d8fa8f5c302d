"""``python -m tenantkit.demo``: two tenants on the embedded providers, kept apart.

The demo writes a configuration directory for two tenants, ``acme`` and ``globex``,
that share one sqlite file, one local storage directory and the echo LLM. It
resolves both through ``Resolver(DirectorySource(...))`` as application code does,
runs a database, storage and LLM round trip for each, and checks that neither
tenant can see the other's data although both write the very same keys: each reads
back only its own items and objects, each listing shows only its own, a cursor or a
presigned URL taken from one tenant is refused for the other, and a key that tries
to climb out of the tenant is refused.

It prints a short report and exits 0 when every check holds, 1 when one fails.
``--dir DIR`` keeps the files in ``DIR`` (the default is a temporary directory,
removed at the end) so that ``tenantkit check acme --config-dir DIR/config`` can be
tried afterwards.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tenantkit.errors import TenantkitError

__all__ = ["TENANTS", "DemoResult", "main", "run_demo", "write_config"]

#: The demo's tenants and what tells them apart.
TENANTS: dict[str, str] = {"acme": "Acme Corp", "globex": "Globex Inc"}

_NOTES = ("n1", "n2", "n3")
_REPORTS = ("reports/q3.txt", "reports/q4.txt")


@dataclass
class Check:
    """One claim the demo makes and whether it held."""

    section: str
    claim: str
    ok: bool
    detail: str = ""


@dataclass
class DemoResult:
    """What the demo found: every check, and where its files are."""

    config_dir: Path
    data_dir: Path
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


def write_config(
    directory: Path, *, storage_url: str, signing_key: str, keep_tenants: bool = False
) -> tuple[Path, Path]:
    """Write the two tenants' secrets under ``directory``; return (config dir, data dir).

    ``defaults.json`` holds what the tenants share (the sqlite file, the storage
    directory and its presign key, the echo LLM); each tenant's file holds its id,
    its branding and its assistant's greeting, and is merged over the defaults. With
    ``keep_tenants``, a tenant file that exists is left as it is (its tenant may have
    changed its settings).
    """
    config_dir, data_dir = directory / "config", directory / "data"
    config_dir.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    defaults = {
        "schema_version": 1,
        "db": {"provider": "sqlite", "path": str(data_dir / "tenants.sqlite3")},
        "storage": {
            "provider": "local",
            "root": str(data_dir / "objects"),
            "base_url": storage_url,
            "signing_key": signing_key,
        },
        "llm": {"provider": "echo", "model": "echo-1"},
    }
    _write_json(config_dir / "defaults.json", defaults)
    for tenant_id, name in TENANTS.items():
        if keep_tenants and (config_dir / f"{tenant_id}.json").exists():
            continue
        _write_json(
            config_dir / f"{tenant_id}.json",
            {
                "schema_version": 1,
                "tenant_id": tenant_id,
                "llm": {"provider": "echo", "prefix": f"{name} assistant: "},
                "branding": {"display_name": name},
            },
        )
    return config_dir, data_dir


def run_demo(directory: Path, *, out: TextIO | None = None) -> DemoResult:
    """Run the demo in ``directory`` (created if missing), reporting to ``out``."""
    from tenantkit.resolver import Resolver
    from tenantkit.sources import DirectorySource

    say = _printer(out)
    directory.mkdir(parents=True, exist_ok=True)
    signing_key = secrets.token_urlsafe(32)
    with _presign_server(directory / "data" / "objects", signing_key) as storage_url:
        config_dir, data_dir = write_config(
            directory, storage_url=storage_url, signing_key=signing_key
        )
        result = DemoResult(config_dir=config_dir, data_dir=data_dir)
        say("tenantkit demo: two tenants on the embedded providers (sqlite, local, echo)")
        say("")
        say(f"config  {config_dir}  (defaults.json, merged under acme.json and globex.json)")
        say(f"data    {data_dir}  (one sqlite file and one storage directory, shared)")
        say("")
        resolver = Resolver(DirectorySource(config_dir), signing_key=secrets.token_bytes(32))
        try:
            tenants = {tenant_id: resolver.resolve(tenant_id) for tenant_id in TENANTS}
            for tenant in tenants.values():
                providers = "  ".join(
                    f"{kind}={provider}"
                    for kind, provider in tenant.config.public()["providers"].items()
                )
                say(f"{tenant.id:<8}{providers}  (config version {tenant.config.version})")
            steps: list[tuple[str, Callable[[dict[str, Any]], Iterator[Check | str]]]] = [
                ("database", _database),
                ("storage", _storage),
                ("llm", _llm),
            ]
            for title, step in steps:
                say("")
                say(title)
                for check in _guarded(title, step, tenants):
                    if isinstance(check, str):
                        say(f"        {check}")
                        continue
                    result.checks.append(check)
                    mark = "ok  " if check.ok else "FAIL"
                    say(f"  {mark}  {check.claim}" + (f": {check.detail}" if check.detail else ""))
        finally:
            resolver.close()
    say("")
    held = sum(c.ok for c in result.checks)
    if result.ok:
        say(f"isolation held: all {held} checks passed")
    else:
        say(f"FAILED: {len(result.failures)} of {len(result.checks)} checks did not hold")
    return result


# --- the round trips -----------------------------------------------------------------


def _database(tenants: dict[str, Any]) -> Iterator[Check | str]:
    from tenantkit.errors import InvalidCursor

    for tenant in tenants.values():
        for sk in _NOTES:
            tenant.db.put("notes", {"pk": "u1", "sk": sk, "text": _note(tenant.id, sk)})
    yield f"both tenants wrote notes u1/{','.join(_NOTES)}: the same keys, one sqlite file"
    for tenant in tenants.values():
        item = tenant.db.get("notes", "u1", "n1")
        text = item.get("text") if item is not None else None
        yield Check(
            "database",
            f"{tenant.id} reads u1/n1 back as its own",
            text == _note(tenant.id, "n1"),
            repr(text),
        )
    cursors: dict[str, str] = {}
    for tenant in tenants.values():
        first = tenant.db.query("notes", "u1", limit=2)
        texts = [str(i.get("text")) for i in first.items]
        if first.cursor is not None:
            cursors[tenant.id] = first.cursor
            texts += [
                str(i.get("text"))
                for i in tenant.db.query("notes", "u1", limit=2, cursor=first.cursor).items
            ]
        yield Check(
            "database",
            f"{tenant.id}'s query of partition u1 (2 pages) lists only its own notes",
            texts == [_note(tenant.id, sk) for sk in _NOTES],
            f"{len(texts)} notes",
        )
    owner, other = list(tenants)
    try:
        tenants[other].db.query("notes", "u1", limit=2, cursor=cursors[owner])
    except InvalidCursor as exc:
        yield Check(
            "database", f"{other} presenting {owner}'s cursor is refused", True, exc.message
        )
    except KeyError:
        yield Check("database", f"{owner}'s first page had a cursor", False)
    else:
        yield Check("database", f"{other} presenting {owner}'s cursor is refused", False)
    removed = tenants[other].db.delete("notes", "u1", "n3")
    still = tenants[owner].db.get("notes", "u1", "n3")
    yield Check(
        "database",
        f"{other} deleting u1/n3 leaves {owner}'s u1/n3 in place",
        removed and still is not None and still.get("text") == _note(owner, "n3"),
    )


def _storage(tenants: dict[str, Any]) -> Iterator[Check | str]:
    import httpx

    from tenantkit.errors import InvalidCursor, InvalidKey

    for tenant in tenants.values():
        for key in _REPORTS:
            tenant.storage.put(key, _report(tenant.id, key), content_type="text/plain")
    yield f"both tenants stored {', '.join(_REPORTS)}: the same keys, one directory"
    for tenant in tenants.values():
        body = tenant.storage.get(_REPORTS[0])
        yield Check(
            "storage",
            f"{tenant.id} reads {_REPORTS[0]} back as its own",
            body == _report(tenant.id, _REPORTS[0]),
            repr(body.decode(errors="replace")),
        )
    cursors: dict[str, str] = {}
    for tenant in tenants.values():
        page = tenant.storage.list("reports/", limit=1)
        keys = [o.key for o in page.objects]
        if page.cursor is not None:
            cursors[tenant.id] = page.cursor
            keys += [o.key for o in tenant.storage.list("reports/", cursor=page.cursor).objects]
        everything = [o.key for o in tenant.storage.list("").objects]
        yield Check(
            "storage",
            f"{tenant.id}'s listing (2 pages) shows only its own objects",
            keys == list(_REPORTS) and everything == list(_REPORTS),
            ", ".join(everything),
        )
    owner, other = list(tenants)
    try:
        tenants[other].storage.list("reports/", cursor=cursors[owner])
    except InvalidCursor as exc:
        yield Check("storage", f"{other} presenting {owner}'s cursor is refused", True, exc.message)
    except KeyError:
        yield Check("storage", f"{owner}'s first listing page had a cursor", False)
    else:
        yield Check("storage", f"{other} presenting {owner}'s cursor is refused", False)
    try:
        tenants[other].storage.get(f"../{owner}/{_REPORTS[0]}")
    except InvalidKey as exc:
        yield Check("storage", f"{other} reaching for ../{owner}/... is refused", True, exc.message)
    else:
        yield Check("storage", f"{other} reaching for ../{owner}/... is refused", False)
    for tenant in tenants.values():
        url = tenant.storage.presign_get(_REPORTS[0], expires_in=60)
        answer = httpx.get(url, timeout=10)
        yield Check(
            "storage",
            f"{tenant.id}'s presigned URL serves its own {_REPORTS[0]}",
            answer.status_code == 200 and answer.content == _report(tenant.id, _REPORTS[0]),
            f"HTTP {answer.status_code}",
        )
    url = tenants[owner].storage.presign_get(_REPORTS[0], expires_in=60)
    forged = url.replace(f"/{owner}/", f"/{other}/", 1)
    answer = httpx.get(forged, timeout=10)
    yield Check(
        "storage",
        f"{owner}'s presigned URL pointed at {other}'s object is refused",
        forged != url and answer.status_code == 403,
        f"HTTP {answer.status_code}",
    )


def _llm(tenants: dict[str, Any]) -> Iterator[Check | str]:
    for tenant in tenants.values():
        reply = tenant.llm.chat(messages=[{"role": "user", "content": "hello"}], max_tokens=32)
        expected = f"{TENANTS[tenant.id]} assistant: hello"
        yield Check(
            "llm",
            f"{tenant.id}'s assistant answers with its own configuration",
            reply.text == expected,
            f"{reply.text!r} ({reply.model}, {reply.usage.total_tokens} tokens)",
        )


def _guarded(
    title: str, step: Callable[[dict[str, Any]], Iterator[Check | str]], tenants: dict[str, Any]
) -> Iterator[Check | str]:
    """The step's checks and remarks; an error ends the step as one failed check."""
    try:
        yield from step(tenants)
    except TenantkitError as exc:
        yield Check(title, "the round trip completed", False, f"{type(exc).__name__}: {exc}")


# --- helpers -------------------------------------------------------------------------


@contextmanager
def _presign_server(root: Path, signing_key: str) -> Iterator[str]:
    """Serve the local provider's presigned URLs over ``root`` on 127.0.0.1; yields its URL."""
    from tenantkit.providers.local_presign import PresignApp, serve
    from tenantkit.providers.local_storage import LocalObjectStore, LocalStorageSettings
    from tenantkit.settings import Secret

    store = LocalObjectStore(LocalStorageSettings(root=root, signing_key=Secret(signing_key)))
    try:
        with serve(PresignApp(store)) as url:
            yield url
    finally:
        store.close()


def _note(tenant_id: str, sk: str) -> str:
    return f"{TENANTS[tenant_id]} note {sk}"


def _report(tenant_id: str, key: str) -> bytes:
    return f"{TENANTS[tenant_id]}: {key}".encode()


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _printer(out: TextIO | None) -> Callable[[str], None]:
    def say(line: str) -> None:
        print(line, file=out or sys.stdout, flush=True)

    return say


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; return 0 when isolation held, 1 otherwise."""
    parser = argparse.ArgumentParser(
        prog="python -m tenantkit.demo",
        description="Two tenants on the embedded providers (sqlite, local, echo), "
        "kept apart by tenantkit.",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        metavar="DIR",
        help="keep the configuration and data in DIR (default: a temporary directory)",
    )
    args = parser.parse_args(argv)
    try:
        if args.dir is not None:
            result = run_demo(args.dir.resolve())
            print(
                f"\nfiles kept in {args.dir}; try: tenantkit check acme --config-dir "
                f"{result.config_dir}"
            )
        else:
            with tempfile.TemporaryDirectory(prefix="tenantkit-demo-") as tmp:
                result = run_demo(Path(tmp))
    except TenantkitError as exc:
        print(f"demo: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
