"""Throughput and peak memory of ``tenantkit tenant copy``, and what a resumed copy redoes.

Three cases, each in a fresh interpreter so that its peak resident set (``VmHWM``) is
its own; the moto server runs in a process of its own:

* ``items``: sqlite (a file) → DynamoDB (moto), ``--items`` items of about 200 bytes
  in three collections; bulk copy, one catch-up round and the verification.
* ``objects``: S3 (moto) → local storage, ``--objects`` objects of 256 KiB and one of
  ``--big-mib`` MiB (memory must not grow with it).
* ``resume``: the ``items`` copy interrupted after 5 finished pages (the target fails),
  then run again from its checkpoint: pages and items written by each run.

Figures: items/s and MiB/s of the whole command (bulk + catch-up + verification) and of
the bulk phase alone; peak RSS above the interpreter's baseline after imports.

    uv run python bench/tenant_copy.py [--items 5000] [--objects 40] [--big-mib 64]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

MIB = 1024 * 1024


def _hwm() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmHWM not in /proc/self/status")


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not in /proc/self/status")


def _secrets(work: Path, endpoint: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    local = {
        "schema_version": 1,
        "tenant_id": "acme",
        "db": {"provider": "sqlite", "path": str(work / "acme.sqlite3")},
        "storage": {"provider": "local", "root": str(work / "objects"), "signing_key": "k" * 20},
        "llm": {"provider": "echo"},
    }
    aws_db = {
        "provider": "dynamodb",
        "table": f"acme-{secrets.token_hex(4)}",
        "region": "us-east-1",
        "endpoint_url": endpoint,
    }
    s3 = {
        "provider": "s3",
        "bucket": f"acme-{secrets.token_hex(4)}",
        "region": "us-east-1",
        "endpoint_url": endpoint,
    }
    return local, {**local, "db": aws_db}, {**local, "storage": s3}


def _tenants(work: Path) -> tuple[Any, Any]:
    from tenantkit.resolver import Resolver
    from tenantkit.sources import DirectorySource

    key = bytes.fromhex((work / "key").read_text())
    source = Resolver(DirectorySource(work / "src"), signing_key=key).resolve("acme")
    target = Resolver(DirectorySource(work / "dst"), signing_key=key).resolve("acme")
    return source, target


def _seed(case: str, endpoint: str, options: dict[str, int]) -> str:
    """Make the source tenant (in this process, so its memory is not the copy's)."""
    import boto3

    work = Path(tempfile.mkdtemp(prefix="tenant-copy-"))
    local, to_dynamodb, on_s3 = _secrets(work, endpoint)
    source_doc, target_doc = (on_s3, local) if case == "objects" else (local, to_dynamodb)
    if case == "objects":
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=on_s3["storage"]["bucket"])
    (work / "src").mkdir()
    (work / "src" / "acme.json").write_text(json.dumps(source_doc))
    (work / "dst").mkdir()
    (work / "dst" / "acme.json").write_text(json.dumps(target_doc))
    (work / "key").write_text(secrets.token_hex(32))
    source, target = _tenants(work)
    target.provider_instance("db").ensure_schema(target.schema)
    if case == "objects":
        chunk = os.urandom(256 * 1024)
        for n in range(options["objects"]):
            source.storage.put(f"files/{n:04d}.bin", chunk)
        source.storage.put("big/blob", (os.urandom(MIB) for _ in range(options["big_mib"])))
    else:
        for start in range(0, options["items"], 100):
            for collection in ("notes", "events", "profiles"):
                batch = [
                    {"pk": f"u{n % 50}", "sk": f"{collection}-{n:07d}", "text": "x" * 150, "n": n}
                    for n in range(start, min(start + 100, options["items"]))
                    if n % 3 == ("notes", "events", "profiles").index(collection)
                ]
                source.db.batch_put(collection, batch)
    return str(work)


def _copy(case: str, work: Path) -> dict[str, Any]:
    from tenantkit.lifecycle.copy import Checkpoint, copy_tenant
    from tenantkit.lifecycle.progress import Progress

    source, target = _tenants(work)
    key = bytes.fromhex((work / "key").read_text())
    checkpoint = Checkpoint(work / "checkpoint.json", "acme", "bench", signing_key=key)
    target_db = type(target.provider_instance("db"))
    real_restore = target_db.restore
    written: list[int] = []

    def counting(self: Any, ns: str, collection: str, items: Any) -> None:
        if case == "resume" and len(written) == 5 and not resumed:
            raise KeyboardInterrupt  # Ctrl-C, or the process killed, after 5 pages
        real_restore(self, ns, collection, items)
        written.append(len(items))

    target_db.restore = counting  # type: ignore[method-assign]
    resumed = False
    first_run: dict[str, int] = {}
    if case == "resume":
        try:
            copy_tenant(source, target, checkpoint, Progress("copy", quiet=True))
        except KeyboardInterrupt:
            first_run = {"pages": len(written), "items": sum(written)}
            checkpoint = Checkpoint.open(checkpoint.path, "acme", "bench")
            written.clear()
            resumed = True
    baseline = _rss()
    progress = Progress("copy", quiet=True)
    started = time.perf_counter()
    summary = copy_tenant(source, target, checkpoint, progress)
    seconds = time.perf_counter() - started
    moved_bytes = summary.objects.bytes if case == "objects" else progress.bytes
    return {
        "case": case,
        "items": summary.items.count,
        "objects": summary.objects.count,
        "mib": round(moved_bytes / MIB, 2),
        "seconds": round(seconds, 2),
        "items_per_s": round((summary.items.count + summary.objects.count) / seconds, 1),
        "mib_per_s": round(moved_bytes / MIB / seconds, 2),
        "peak_rss_above_baseline_mib": round((_hwm() - baseline) / MIB, 1),
        "verified": summary.verified,
        "first_run": first_run,
        "resumed_run": {"pages": len(written), "items": sum(written)} if resumed else {},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--objects", type=int, default=40)
    parser.add_argument("--big-mib", type=int, default=64)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    options = {"items": args.items, "objects": args.objects, "big_mib": args.big_mib}
    if args.child == "seed":
        print(_seed(args.case, args.endpoint, options))
        return
    if args.child:
        print(json.dumps(_copy(args.child, Path(args.work))))
        return
    from _moto import moto_server

    sizes = ["--items", str(args.items), "--objects", str(args.objects)]
    sizes += ["--big-mib", str(args.big_mib)]

    def child(*extra: str) -> str:
        command = [sys.executable, __file__, *sizes, *extra]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()

    with moto_server() as endpoint:
        for case in ("items", "objects", "resume"):
            work = child("--child", "seed", "--case", case, "--endpoint", endpoint)
            print(child("--child", case, "--work", work))


if __name__ == "__main__":
    main()
