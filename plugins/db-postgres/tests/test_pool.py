"""The per-tenant pool: lazy, bounded, reused across calls (warm Lambda invocations)."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from tenantkit import Key, errors
from tenantkit.registry import ProviderContext
from tenantkit.retry import NO_RETRY
from tenantkit_db_postgres import PostgresDatabase, PostgresSettings, _connections

if TYPE_CHECKING:
    from .conftest import MakeDatabase, Scope


def _backends(admin: psycopg.Connection[Any]) -> list[int]:
    rows = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'tenantkit'"
        " AND datname = current_database() ORDER BY pid"
    ).fetchall()
    return [pid for (pid,) in rows]


def _settled(admin: psycopg.Connection[Any], count: int) -> list[int]:
    """The backends once ``count`` remain: a closed connection's backend exits a moment
    after the client hangs up."""
    deadline = time.monotonic() + 5
    while len(found := _backends(admin)) != count and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def test_no_connection_before_the_first_call(
    make_db: MakeDatabase, admin: psycopg.Connection[Any]
) -> None:
    assert _settled(admin, 0) == []  # none left over from earlier tests
    make_db()
    time.sleep(0.2)
    assert _backends(admin) == []


def test_sequential_calls_reuse_one_connection(
    make_db: MakeDatabase, scope: Scope, admin: psycopg.Connection[Any]
) -> None:
    tenant = scope(make_db())
    tenant.put("notes", {"pk": "p"})
    first = _backends(admin)
    for i in range(100):
        tenant.get("notes", "p")
        tenant.put("notes", {"pk": "p", "i": i})
    assert _backends(admin) == first
    assert len(first) == 1


def test_concurrent_calls_never_exceed_the_pool_size(
    make_db: MakeDatabase, scope: Scope, admin: psycopg.Connection[Any]
) -> None:
    tenant = scope(make_db(pool_size=2))
    tenant.put("notes", {"pk": "p"})
    seen: set[int] = set()
    stop = threading.Event()

    def watch() -> None:
        with psycopg.connect(admin.info.dsn, autocommit=True) as conn:
            while not stop.is_set():
                seen.update(_backends(conn))

    watcher = threading.Thread(target=watch)
    watcher.start()
    workers = [
        threading.Thread(target=lambda: [tenant.get("notes", "p") for _ in range(30)])
        for _ in range(6)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    stop.set()
    watcher.join(10)
    assert 1 <= len(seen) <= 2


def test_close_releases_every_connection(
    make_db: MakeDatabase, scope: Scope, admin: psycopg.Connection[Any]
) -> None:
    db = make_db()
    scope(db).put("notes", {"pk": "p"})
    assert len(_backends(admin)) == 1
    db.close()
    assert _settled(admin, 0) == []
    db.close()  # idempotent
    with pytest.raises(errors.ProviderError, match="closed"):
        db.get("acme", "notes", Key(pk="p"))


def test_idle_connections_still_close_after_max_idle(
    make_db: MakeDatabase,
    scope: Scope,
    admin: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A connection kept between calls goes back to the pool once its lease is over,
    # and the pool then closes it after max_idle as if it had never been kept.
    monkeypatch.setattr(_connections, "LEASE", 0.1)
    tenant = scope(make_db(max_idle=0.3))
    tenant.put("notes", {"pk": "p"})
    assert len(_backends(admin)) == 1
    assert _settled(admin, 0) == []
    tenant.get("notes", "p")  # and a new one opens when needed
    assert len(_backends(admin)) == 1


def test_callers_waiting_for_a_connection_get_the_kept_ones(
    make_db: MakeDatabase,
    scope: Scope,
    admin: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One connection for six threads: each call either reuses the connection another
    # thread just finished with or waits for it, and a waiting call is handed the
    # connection when it is given back: none waits out the timeout (much shorter than
    # a lease, so a connection kept while someone waits would show).
    monkeypatch.setattr(_connections, "LEASE", 60.0)
    tenant = scope(make_db(pool_size=1, connect_timeout=1), retry=NO_RETRY)
    tenant.put("notes", {"pk": "p"})
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for i in range(40):
                tenant.put("notes", {"pk": "p", "i": i})
                assert tenant.get("notes", "p") is not None
        except BaseException as exc:  # reported below
            failures.append(exc)

    workers = [threading.Thread(target=work) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert failures == []
    assert len(_backends(admin)) == 1


def test_an_unclosed_database_can_be_garbage_collected(
    pg_dsn: str, schema_name: str, admin: psycopg.Connection[Any]
) -> None:
    settings = PostgresSettings.model_validate({"dsn": pg_dsn, "schema_name": schema_name})
    db = PostgresDatabase(settings, ProviderContext(tenant_id="acme", provider="postgres"))
    db.put("acme", "notes", {"pk": "p"})
    ref = weakref.ref(db)
    del db
    gc.collect()
    assert ref() is None
    assert _settled(admin, 0) == []
