"""Resolving a tenant whose configuration and provider instances are cached.

    uv run python bench/tenant_resolution.py [--calls 20000] [--tenants 200]

Tenants live in a directory source on the embedded providers (sqlite, local, echo).
Side by side in one run:

* ``resolve`` warm, one tenant: configuration and provider instances cached (the
  tenant's ``db``, ``llm`` and ``storage`` were used once), as on every invocation
  of a warm Lambda container;
* ``resolve`` warm, ``--tenants`` tenants in the cache, asked round robin;
* ``resolve`` after ``invalidate``: the secret is read and merged again, validated
  by the (already imported) plugins' settings models, and a new ``Tenant`` is made;
* ``resolve`` after ``invalidate``, then the first ``db`` call: the same plus
  building the provider instance (a new sqlite connection) and one ``get``.

Each call is timed on its own (``perf_counter_ns``); medians and p90 are reported,
and the warm figure is cross-checked against a plain loop's mean.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tenantkit import DirectorySource, Resolver


def write_tenants(directory: Path, count: int) -> list[str]:
    """``count`` tenants sharing one sqlite file and one storage directory."""
    config, data = directory / "config", directory / "data"
    config.mkdir(parents=True)
    data.mkdir()
    defaults = {
        "schema_version": 1,
        "db": {"provider": "sqlite", "path": str(data / "tenants.sqlite3")},
        "storage": {
            "provider": "local",
            "root": str(data / "objects"),
            "signing_key": "bench-presign-key-0123456789",
        },
        "llm": {"provider": "echo"},
    }
    (config / "defaults.json").write_text(json.dumps(defaults))
    tenants = [f"tenant-{i:04d}" for i in range(count)]
    for tenant_id in tenants:
        (config / f"{tenant_id}.json").write_text(
            json.dumps({"schema_version": 1, "tenant_id": tenant_id, "plan": "standard"})
        )
    return tenants


def _percentiles(samples_ns: list[int]) -> tuple[float, float]:
    ordered = sorted(samples_ns)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return statistics.median(ordered) / 1000, p90 / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--tenants", type=int, default=200)
    args = parser.parse_args()
    logging.disable(logging.WARNING)

    work = Path(tempfile.mkdtemp(prefix="tenantkit-bench-resolve-"))
    resolver: Resolver | None = None
    try:
        tenants = write_tenants(work, args.tenants)
        resolver = Resolver(
            DirectorySource(work / "config"), signing_key=b"bench" * 8, max_tenants=1024
        )
        first = tenants[0]
        for tenant_id in tenants:
            resolver.resolve(tenant_id)
        tenant = resolver.resolve(first)
        tenant.db.put("notes", {"pk": "u1", "sk": "n1", "text": "hello"})
        tenant.storage.put("hello.txt", b"hello")
        tenant.llm.chat(messages=[{"role": "user", "content": "hello"}])
        resolve = resolver.resolve

        def warm_one() -> int:
            started = time.perf_counter_ns()
            resolve(first)
            return time.perf_counter_ns() - started

        rotation = iter(range(10**12))

        def warm_many() -> int:
            tenant_id = tenants[next(rotation) % len(tenants)]
            started = time.perf_counter_ns()
            resolve(tenant_id)
            return time.perf_counter_ns() - started

        def after_invalidate() -> int:
            resolver.invalidate(first)
            started = time.perf_counter_ns()
            resolve(first)
            return time.perf_counter_ns() - started

        def after_invalidate_db() -> int:
            resolver.invalidate(first)
            started = time.perf_counter_ns()
            resolve(first).db.get("notes", "u1", "n1")
            return time.perf_counter_ns() - started

        cold_calls = max(200, args.calls // 50)
        variants: dict[str, tuple[Callable[[], int], int]] = {
            "resolve warm, 1 tenant": (warm_one, args.calls),
            f"resolve warm, {args.tenants} tenants round robin": (warm_many, args.calls),
            "resolve after invalidate (config re-read)": (after_invalidate, cold_calls),
            "  ... then first db.get (new connection)": (after_invalidate_db, cold_calls),
        }
        samples: dict[str, list[int]] = {name: [] for name in variants}
        rounds = 20
        for _ in range(rounds):  # interleaved in rounds, so noise hits every variant
            for name, (variant, calls) in variants.items():
                samples[name] += [variant() for _ in range(calls // rounds)]

        started = time.perf_counter_ns()
        for _ in range(args.calls):
            resolve(first)
        loop_mean = (time.perf_counter_ns() - started) / args.calls / 1000
    finally:
        if resolver is not None:
            resolver.close()
        shutil.rmtree(work, ignore_errors=True)

    print(f"tenant resolution: {args.tenants} tenants on sqlite/local/echo, directory source")
    figures = {name: _percentiles(s) for name, s in samples.items()}
    width = max(map(len, figures))
    print(f"{'':{width}}  {'calls':>6}  {'median µs':>10}  {'p90 µs':>8}")
    for name, (median, p90) in figures.items():
        print(f"{name:{width}}  {len(samples[name]):6d}  {median:10.2f}  {p90:8.2f}")
    warm = figures["resolve warm, 1 tenant"][0]
    cold = figures["resolve after invalidate (config re-read)"][0]
    print(f"plain loop mean of warm resolve: {loop_mean:.2f} µs")
    print(f"after invalidate / warm: {cold / warm:.0f}x")
    print(f"warm median {warm:.2f} µs (target <= 20 µs): {'met' if warm <= 20 else 'MISSED'}")


if __name__ == "__main__":
    main()
