"""Concurrent writers: conditional writes race in the database, not in Python."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from psycopg import sql

from tenantkit import IfAbsent, IfVersion, Schema, errors
from tenantkit.retry import NO_RETRY

if TYPE_CHECKING:
    from .conftest import MakeDatabase, Scope

pytestmark = pytest.mark.timeout(120)

THREADS = 6
ROUNDS = 15


def _race(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run ``fn(0..n-1)`` on ``n`` threads released at the same moment."""
    start = threading.Barrier(n)

    def run(i: int) -> Any:
        start.wait(10)
        try:
            return fn(i)
        except errors.ConditionFailed as exc:
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_exactly_one_versioned_write_wins_each_round(make_db: MakeDatabase, scope: Scope) -> None:
    tenant = scope(make_db(pool_size=THREADS), retry=NO_RETRY)
    current = tenant.put("notes", {"pk": "doc", "round": -1, "writer": None})
    for round_ in range(ROUNDS):
        expected = current.version
        results = _race(
            THREADS,
            lambda i, r=round_, v=expected: tenant.put(
                "notes", {"pk": "doc", "round": r, "writer": i}, condition=IfVersion(version=v)
            ),
        )
        winners = [r for r in results if not isinstance(r, errors.ConditionFailed)]
        assert len(winners) == 1, results
        current = tenant.get("notes", "doc")  # type: ignore[assignment]
        assert current is not None
        assert current.version == winners[0].version
        assert current.data == {"round": round_, "writer": winners[0].data["writer"]}


def test_exactly_one_create_wins_each_round(make_db: MakeDatabase, scope: Scope) -> None:
    tenant = scope(make_db(pool_size=THREADS), retry=NO_RETRY)
    for round_ in range(ROUNDS):
        results = _race(
            THREADS,
            lambda i, r=round_: tenant.put(
                "claims", {"pk": f"slot-{r}", "owner": i}, condition=IfAbsent()
            ),
        )
        winners = [r for r in results if not isinstance(r, errors.ConditionFailed)]
        assert len(winners) == 1, results
        stored = tenant.get("claims", f"slot-{round_}")
        assert stored is not None
        assert stored.data["owner"] == winners[0].data["owner"]


def test_increments_from_many_threads_all_count(make_db: MakeDatabase, scope: Scope) -> None:
    tenant = scope(make_db(pool_size=4), retry=NO_RETRY)
    tenant.put("counters", {"pk": "hits", "n": 0})
    per_thread = 25
    _race(
        THREADS,
        lambda _: [
            tenant.update("counters", "hits", increment={"n": 1}) for _ in range(per_thread)
        ],
    )
    assert tenant.get("counters", "hits").data == {"n": THREADS * per_thread}  # type: ignore[union-attr]


def test_concurrent_ensure_schema_applies_each_step_once(
    make_db: MakeDatabase, pg_dsn: str, schema_name: str
) -> None:
    schema = Schema()
    dbs = [make_db(schema=schema) for _ in range(THREADS)]
    _race(THREADS, lambda i: dbs[i].ensure_schema(dbs[i]._context.schema))
    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute(
            sql.SQL("SELECT id FROM {}").format(sql.Identifier(schema_name, "tenantkit_migrations"))
        ).fetchall()
    assert rows == [("0001-items",)]
