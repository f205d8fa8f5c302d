"""Secondary indexes (capability ``indexes``)."""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

import pytest

from tenantkit.db import Database, DbCapability, Page, SortKey
from tenantkit.errors import InvalidCursor, InvalidKey, InvalidRequest
from tenantkit.scoped import TenantDatabase
from tenantkit.testing.database._support import (
    MEMBERS,
    NOTES,
    DatabaseSuite,
    all_pages,
    keys_of,
    must_get,
    requires,
    tamper,
)

_index = pytest.mark.conformance("db", "index")


class IndexTests(DatabaseSuite):
    """Secondary indexes (capability ``indexes``)."""

    def _fill_members(self, db: TenantDatabase, other_db: TenantDatabase) -> None:
        members: list[dict[str, Any]] = [
            {"pk": "m1", "team": "red", "joined": "2024-03", "email": "a@x"},
            {"pk": "m2", "team": "red", "joined": "2024-01", "email": "a@x"},
            {"pk": "m2", "sk": "b", "team": "red", "joined": "2024-01", "email": "a@x"},
            {"pk": "m0", "sk": "z", "team": "red", "joined": "2024-01", "email": "b@x"},
            {"pk": "m3", "team": "red", "joined": "2023-12"},
            {"pk": "m4", "team": "blue", "joined": "2024-02", "email": "a@x"},
            {"pk": "m5", "team": "reds", "joined": "2024-02"},
            {"pk": "m6", "team": "Red", "joined": "2024-02"},
            # Sparse: not a string partition or sort field, so not in by_team.
            {"pk": "s1", "joined": "2024-01", "email": 7},
            {"pk": "s2", "team": 1, "joined": "2024-01", "email": None},
            {"pk": "s3", "team": "red"},
            {"pk": "s4", "team": "red", "joined": 2024},
            {"pk": "s5", "team": ["red"], "joined": "2024-01", "email": ["a@x"]},
        ]
        for member in members:
            db.put(MEMBERS, member)
        db.put(NOTES, {"pk": "n1", "team": "red", "joined": "2024-01", "email": "a@x"})
        other_db.put(MEMBERS, {"pk": "m1", "team": "red", "joined": "2024-03", "email": "a@x"})
        other_db.put(MEMBERS, {"pk": "o1", "team": "red", "joined": "2024-02", "email": "a@x"})

    _RED: ClassVar[list[tuple[str, str]]] = [("m0", "z"), ("m2", ""), ("m2", "b"), ("m1", "")]

    @_index
    def test_index_with_sort_field(
        self, database: Database, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        requires(database, DbCapability.INDEXES)
        self._fill_members(db, other_db)
        red = [("m3", ""), *self._RED]

        def check() -> None:
            page = db.query_index(MEMBERS, "by_team", "red")
            assert keys_of(page.items) == red
            assert page.cursor is None
            assert all(item["team"] == "red" for item in page.items)
            down = db.query_index(MEMBERS, "by_team", "red", descending=True)
            assert keys_of(down.items) == red[::-1]
            assert keys_of(db.query_index(MEMBERS, "by_team", "blue").items) == [("m4", "")]
            assert db.query_index(MEMBERS, "by_team", "green").items == []

        self._eventually(check)

    @_index
    def test_index_sort_conditions(
        self, database: Database, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        requires(database, DbCapability.INDEXES)
        self._fill_members(db, other_db)
        joined = {
            ("m3", ""): "2023-12",
            ("m0", "z"): "2024-01",
            ("m2", ""): "2024-01",
            ("m2", "b"): "2024-01",
            ("m1", ""): "2024-03",
        }
        cases = [
            SortKey(op="eq", value="2024-01"),
            SortKey(op="lt", value="2024-01"),
            SortKey(op="lte", value="2024-01"),
            SortKey(op="gt", value="2024-01"),
            SortKey(op="gte", value="2024-01"),
            SortKey.prefix("2024"),
            SortKey.between("2024-01", "2024-02"),
        ]

        def check() -> None:
            for sort in cases:
                want = sorted(
                    (k for k, v in joined.items() if sort.matches(v)), key=lambda k: (joined[k], k)
                )
                for descending in (False, True):
                    expected = want[::-1] if descending else want
                    page = db.query_index(
                        MEMBERS, "by_team", "red", sort=sort, descending=descending
                    )
                    assert keys_of(page.items) == expected, f"{sort!r} descending={descending}"

        self._eventually(check)

    @_index
    def test_index_without_sort_field(
        self, database: Database, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        requires(database, DbCapability.INDEXES)
        self._fill_members(db, other_db)

        def check() -> None:
            page = db.query_index(MEMBERS, "by_email", "a@x")
            assert keys_of(page.items) == [("m1", ""), ("m2", ""), ("m2", "b"), ("m4", "")]
            down = db.query_index(MEMBERS, "by_email", "a@x", descending=True)
            assert keys_of(down.items) == [("m4", ""), ("m2", "b"), ("m2", ""), ("m1", "")]
            assert keys_of(db.query_index(MEMBERS, "by_email", "b@x").items) == [("m0", "z")]

        self._eventually(check)

    @_index
    def test_index_pagination(
        self, database: Database, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        requires(database, DbCapability.INDEXES)
        self._fill_members(db, other_db)
        red = [("m3", ""), *self._RED]
        email = [("m1", ""), ("m2", ""), ("m2", "b"), ("m4", "")]

        def check() -> None:
            for index, value, want in (("by_team", "red", red), ("by_email", "a@x", email)):
                for limit in (1, 2, 3):
                    for descending in (False, True):
                        fetch = partial(
                            db.query_index,
                            MEMBERS,
                            index,
                            value,
                            descending=descending,
                            limit=limit,
                        )
                        items, _ = all_pages(fetch, limit)
                        expected = want[::-1] if descending else want
                        assert keys_of(items) == expected, (index, limit, descending)
            sort = SortKey(op="gte", value="2024-01")
            items, _ = all_pages(
                partial(db.query_index, MEMBERS, "by_team", "red", sort=sort, limit=2),
                2,
            )
            assert keys_of(items) == self._RED

        self._eventually(check)

    @_index
    def test_index_follows_writes(
        self, database: Database, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        requires(database, DbCapability.INDEXES)
        self._fill_members(db, other_db)
        db.update(MEMBERS, "m1", set={"team": "blue"})
        db.update(MEMBERS, "m2", "b", remove=["team"])
        db.delete(MEMBERS, "m0", "z")
        db.update(MEMBERS, "s3", set={"joined": "2025-01"})
        db.update(MEMBERS, "s4", set={"joined": "2022-01"})
        db.put(MEMBERS, {"pk": "m3", "team": "red", "joined": "2024-06"})

        def check() -> None:
            red = db.query_index(MEMBERS, "by_team", "red").items
            assert keys_of(red) == [("s4", ""), ("m2", ""), ("m3", ""), ("s3", "")]
            blue = db.query_index(MEMBERS, "by_team", "blue").items
            assert keys_of(blue) == [("m4", ""), ("m1", "")]
            assert [item.version for item in red] == [
                must_get(db, MEMBERS, pk, sk).version for pk, sk in keys_of(red)
            ]

        self._eventually(check)

    @_index
    def test_index_cursors_are_bound_to_their_query(
        self, database: Database, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        requires(database, DbCapability.INDEXES)
        self._fill_members(db, other_db)

        def first() -> Page:
            page = db.query_index(MEMBERS, "by_team", "red", limit=2)
            assert page.cursor is not None
            return page

        page = self._eventually(first)
        assert page.cursor is not None
        with pytest.raises(InvalidCursor):
            db.query_index(MEMBERS, "by_team", "blue", limit=2, cursor=page.cursor)
        with pytest.raises(InvalidCursor):
            db.query_index(MEMBERS, "by_email", "red", limit=2, cursor=page.cursor)
        with pytest.raises(InvalidCursor):
            db.query_index(MEMBERS, "by_team", "red", descending=True, cursor=page.cursor)
        with pytest.raises(InvalidCursor):
            db.query(MEMBERS, "red", limit=2, cursor=page.cursor)
        with pytest.raises(InvalidCursor):
            db.query_index(MEMBERS, "by_team", "red", limit=2, cursor=tamper(page.cursor))
        with pytest.raises(InvalidCursor):
            other_db.query_index(MEMBERS, "by_team", "red", limit=2, cursor=page.cursor)

    @_index
    def test_index_input_errors(self, database: Database, db: TenantDatabase) -> None:
        requires(database, DbCapability.INDEXES)
        with pytest.raises(InvalidRequest, match="by_nothing"):
            db.query_index(MEMBERS, "by_nothing", "red")
        with pytest.raises(InvalidRequest, match="by_team"):
            db.query_index(NOTES, "by_team", "red")
        with pytest.raises(InvalidRequest, match="by_email"):
            db.query_index(MEMBERS, "by_email", "a@x", sort=SortKey.prefix("a"))
        with pytest.raises(InvalidKey, match="team"):
            db.query_index(MEMBERS, "by_team", "r\x00ed")
        with pytest.raises(InvalidRequest, match="limit"):
            db.query_index(MEMBERS, "by_team", "red", limit=0)
