"""Queries of one partition: order, sort-key conditions, limits and paging."""

from __future__ import annotations

from functools import partial

import pytest

from tenantkit.db import MAX_QUERY_LIMIT, SortKey
from tenantkit.scoped import TenantDatabase
from tenantkit.testing.database._support import NOTES, DatabaseSuite, all_pages

_query = pytest.mark.conformance("db", "query")

#: Sort keys of the query fixture: separators, case, an empty key, and code points
#: beyond the Basic Multilingual Plane (U+1F600 sorts after U+E000 by code point,
#: before it in UTF-16).
_SORT_KEYS = ["", "a", "a#1", "a#2", "a/b", "ab", "B", "b", "ba", "é", "\ue000", "😀", "z"]

_SORT_CASES = [
    SortKey(op="eq", value="a#1"),
    SortKey(op="eq", value="nothing"),
    SortKey(op="lt", value="b"),
    SortKey(op="lte", value="b"),
    SortKey(op="gt", value="b"),
    SortKey(op="gte", value="b"),
    SortKey(op="gt", value="\uffff"),
    SortKey(op="lt", value="\ue001"),
    SortKey.prefix("a"),
    SortKey.prefix("a#"),
    SortKey.prefix("\U0001f600"),
    SortKey.between("a#", "b"),
    SortKey.between("b", "a"),
]


class QueryTests(DatabaseSuite):
    """Queries of one partition: order, sort-key conditions, limits and paging."""

    def _fill_partition(self, db: TenantDatabase, other_db: TenantDatabase) -> None:
        for n, sk in enumerate(_SORT_KEYS):
            db.put(NOTES, {"pk": "part", "sk": sk, "n": n})
        # Near misses that a query of ("notes", "part") must never return.
        db.put(NOTES, {"pk": "part2", "sk": "a"})
        db.put(NOTES, {"pk": "par", "sk": "ta"})
        db.put(NOTES, {"pk": "Part", "sk": "a"})
        db.put("notes_other", {"pk": "part", "sk": "a"})
        other_db.put(NOTES, {"pk": "part", "sk": "a#3"})
        other_db.put(NOTES, {"pk": "part", "sk": "b"})

    @_query
    def test_query_returns_the_partition_in_code_point_order(
        self, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        self._fill_partition(db, other_db)
        page = db.query(NOTES, "part")
        assert [item.sk for item in page.items] == sorted(_SORT_KEYS)
        assert page.cursor is None
        assert all(item.pk == "part" for item in page.items)
        assert page.items[0]["n"] == _SORT_KEYS.index(page.items[0].sk)
        down = db.query(NOTES, "part", descending=True)
        assert [item.sk for item in down.items] == sorted(_SORT_KEYS, reverse=True)
        assert db.query(NOTES, "nobody").items == []
        assert db.query(NOTES, "nobody").cursor is None

    @_query
    def test_query_sort_conditions(self, db: TenantDatabase, other_db: TenantDatabase) -> None:
        self._fill_partition(db, other_db)
        for sort in _SORT_CASES:
            expected = sorted(sk for sk in _SORT_KEYS if sort.matches(sk))
            for descending in (False, True):
                want = expected[::-1] if descending else expected
                page = db.query(NOTES, "part", sort=sort, descending=descending)
                got = [item.sk for item in page.items]
                assert got == want, f"{sort!r} descending={descending}"
                assert page.cursor is None
                paged, _ = all_pages(
                    partial(db.query, NOTES, "part", sort=sort, descending=descending, limit=3),
                    3,
                )
                assert [item.sk for item in paged] == want, f"paged {sort!r} desc={descending}"

    @_query
    def test_query_limit(self, db: TenantDatabase, other_db: TenantDatabase) -> None:
        self._fill_partition(db, other_db)
        first = db.query(NOTES, "part", limit=3)
        assert [item.sk for item in first.items] == sorted(_SORT_KEYS)[:3]
        assert first.cursor is not None
        last = db.query(NOTES, "part", limit=1, descending=True)
        assert [item.sk for item in last.items] == [max(_SORT_KEYS)]
        whole = db.query(NOTES, "part", limit=len(_SORT_KEYS) + 1)
        assert len(whole.items) == len(_SORT_KEYS)
        assert whole.cursor is None
        assert len(db.query(NOTES, "part", limit=MAX_QUERY_LIMIT).items) == len(_SORT_KEYS)

    @_query
    def test_pagination_sees_every_item_exactly_once(self, db: TenantDatabase) -> None:
        sks = [f"item#{n:03d}" for n in range(23)]
        for sk in sks:
            db.put(NOTES, {"pk": "many", "sk": sk})
        db.put(NOTES, {"pk": "many", "sk": "other#1"})
        for limit in (1, 4, 7, 23):
            for descending in (False, True):
                fetch = partial(
                    db.query,
                    NOTES,
                    "many",
                    sort=SortKey.prefix("item#"),
                    descending=descending,
                    limit=limit,
                )
                items, pages = all_pages(fetch, limit)
                got = [item.sk for item in items]
                assert got == (sks[::-1] if descending else sks), (limit, descending)
                assert pages >= -(-len(sks) // limit)
                assert pages <= -(-len(sks) // limit) + 1

    @_query
    def test_the_limit_may_change_between_pages(self, db: TenantDatabase) -> None:
        for n in range(10):
            db.put(NOTES, {"pk": "lim", "sk": f"{n}"})
        page = db.query(NOTES, "lim", limit=3)
        assert page.cursor is not None
        rest = db.query(NOTES, "lim", limit=100, cursor=page.cursor)
        assert [i.sk for i in page.items + rest.items] == [f"{n}" for n in range(10)]
        assert rest.cursor is None

    @_query
    def test_pages_follow_writes_between_them(self, db: TenantDatabase) -> None:
        for sk in ("a", "b", "c", "d"):
            db.put(NOTES, {"pk": "live", "sk": sk})
        page = db.query(NOTES, "live", limit=2)
        assert [i.sk for i in page.items] == ["a", "b"]
        db.put(NOTES, {"pk": "live", "sk": "bb"})
        db.delete(NOTES, "live", "c")
        assert page.cursor is not None
        rest, _ = all_pages(partial(db.query, NOTES, "live", limit=2), 2, page.cursor)
        assert [i.sk for i in rest] == ["bb", "d"]

    @_query
    def test_descending_pages_follow_writes_between_them(self, db: TenantDatabase) -> None:
        # A cursor is a position, not an offset: a descending query resumes below the
        # last item it returned, whatever was written or deleted in between.
        for sk in ("a", "b", "c", "d"):
            db.put(NOTES, {"pk": "down", "sk": sk})
        page = db.query(NOTES, "down", limit=2, descending=True)
        assert [i.sk for i in page.items] == ["d", "c"]
        db.put(NOTES, {"pk": "down", "sk": "cc"})
        db.put(NOTES, {"pk": "down", "sk": "bb"})
        db.delete(NOTES, "down", "b")
        assert page.cursor is not None
        rest, _ = all_pages(
            partial(db.query, NOTES, "down", descending=True, limit=2), 2, page.cursor
        )
        assert [i.sk for i in rest] == ["bb", "a"]
