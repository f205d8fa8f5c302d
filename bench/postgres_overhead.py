"""Overhead of the ``postgres`` provider against raw psycopg running the same statements.

A throwaway PostgreSQL server is started on 127.0.0.1 (the test harness's), and three
clients run the same operations against it, in interleaved blocks so that noise hits them alike:

* ``raw``: one psycopg connection (autocommit) running hand-written statements for the
  same operations on the same table (same filters, ordering, limit and upsert; rows
  of plain columns with the JSONB decoded by psycopg; the provider's default
  ``statement_timeout``): the least any client must do;
* ``provider``: :class:`PostgresDatabase` called directly (connection checkout,
  liveness check, parameter building, result decoding into ``Item``/``Page``; the
  caller builds the ``Key`` and ``TxPut`` arguments the interface takes);
* ``tenant``: the same through :class:`TenantDatabase`, as application code calls it
  (validation, cursor signing, isolation checks, retry wrapper).

Operations: ``put`` (unconditional), ``get``, ``query`` (a page of 100 items) and
``tx10`` (a transactional write of 10 items). A run times ``--blocks`` blocks of
``--block`` calls of each client and operation; the figure of a run is the median over
its calls, in microseconds, and its ratio is against ``raw`` in the same run. The
report gives, over ``--runs`` runs, the median of those figures and the range of the
ratios, and the wrapper's own cost (``tenant`` minus ``provider``, in µs). Target:
provider ≤ 1.2.

    uv run python bench/postgres_overhead.py [--runs 5] [--blocks 15] [--block 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tenantkit import Key, Schema, TenantDatabase, TxPut
from tenantkit.cursors import CursorSigner
from tenantkit.db import new_version
from tenantkit.registry import ProviderContext
from tenantkit_db_postgres import PostgresDatabase, PostgresSettings
from testharness.postgres import PostgresServer

NS = "bench"
COLLECTION = "notes"
FIELDS = {"title": "a note", "body": "x" * 200, "tags": ["a", "b"], "n": 1}


RAW_PUT = (
    "INSERT INTO tenantkit_items (ns, collection, pk, sk, data, version, expires_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, NULL) ON CONFLICT (ns, collection, pk, sk)"
    " DO UPDATE SET data = EXCLUDED.data, version = EXCLUDED.version,"
    " expires_at = EXCLUDED.expires_at RETURNING expires_at"
)
RAW_GET = (
    "SELECT pk, sk, data, version, expires_at FROM tenantkit_items"
    " WHERE ns = %s AND collection = %s AND pk = %s AND sk = %s"
    " AND (expires_at IS NULL OR expires_at > statement_timestamp())"
)
RAW_QUERY = (
    "SELECT pk, sk, data, version, expires_at FROM tenantkit_items"
    " WHERE ns = %s AND collection = %s AND pk = %s"
    " AND (expires_at IS NULL OR expires_at > statement_timestamp()) ORDER BY sk LIMIT %s"
)


def _raw(conn: psycopg.Connection[Any]) -> dict[str, Callable[[int], object]]:
    """Hand-written psycopg for the same operations: plain columns, JSONB decoded by
    psycopg, nothing else."""

    def put(i: int) -> object:
        params = (NS, COLLECTION, "raw-put", str(i % 50), Jsonb(FIELDS), new_version())
        return conn.execute(RAW_PUT, params).fetchone()

    def get(i: int) -> object:
        return conn.execute(RAW_GET, (NS, COLLECTION, "page", f"{i % 100:03}")).fetchone()

    def query(i: int) -> object:
        return conn.execute(RAW_QUERY, (NS, COLLECTION, "page", 101)).fetchall()

    def tx10(i: int) -> object:
        with conn.transaction():
            for j in range(10):
                params = (NS, COLLECTION, "raw-tx", f"{i % 20}-{j}", Jsonb(FIELDS), new_version())
                conn.execute(RAW_PUT, params).fetchone()
        return None

    return {"put": put, "get": get, "query": query, "tx10": tx10}


def _provider(db: PostgresDatabase) -> dict[str, Callable[[int], object]]:
    return {
        "put": lambda i: db.put(NS, COLLECTION, {"pk": "prov-put", "sk": str(i % 50), **FIELDS}),
        "get": lambda i: db.get(NS, COLLECTION, Key(pk="page", sk=f"{i % 100:03}")),
        "query": lambda i: db.query(NS, COLLECTION, "page", limit=100),
        "tx10": lambda i: db.transact_write(
            NS,
            [
                TxPut(
                    collection=COLLECTION, item={"pk": "prov-tx", "sk": f"{i % 20}-{j}", **FIELDS}
                )
                for j in range(10)
            ],
        ),
    }


def _tenant(tenant: TenantDatabase) -> dict[str, Callable[[int], object]]:
    return {
        "put": lambda i: tenant.put(COLLECTION, {"pk": "ten-put", "sk": str(i % 50), **FIELDS}),
        "get": lambda i: tenant.get(COLLECTION, "page", f"{i % 100:03}"),
        "query": lambda i: tenant.query(COLLECTION, "page", limit=100),
        "tx10": lambda i: tenant.transact_write(
            [
                TxPut(collection=COLLECTION, item={"pk": "ten-tx", "sk": f"{i % 20}-{j}", **FIELDS})
                for j in range(10)
            ]
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--blocks", type=int, default=15)
    parser.add_argument("--block", type=int, default=20)
    args = parser.parse_args()

    server = PostgresServer()
    server.start()
    try:
        dsn = server.create_database("bench")
        context = ProviderContext(tenant_id=NS, provider="postgres", schema=Schema())
        db = PostgresDatabase(PostgresSettings.model_validate({"dsn": dsn}), context)
        db.ensure_schema(Schema())
        db.batch_put(
            NS, COLLECTION, [{"pk": "page", "sk": f"{i:03}", **FIELDS} for i in range(100)]
        )
        tenant = TenantDatabase(
            db,
            tenant_id=NS,
            provider="postgres",
            capabilities=frozenset(str(c) for c in db.capabilities),
            signer=CursorSigner(b"bench-cursor-signing-key-0123456789"),
        )
        with psycopg.connect(dsn, autocommit=True) as conn:
            # The same session settings as the provider's pooled connections.
            conn.execute("SELECT set_config('statement_timeout', '30000', false)")
            clients = {
                "raw": _raw(conn),
                "provider": _provider(db),
                "tenant": _tenant(tenant),
            }
            runs = [_measure(clients, args.blocks, args.block) for _ in range(args.runs)]
        db.close()
    finally:
        server.stop()
    _report(runs, args.blocks * args.block)


def _measure(
    clients: dict[str, dict[str, Callable[[int], object]]], blocks: int, block: int
) -> dict[str, dict[str, list[float]]]:
    """Time ``block`` consecutive calls of one client and operation at a time (so every
    client meets its server backend equally warm), rotating the clients' order from
    block to block. The first block of each is a warm-up and not recorded."""
    ops = list(next(iter(clients.values())))
    times: dict[str, dict[str, list[float]]] = {c: {op: [] for op in ops} for c in clients}
    order = list(clients)
    n = 0
    for b in range(blocks + 1):
        order = order[1:] + order[:1]
        for op in ops:
            for client in order:
                fn = clients[client][op]
                for _ in range(block):
                    n += 1
                    start = time.perf_counter()
                    fn(n)
                    elapsed = time.perf_counter() - start
                    if b > 0:
                        times[client][op].append(elapsed * 1e6)
    return times


def _report(runs: list[dict[str, dict[str, list[float]]]], calls: int) -> None:
    medians = [
        {client: {op: statistics.median(t) for op, t in ops.items()} for client, ops in run.items()}
        for run in runs
    ]
    print(
        f"median µs per call over {len(runs)} runs of {calls} calls each"
        " (ratio to raw psycopg: median, min-max over the runs)"
    )
    print(f"{'operation':<10}{'raw':>6}{'provider':>26}{'tenant':>26}{'tenant-provider':>18}")
    for op in runs[0]["raw"]:
        line = f"{op:<10}{statistics.median(m['raw'][op] for m in medians):>6.0f}"
        for client in ("provider", "tenant"):
            us = statistics.median(m[client][op] for m in medians)
            ratios = [m[client][op] / m["raw"][op] for m in medians]
            cell = (
                f"{us:.0f} ({statistics.median(ratios):.2f}, {min(ratios):.2f}-{max(ratios):.2f})"
            )
            line += f"{cell:>26}"
        wrapper = statistics.median(m["tenant"][op] - m["provider"][op] for m in medians)
        print(f"{line}{wrapper:>15.0f} µs")


if __name__ == "__main__":
    main()
