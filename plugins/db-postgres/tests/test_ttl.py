"""Item expiry: invisible to every read once expired, removed lazily."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from psycopg import sql

from tenantkit import (
    IfAbsent,
    IfExists,
    Key,
    SortKey,
    TenantDatabase,
    TxCheck,
    TxPut,
    TxUpdate,
    errors,
)
from tenantkit_db_postgres import PostgresDatabase

if TYPE_CHECKING:
    pass

TTL = 1.0


def _stored(admin: psycopg.Connection[Any], schema_name: str) -> list[str]:
    rows = admin.execute(
        sql.SQL("SELECT pk FROM {} ORDER BY pk").format(
            sql.Identifier(schema_name, "tenantkit_items")
        )
    ).fetchall()
    return [pk for (pk,) in rows]


def _wait_until_expired(*items: Any) -> None:
    """Sleep past the expiry of items just written with ``ttl=TTL``. The server keeps
    the exact instant; ``Item.expires_at`` is rounded up to whole seconds."""
    assert all(i.expires_at is not None for i in items)
    time.sleep(TTL + 0.1)


def test_expired_items_are_invisible_to_every_read(
    tenant: TenantDatabase, admin: psycopg.Connection[Any], schema_name: str
) -> None:
    start = time.time()
    short = tenant.put("notes", {"pk": "p", "sk": "short", "owner": "bob", "created": "1"}, ttl=TTL)
    tenant.put("notes", {"pk": "p", "sk": "long", "owner": "bob", "created": "2"}, ttl=3600)
    tenant.put("notes", {"pk": "p", "sk": "forever", "owner": "bob", "created": "3"})
    assert short.expires_at is not None
    assert start + TTL <= short.expires_at <= start + TTL + 2
    assert tenant.get("notes", "p", "short") == short
    assert len(tenant.query("notes", "p").items) == 3

    _wait_until_expired(short)

    assert tenant.get("notes", "p", "short") is None
    assert [i.sk for i in tenant.query("notes", "p").items] == ["forever", "long"]
    assert [i.sk for i in tenant.query("notes", "p", sort=SortKey.prefix("s")).items] == []
    assert [i.sk for i in tenant.query_index("notes", "by_owner", "bob").items] == [
        "long",
        "forever",
    ]
    assert [i.sk for i in tenant.batch_get("notes", [("p", "short"), ("p", "long")])] == ["long"]
    assert tenant.delete("notes", "p", "short") is False
    with_expiry = tenant.get("notes", "p", "long")
    assert with_expiry is not None
    assert with_expiry.expires_at is not None


def test_an_expired_item_counts_as_absent_for_writes(tenant: TenantDatabase) -> None:
    old = tenant.put("notes", {"pk": "p", "n": 1}, ttl=TTL)
    _wait_until_expired(old)
    with_ttl = tenant.put("notes", {"pk": "p", "n": 2}, condition=IfAbsent())
    assert with_ttl.expires_at is None
    gone = tenant.put("notes", {"pk": "q", "n": 1}, ttl=TTL)
    _wait_until_expired(gone)
    with pytest.raises(errors.ConditionFailed):
        tenant.put("notes", {"pk": "q"}, condition=IfExists())
    with pytest.raises(errors.ConditionFailed):
        tenant.update("notes", "q", set={"a": 1}, condition=IfExists())
    with pytest.raises(errors.NotFound):
        tenant.update("notes", "q", set={"a": 1})
    fresh = tenant.update("notes", "q", increment={"n": 5}, upsert=True)
    assert fresh.data == {"n": 5}  # the expired fields are not carried over
    assert fresh.expires_at is None
    _wait_until_expired(tenant.put("notes", {"pk": "r"}, ttl=TTL))
    tenant.transact_write(
        [
            TxCheck(collection="notes", key=Key(pk="r"), condition=IfAbsent()),
            TxPut(collection="notes", item={"pk": "s"}),
        ]
    )


def test_updates_keep_or_reset_the_expiry(tenant: TenantDatabase) -> None:
    item = tenant.put("notes", {"pk": "p"}, ttl=3600)
    kept = tenant.update("notes", "p", set={"a": 1})
    assert kept.expires_at == item.expires_at
    moved = tenant.update("notes", "p", set={"a": 2}, ttl=7200)
    assert moved.expires_at is not None
    assert item.expires_at is not None
    assert moved.expires_at >= item.expires_at + 3599
    replaced = tenant.put("notes", {"pk": "p"})
    assert replaced.expires_at is None


def test_expired_items_are_removed_lazily(
    database: PostgresDatabase,
    tenant: TenantDatabase,
    admin: psycopg.Connection[Any],
    schema_name: str,
) -> None:
    items = [tenant.put("notes", {"pk": f"e{i}"}, ttl=TTL) for i in range(5)]
    other = [tenant.put("notes", {"pk": f"x{i}"}, ttl=TTL) for i in range(2)]
    tenant.put("notes", {"pk": "keep"})
    _wait_until_expired(*items, *other)
    assert len(_stored(admin, schema_name)) == 8  # expired, still stored

    assert tenant.get("notes", "e0") is None  # a read that meets one removes it
    assert "e0" not in _stored(admin, schema_name)

    # Every SWEEP_EVERY writes, a bounded sweep removes the tenant's expired items.
    database._sweep_every = 3
    for i in range(3):
        tenant.put("notes", {"pk": "keep", "i": i})
    assert _stored(admin, schema_name) == ["keep"]


def test_a_sweep_cut_after_a_write_never_repeats_the_write(
    database: PostgresDatabase, tenant: TenantDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sweep that follows a write runs on its own checkout: a connection cut under
    # it is retried for the sweep alone, never for the (committed) write before it.
    tenant.put("counters", {"pk": "hits", "n": 0})
    sweep = database._sweep
    cuts: list[int] = []

    def cut_once(conn: psycopg.Connection[Any], ns: str) -> int:
        if not cuts:
            cuts.append(conn.info.backend_pid)
            conn.close()
        return sweep(conn, ns)

    monkeypatch.setattr(database, "_sweep", cut_once)
    database._sweep_every = 1
    tenant.transact_write([TxUpdate(collection="counters", key=Key(pk="hits"), increment={"n": 1})])
    assert cuts
    assert tenant.get("counters", "hits").data == {"n": 1}  # type: ignore[union-attr]
