"""What the conformance suite cannot see: the sqlite provider's files, locks and layout."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pydantic
import pytest

from tenantkit.db import IndexSpec, Key, Schema, SortKey, TxPut, TxUpdate
from tenantkit.errors import InvalidCursor, InvalidRequest, ProviderError, Timeout
from tenantkit.plugins import EntryPointIndex, Plugins
from tenantkit.providers import sqlite as sqlite_provider
from tenantkit.providers.sqlite import SqliteDatabase, SqliteSettings
from tenantkit.registry import ProviderContext

SCHEMA = Schema(
    indexes=(
        IndexSpec(name="by_team", collection="members", partition_field="team", sort_field="at"),
        IndexSpec(name="by_email", collection="members", partition_field="email"),
    )
)


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "app.db")


@pytest.fixture
def db(path: str) -> Iterator[SqliteDatabase]:
    database = SqliteDatabase(SqliteSettings(path=path), _context())
    yield database
    database.close()


def _context() -> ProviderContext:
    return ProviderContext(tenant_id="acme", provider="sqlite", schema=SCHEMA)


def _rows(path: str, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


# --- registration and settings ----------------------------------------------------------


def test_registered_through_the_core_entry_point() -> None:
    plugins = Plugins(EntryPointIndex(cache_dir=None))
    spec = plugins.get("db", "sqlite")
    assert spec.factory is SqliteDatabase
    assert spec.settings is SqliteSettings
    assert spec.capabilities == {"transactions", "batch", "indexes", "ttl", "export"}
    assert spec.distribution == "tenantkit"
    assert plugins.imported_modules() == ["tenantkit.providers.sqlite"]
    instance = spec.factory(spec.settings.model_validate({}), _context())
    try:
        assert isinstance(instance, SqliteDatabase)
    finally:
        instance.close()


def test_settings() -> None:
    assert SqliteSettings().path == ":memory:"
    assert SqliteSettings().busy_timeout_ms is None
    assert SqliteSettings(path="x.db", busy_timeout_ms=0).busy_timeout_ms == 0
    for bad in ({"path": ""}, {"busy_timeout_ms": -1}, {"journal": "wal"}, {"path": 3}):
        with pytest.raises(pydantic.ValidationError) as caught:
            SqliteSettings.model_validate(bad)
        assert next(iter(bad)) in str(caught.value)


def test_an_unopenable_path_is_a_typed_error(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "app.db"
    with pytest.raises(ProviderError, match="cannot open"):
        SqliteDatabase(SqliteSettings(path=str(missing)))


# --- files, layout and connections --------------------------------------------------------


def test_data_survives_reopening(path: str) -> None:
    first = SqliteDatabase(SqliteSettings(path=path))
    first.put("acme", "notes", {"pk": "a", "sk": "1", "text": "kept"}, ttl=3600)
    first.close()
    second = SqliteDatabase(SqliteSettings(path=path))
    try:
        item = second.get("acme", "notes", Key(pk="a", sk="1"))
        assert item is not None
        assert item["text"] == "kept"
        assert item.expires_at is not None
    finally:
        second.close()
    assert _rows(path, "PRAGMA journal_mode") == [("wal",)]


def test_namespace_is_a_column_of_its_own(db: SqliteDatabase, path: str) -> None:
    db.put("abc", "notes", {"pk": "p", "sk": "s", "v": 1})
    db.put("abc-1", "notes", {"pk": "p", "sk": "s", "v": 2})
    rows = _rows(path, "SELECT ns, collection, pk, sk, data FROM tenantkit_items ORDER BY ns")
    assert rows == [
        ("abc", "notes", "p", "s", '{"v":1}'),
        ("abc-1", "notes", "p", "s", '{"v":2}'),
    ]
    assert db.query("abc", "notes", "p").items[0]["v"] == 1


def test_close_releases_the_connection(path: str) -> None:
    db = SqliteDatabase(SqliteSettings(path=path))
    db.put("acme", "notes", {"pk": "a", "sk": ""})
    db.close()
    db.close()
    with pytest.raises(ProviderError, match="closed"):
        db.get("acme", "notes", Key(pk="a"))
    # No connection holds the file: another one may take the exclusive lock at once.
    conn = sqlite3.connect(path, timeout=0)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def test_a_held_write_lock_times_out_as_a_retryable_error(path: str) -> None:
    db = SqliteDatabase(SqliteSettings(path=path, busy_timeout_ms=50))
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(Timeout) as caught:
            db.put("acme", "notes", {"pk": "a", "sk": ""})
        assert caught.value.retryable
        assert caught.value.code == "SQLITE_BUSY"
        blocker.execute("ROLLBACK")
        db.put("acme", "notes", {"pk": "a", "sk": ""})
    finally:
        blocker.close()
        db.close()


def test_instances_sharing_a_file_increment_atomically(path: str) -> None:
    instances = [SqliteDatabase(SqliteSettings(path=path)) for _ in range(2)]
    key = Key(pk="counter")

    def work(db: SqliteDatabase) -> None:
        for _ in range(25):
            db.update("acme", "notes", key, increment={"n": 1}, upsert=True)

    threads = [threading.Thread(target=work, args=(db,)) for db in instances for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    item = instances[0].get("acme", "notes", key)
    assert item is not None
    assert item["n"] == 100
    for db in instances:
        db.close()


def test_numbers_keep_their_type_and_size() -> None:
    db = SqliteDatabase(SqliteSettings())
    try:
        db.put("acme", "notes", {"pk": "n", "sk": "", "big": 2**70, "f": 0.1, "i": -3})
        item = db.update("acme", "notes", Key(pk="n"), increment={"big": 1, "i": 1})
        assert item.data == {"big": 2**70 + 1, "f": 0.1, "i": -2}
        assert type(item["i"]) is int
    finally:
        db.close()


# --- expiry -----------------------------------------------------------------------------


def test_expired_rows_are_removed_lazily(
    db: SqliteDatabase, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(sqlite_provider, "_clock", lambda: now[0])
    for n in range(3):
        db.put("acme", "notes", {"pk": "t", "sk": str(n)}, ttl=10)
    assert db.get("acme", "notes", Key(pk="t", sk="0")) is not None

    def count() -> int:
        (row,) = _rows(path, "SELECT count(*) FROM tenantkit_items")
        return int(str(row[0]))

    now[0] += 30  # expired, but not yet swept
    assert db.get("acme", "notes", Key(pk="t", sk="0")) is None
    assert db.query("acme", "notes", "t").items == []
    assert count() == 3
    db.put("acme", "notes", {"pk": "t", "sk": "0"})  # replaces the expired row
    assert count() == 3
    assert db.delete("acme", "notes", Key(pk="t", sk="1")) is False  # removes it
    assert count() == 2
    now[0] += 60  # the next write sweeps
    db.put("acme", "notes", {"pk": "other", "sk": ""})
    assert sorted(_rows(path, "SELECT pk, sk FROM tenantkit_items")) == [("other", ""), ("t", "0")]


def test_expiry_is_rounded_up_to_whole_seconds(
    db: SqliteDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000_000.25]
    monkeypatch.setattr(sqlite_provider, "_clock", lambda: now[0])
    item = db.put("acme", "notes", {"pk": "t", "sk": ""}, ttl=1.5)
    assert item.expires_at == 1_000_002
    now[0] = 1_000_001.99
    assert db.get("acme", "notes", Key(pk="t")) is not None
    now[0] = 1_000_002.0
    assert db.get("acme", "notes", Key(pk="t")) is None


def test_an_absurd_ttl_is_refused(db: SqliteDatabase) -> None:
    with pytest.raises(InvalidRequest, match="ttl"):
        db.put("acme", "notes", {"pk": "t", "sk": ""}, ttl=1e300)
    with pytest.raises(InvalidRequest, match="ttl"):
        db.update("acme", "notes", Key(pk="t"), set={"v": 1}, upsert=True, ttl=1e12)
    assert db.get("acme", "notes", Key(pk="t")) is None


# --- secondary indexes ------------------------------------------------------------------


def test_declared_indexes_are_created_and_used(db: SqliteDatabase, path: str) -> None:
    names = {
        name
        for (name,) in _rows(path, "SELECT name FROM sqlite_master WHERE type = 'index'")
        if str(name).startswith("tenantkit_items_ix_")
    }
    assert len(names) == 2
    db.ensure_schema(SCHEMA)  # idempotent
    for n in range(20):
        db.put("acme", "members", {"pk": f"m{n}", "sk": "", "team": "red", "at": f"{n:02d}"})
    statements: list[str] = []
    conn = db._conn
    assert conn is not None
    conn.set_trace_callback(statements.append)
    try:
        page = db.query_index("acme", SCHEMA.indexes[0], "red", sort=SortKey.prefix("1"), limit=3)
        db.query_index("acme", SCHEMA.indexes[0], "red", limit=3, cursor=page.cursor)
        db.query_index("acme", SCHEMA.indexes[1], "x@y", descending=True)
    finally:
        conn.set_trace_callback(None)
    selects = [s for s in statements if s.startswith("SELECT")]
    assert len(selects) == 3
    for sql in selects:
        plan = " ".join(str(row[-1]) for row in _rows(path, f"EXPLAIN QUERY PLAN {sql}"))
        assert "USING INDEX tenantkit_items_ix_members_" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
    assert [i.pk for i in page.items] == ["m10", "m11", "m12"]


def test_index_names_are_checked_before_they_reach_sql() -> None:
    db = SqliteDatabase(SqliteSettings())
    try:
        for spec in (
            IndexSpec(name="x", collection="members", partition_field="a') OR 1=1 --"),
            IndexSpec(name="x", collection="members'", partition_field="team"),
            IndexSpec(name="x", collection="members", partition_field="team", sort_field="a.b"),
        ):
            with pytest.raises(InvalidRequest):
                db.query_index("acme", spec, "red")
            with pytest.raises(InvalidRequest):
                db.ensure_schema(Schema(indexes=(spec,)))
    finally:
        db.close()


def test_malformed_provider_cursors_are_refused() -> None:
    db = SqliteDatabase(SqliteSettings())
    try:
        for cursor in ("", "[", "{}", "[1]", '["a","b"]', "null"):
            with pytest.raises(InvalidCursor):
                db.query("acme", "notes", "p", cursor=cursor)
        with pytest.raises(InvalidCursor):
            db.query_index("acme", SCHEMA.indexes[0], "red", cursor='["a"]')
    finally:
        db.close()


# --- transactions -----------------------------------------------------------------------


def test_a_transaction_touches_each_item_once() -> None:
    db = SqliteDatabase(SqliteSettings())
    try:
        with pytest.raises(InvalidRequest, match="twice"):
            db.transact_write(
                "acme",
                [
                    TxPut(collection="notes", item={"pk": "a", "sk": ""}),
                    TxUpdate(collection="notes", key=Key(pk="a"), set={"v": 1}),
                ],
            )
        assert db.get("acme", "notes", Key(pk="a")) is None
        db.transact_write(
            "acme",
            [
                TxPut(collection="notes", item={"pk": "a", "sk": ""}),
                TxPut(collection="other", item={"pk": "a", "sk": ""}),
            ],
        )
    finally:
        db.close()
