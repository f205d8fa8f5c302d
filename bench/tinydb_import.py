"""Throughput and peak memory of ``tenantkit migrate tinydb``, next to ``json.load``.

A TinyDB database is written with the ``tinydb`` package: ``--docs`` documents of about
300 bytes in three tables, plus one document of ``--big-kib`` KiB. Each case runs in a
fresh interpreter, so that its peak resident set (``VmHWM``) is its own:

* ``json.load``: what reading the file the usual way holds (TinyDB's own
  ``JSONStorage.read`` does this), for comparison;
* ``sqlite``: the import into a sqlite tenant (the function the command runs: read,
  map, write in pages of 100, checkpoint each page, verify by a scan at the end);
* ``dynamodb``: the same into DynamoDB (moto server, in a process of its own), with
  ``--dynamodb-docs`` documents (moto is slow);
* ``resume``: the sqlite import interrupted after 20 pages, then resumed: pages
  written by each run.

Figures: documents/s and MiB/s (of the file) of the whole import, and the peak RSS
above the interpreter's resident set once the tenant is resolved.

    uv run python bench/tinydb_import.py [--docs 100000] [--dynamodb-docs 5000] [--big-kib 2048]
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

MIB = 1024 * 1024
TABLES = ("_default", "orders", "users")


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _write_db(path: Path, docs: int, big_kib: int) -> None:
    from tinydb import TinyDB

    db = TinyDB(path)
    for index, name in enumerate(TABLES):
        db.table(name).insert_multiple(
            {
                "n": n,
                "title": f"document {n} — ünïcode ✓",
                "owner": f"user{n % 500}@example.com",
                "tags": ["alpha", "beta", "gamma"][: n % 4],
                "nested": {"a": {"b": [n, n * 2, {"c": "x" * 40}]}},
                "ratio": n / 7,
                "body": "lorem ipsum " * 8,
            }
            for n in range(index, docs, len(TABLES))
        )
    db.table("files").insert({"owner": "big@example.com", "blob": "z" * (big_kib * 1024)})
    db.close()


def _tenant(work: Path) -> Any:
    from tenantkit.resolver import Resolver
    from tenantkit.sources import DirectorySource

    resolver = Resolver(DirectorySource(work / "tenants"), signing_key=b"k" * 32)
    tenant = resolver.resolve("acme")
    tenant.provider_instance("db").ensure_schema(tenant.schema)
    return tenant


def _setup(case: str, endpoint: str, options: dict[str, int]) -> str:
    work = Path(tempfile.mkdtemp(prefix="tinydb-import-"))
    docs = options["dynamodb_docs"] if case == "dynamodb" else options["docs"]
    _write_db(work / "legacy.json", docs, options["big_kib"])
    db: dict[str, Any] = {"provider": "sqlite", "path": str(work / "acme.sqlite3")}
    if case == "dynamodb":
        db = {
            "provider": "dynamodb",
            "table": f"acme-{secrets.token_hex(4)}",
            "region": "us-east-1",
            "endpoint_url": endpoint,
        }
    (work / "tenants").mkdir()
    secret = {
        "schema_version": 1,
        "tenant_id": "acme",
        "db": db,
        "storage": {"provider": "local", "root": str(work / "objects"), "signing_key": "k" * 20},
        "llm": {"provider": "echo"},
    }
    (work / "tenants" / "acme.json").write_text(json.dumps(secret))
    return str(work)


def _json_load(work: Path) -> dict[str, Any]:
    path = work / "legacy.json"
    baseline = _status("VmRSS")
    started = time.perf_counter()
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    seconds = time.perf_counter() - started
    count = sum(len(table) for table in data.values())
    return {
        "case": "json.load",
        "docs": count,
        "file_mib": round(path.stat().st_size / MIB, 1),
        "seconds": round(seconds, 2),
        "peak_rss_above_baseline_mib": round((_status("VmHWM") - baseline) / MIB, 1),
    }


def _import(case: str, work: Path) -> dict[str, Any]:
    from tenantkit.lifecycle.mapping import MappingFile
    from tenantkit.lifecycle.progress import Progress
    from tenantkit.lifecycle.tinydb_import import import_tinydb
    from tenantkit.scoped import TenantDatabase

    tenant = _tenant(work)
    path = work / "legacy.json"
    mapping = MappingFile.model_validate(
        {"tables": {"_default": {"collection": "notes"}, "orders": {"pk": "owner", "sk": "$id"}}}
    )
    real_restore = TenantDatabase.restore
    pages: list[int] = []
    interrupt = [case == "resume"]

    def counting(self: Any, collection: str, items: Any) -> None:
        if interrupt[0] and len(pages) == 20:
            raise KeyboardInterrupt  # Ctrl-C, or the process killed, after 20 pages
        real_restore(self, collection, items)
        pages.append(len(items))

    TenantDatabase.restore = counting  # type: ignore[method-assign]

    def run(resume: bool) -> Any:
        return import_tinydb(
            tenant,
            path,
            mapping,
            checkpoint=work / "checkpoint",
            report=work / "rejected.jsonl",
            progress=Progress("migrate tinydb", quiet=True),
            resume=resume,
        )

    first_run: dict[str, int] = {}
    if case == "resume":
        try:
            run(resume=False)
        except KeyboardInterrupt:
            first_run = {"pages": len(pages), "docs": sum(pages)}
            pages.clear()
            interrupt[0] = False
    baseline = _status("VmRSS")
    started = time.perf_counter()
    summary = run(resume=case == "resume")
    seconds = time.perf_counter() - started
    size = path.stat().st_size
    return {
        "case": case,
        "docs": summary.written.count,
        "rejected": summary.rejected,
        "file_mib": round(size / MIB, 1),
        "seconds": round(seconds, 2),
        "docs_per_s": round(sum(pages) / seconds, 1),  # written by this run
        "mib_per_s": round(size / MIB / seconds, 2),
        "peak_rss_above_baseline_mib": round((_status("VmHWM") - baseline) / MIB, 1),
        "verified": summary.verified,
        "first_run": first_run,
        "resumed_run": {"pages": len(pages), "docs": sum(pages)} if first_run else {},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--dynamodb-docs", type=int, default=5_000)
    parser.add_argument("--big-kib", type=int, default=2048)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    options = {"docs": args.docs, "dynamodb_docs": args.dynamodb_docs, "big_kib": args.big_kib}
    if args.child == "setup":
        print(_setup(args.case, args.endpoint, options))
        return
    if args.child == "json.load":
        print(json.dumps(_json_load(Path(args.work))))
        return
    if args.child:
        print(json.dumps(_import(args.child, Path(args.work))))
        return
    from _moto import moto_server

    sizes = ["--docs", str(args.docs), "--dynamodb-docs", str(args.dynamodb_docs)]
    sizes += ["--big-kib", str(args.big_kib)]

    def child(*extra: str) -> str:
        command = [sys.executable, __file__, *sizes, *extra]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()

    with moto_server() as endpoint:
        sqlite_work = child("--child", "setup", "--case", "sqlite", "--endpoint", endpoint)
        print(child("--child", "json.load", "--work", sqlite_work))
        print(child("--child", "sqlite", "--work", sqlite_work))
        resume_work = child("--child", "setup", "--case", "resume", "--endpoint", endpoint)
        print(child("--child", "resume", "--work", resume_work))
        dynamo_work = child("--child", "setup", "--case", "dynamodb", "--endpoint", endpoint)
        print(child("--child", "dynamodb", "--work", dynamo_work))


if __name__ == "__main__":
    main()
