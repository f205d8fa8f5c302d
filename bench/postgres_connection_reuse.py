"""Warm-invocation connection reuse: a simulated Lambda container making 100 calls.

A throwaway PostgreSQL server is started on 127.0.0.1 (the test harness's). Each
simulated container handles 100 invocations, each reading one item:

* ``reused``: one :class:`PostgresDatabase` for the container, as the core caches the
  tenant's provider instance while the container is warm; the first invocation
  connects, the 2nd..100th reuse the pooled connection;
* ``per call``: a new provider instance per invocation, closed at its end (connect,
  schema check, read, disconnect);
* ``raw per call``: the least a connection-per-call client does (``psycopg.connect``,
  one ``SELECT``, close).

Containers of the three kinds alternate; figures are medians over the 2nd..100th
invocations of every container (and of the 1st, the cold start), in microseconds.
Loopback connections without TLS are the cheapest there are: against RDS over TLS
(and with IAM token signing) a new connection costs several milliseconds more.

    uv run python bench/postgres_connection_reuse.py [--containers 5] [--calls 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tenantkit import Key, Schema
from tenantkit.registry import ProviderContext
from tenantkit_db_postgres import PostgresDatabase, PostgresSettings
from testharness.postgres import PostgresServer

NS = "bench"
KEY = Key(pk="user", sk="profile")


def _provider(dsn: str) -> PostgresDatabase:
    context = ProviderContext(tenant_id=NS, provider="postgres", schema=Schema())
    return PostgresDatabase(PostgresSettings.model_validate({"dsn": dsn}), context)


def _container(kind: str, dsn: str, calls: int) -> list[float]:
    """Per-invocation times (µs) of one simulated container."""
    times: list[float] = []
    invoke: Callable[[], object]
    shared = _provider(dsn) if kind == "reused" else None

    def reused() -> object:
        assert shared is not None
        return shared.get(NS, "users", KEY)

    def per_call() -> object:
        db = _provider(dsn)
        try:
            return db.get(NS, "users", KEY)
        finally:
            db.close()

    def raw_per_call() -> object:
        with psycopg.connect(dsn, autocommit=True) as conn:
            return conn.execute(
                "SELECT data FROM tenantkit_items WHERE ns = %s AND collection = %s"
                " AND pk = %s AND sk = %s",
                (NS, "users", KEY.pk, KEY.sk),
            ).fetchone()

    invoke = {"reused": reused, "per call": per_call, "raw per call": raw_per_call}[kind]
    try:
        for _ in range(calls):
            start = time.perf_counter()
            found = invoke()
            times.append((time.perf_counter() - start) * 1e6)
            assert found is not None
    finally:
        if shared is not None:
            shared.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--containers", type=int, default=5)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()

    kinds = ["reused", "per call", "raw per call"]
    cold: dict[str, list[float]] = {k: [] for k in kinds}
    warm: dict[str, list[float]] = {k: [] for k in kinds}
    server = PostgresServer()
    server.start()
    try:
        dsn = server.create_database("bench")
        setup = _provider(dsn)
        setup.ensure_schema(Schema())
        setup.put(NS, "users", {"pk": KEY.pk, "sk": KEY.sk, "name": "Ada"})
        setup.close()
        _container("per call", dsn, 5)  # warm the server's caches
        for c in range(args.containers):
            for kind in kinds[c % 3 :] + kinds[: c % 3]:
                times = _container(kind, dsn, args.calls)
                cold[kind].append(times[0])
                warm[kind].extend(times[1:])
    finally:
        server.stop()

    base = statistics.median(warm["reused"])
    print(f"median µs per invocation, {args.containers} containers x {args.calls} calls each")
    print(f"{'client':<14}{'1st call':>10}{'2nd..nth':>10}{'vs reused':>11}")
    for kind in kinds:
        w = statistics.median(warm[kind])
        print(f"{kind:<14}{statistics.median(cold[kind]):>10.0f}{w:>10.0f}{w / base:>10.1f}x")


if __name__ == "__main__":
    main()
