"""The ``export`` section of the database conformance suite: namespace scans and restores.

:class:`ExportConformance` is mixed into :class:`tenantkit.testing.DatabaseConformance`
and uses its fixtures (``database``, ``db``, ``other_db``). Its tests carry the marker
``conformance("db", "export")`` and are gated on :attr:`DbCapability.EXPORT`.

What a provider that declares ``export`` must do:

* ``scan_namespace`` returns every live item of the namespace, every collection, each
  with its ``expires_at``, and nothing of another namespace (also one whose id extends
  this one); pages hold at most ``limit`` entries, follow cursors to the end, and never
  repeat an item.
* ``restore`` writes scanned items back with their fields and expiry unchanged and a new
  version, unconditionally (a second restore of the same items changes nothing but the
  versions), skips items already expired, and keeps declared secondary indexes in step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tenantkit.db import Database, DbCapability, Item
from tenantkit.errors import InvalidCursor, InvalidRequest
from tenantkit.scoped import TenantDatabase

__all__ = ["ExportConformance", "undeclared_export_calls"]

_export = pytest.mark.conformance("db", "export")

_NOTES = "notes"
_MEMBERS = "members"

Snapshot = dict[tuple[str, str, str], tuple[dict[str, Any], int | None]]
"""(collection, pk, sk) → (fields, expires_at): what an export must preserve."""


def scan_all(db: TenantDatabase, limit: int) -> tuple[list[tuple[str, Item]], int]:
    """Every entry of the tenant, following cursors; also the number of pages read."""
    entries: list[tuple[str, Item]] = []
    cursor: str | None = None
    for pages in range(1, 10_000):
        page = db.scan(cursor=cursor, limit=limit)
        assert len(page.entries) <= limit, f"page of {len(page.entries)} for limit {limit}"
        entries.extend(page.entries)
        if page.cursor is None:
            return entries, pages
        cursor = page.cursor
    raise AssertionError("the scan did not end after 10,000 pages")


def snapshot(entries: list[tuple[str, Item]]) -> Snapshot:
    found: Snapshot = {}
    for collection, item in entries:
        where = (collection, item.pk, item.sk)
        assert where not in found, f"the scan returned {where} twice"
        found[where] = (item.data, item.expires_at)
    return found


def _seed(db: TenantDatabase, ttl: bool) -> None:
    for n in range(23):
        db.put(_NOTES, {"pk": f"p{n % 4}", "sk": f"s{n:02d}", "n": n, "text": "héllo 😀"})
    db.put(_NOTES, {"pk": "empty-sk", "nested": {"a": [1, {"b": None}]}, "ratio": 0.5})
    for n in range(5):
        member = {"pk": f"m{n}", "team": "red" if n % 2 else "blue", "joined": f"2024-0{n + 1}"}
        db.put(_MEMBERS, {**member, "email": f"m{n}@example.com"})
    if ttl:
        db.put(_NOTES, {"pk": "lives", "sk": "a"}, ttl=3600)


def undeclared_export_calls(
    database: Database, db: TenantDatabase, ns: str
) -> tuple[list[Callable[[], object]], list[Callable[[], object]]]:
    """The wrapped and raw calls that must raise ``Unsupported`` without ``export``."""
    item = Item(pk="a", version="v")
    wrapped: list[Callable[[], object]] = [lambda: db.scan(), lambda: db.restore(_NOTES, [item])]
    raw: list[Callable[[], object]] = [
        lambda: database.scan_namespace(ns),
        lambda: database.restore(ns, _NOTES, [item]),
    ]
    return wrapped, raw


class ExportConformance:
    """Namespace scans and restores (capability ``export``)."""

    @staticmethod
    def _require_export(database: Database) -> None:
        if DbCapability.EXPORT not in type(database).capabilities:
            pytest.skip(f"{type(database).__name__} does not declare 'export'")

    @_export
    @pytest.mark.parametrize("limit", [1, 7, 1000])
    def test_scan_reads_every_collection_of_the_tenant_only(
        self, database: Database, db: TenantDatabase, other_db: TenantDatabase, limit: int
    ) -> None:
        self._require_export(database)
        ttl = DbCapability.TTL in type(database).capabilities
        _seed(db, ttl)
        other_db.put(_NOTES, {"pk": "p0", "sk": "s00", "other": True})
        other_db.put("others", {"pk": "x"})
        entries, pages = scan_all(db, limit)
        found = snapshot(entries)
        assert len(found) == 29 + (1 if ttl else 0)
        assert {c for c, _, _ in found} == {_NOTES, _MEMBERS}
        assert found[(_NOTES, "p1", "s05")] == ({"n": 5, "text": "héllo 😀"}, None)
        assert found[(_NOTES, "empty-sk", "")][0] == {
            "nested": {"a": [1, {"b": None}]},
            "ratio": 0.5,
        }
        assert found[(_MEMBERS, "m3", "")][0]["team"] == "red"
        if ttl:
            expires_at = found[(_NOTES, "lives", "a")][1]
            assert expires_at is not None
            assert time.time() + 3500 < expires_at <= time.time() + 3601
        if limit == 1:
            assert pages >= len(found)
        other = snapshot(scan_all(other_db, 1000)[0])
        assert set(other) == {(_NOTES, "p0", "s00"), ("others", "x", "")}

    @_export
    def test_scan_of_an_empty_tenant_ends_at_once(
        self, database: Database, db: TenantDatabase
    ) -> None:
        self._require_export(database)
        entries, _ = scan_all(db, 10)
        assert entries == []

    @_export
    def test_scan_cursor_is_bound_to_the_tenant(
        self, database: Database, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        self._require_export(database)
        _seed(db, ttl=False)
        page = db.scan(limit=2)
        while page.cursor is None or not page.entries:
            assert page.cursor is not None, "29 items fitted in pages of 2"
            page = db.scan(cursor=page.cursor, limit=2)
        with pytest.raises(InvalidCursor):
            other_db.scan(cursor=page.cursor, limit=2)
        with pytest.raises(InvalidCursor):
            db.scan(cursor=page.cursor[:-2] + "xx", limit=2)

    @_export
    @pytest.mark.parametrize("limit", [0, -1, 1001, True])
    def test_scan_limit_is_checked(
        self, database: Database, db: TenantDatabase, limit: Any
    ) -> None:
        self._require_export(database)
        with pytest.raises(InvalidRequest, match="limit"):
            db.scan(limit=limit)

    @_export
    def test_restore_round_trips_a_scan_into_another_tenant(
        self, database: Database, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        self._require_export(database)
        ttl = DbCapability.TTL in type(database).capabilities
        _seed(db, ttl)
        entries, _ = scan_all(db, 1000)
        by_collection: dict[str, list[Item]] = {}
        for collection, item in entries:
            by_collection.setdefault(collection, []).append(item)
        for _ in range(2):  # a second restore of the same items changes nothing
            for collection, items in by_collection.items():
                for start in range(0, len(items), 10):
                    other_db.restore(collection, items[start : start + 10])
        copied, _ = scan_all(other_db, 1000)
        assert snapshot(copied) == snapshot(entries)
        versions = {(c, i.pk, i.sk): i.version for c, i in entries}
        for collection, item in copied:
            assert item.version
            assert item.version != versions[(collection, item.pk, item.sk)]
        read = other_db.get(_NOTES, "p1", "s05", consistent=True)
        assert read is not None
        assert read.data == {"n": 5, "text": "héllo 😀"}
        assert [i.sk for i in other_db.query(_NOTES, "p1").items] == [
            f"s{n:02d}" for n in range(1, 23, 4)
        ]
        if DbCapability.INDEXES in type(database).capabilities:
            found = other_db.query_index(_MEMBERS, "by_email", "m2@example.com")
            assert [i.pk for i in found.items] == ["m2"]

    @_export
    def test_restore_skips_expired_items_and_keeps_expiry(
        self, database: Database, db: TenantDatabase
    ) -> None:
        self._require_export(database)
        if DbCapability.TTL not in type(database).capabilities:
            pytest.skip("expiry needs 'ttl'")
        now = int(time.time())
        db.restore(
            _NOTES,
            [
                Item(pk="gone", data={"v": 1}, version="x", expires_at=now - 10),
                Item(pk="kept", data={"v": 2}, version="x", expires_at=now + 7200),
            ],
        )
        assert db.get(_NOTES, "gone", consistent=True) is None
        kept = db.get(_NOTES, "kept", consistent=True)
        assert kept is not None
        assert kept.expires_at == now + 7200
        assert snapshot(scan_all(db, 100)[0]) == {(_NOTES, "kept", ""): ({"v": 2}, now + 7200)}

    @_export
    def test_restore_validates_items(self, database: Database, db: TenantDatabase) -> None:
        self._require_export(database)
        with pytest.raises(InvalidRequest, match="at most 100"):
            db.restore(_NOTES, [Item(pk=f"p{n}", version="v") for n in range(101)])
        with pytest.raises(InvalidRequest):
            db.restore("Not-A-Collection", [Item(pk="a", version="v")])
        with pytest.raises(InvalidRequest):
            db.restore(_NOTES, [Item(pk="a", data={"bad name": 1}, version="v")])
        assert scan_all(db, 10)[0] == []
