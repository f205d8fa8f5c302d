"""Cursors: bound to their tenant and their query, tamper-proof."""

from __future__ import annotations

from functools import partial

import pytest

from tenantkit.db import Page, SortKey
from tenantkit.errors import InvalidCursor
from tenantkit.scoped import TenantDatabase
from tenantkit.testing.database._support import NOTES, DatabaseSuite, Fetch, tamper

_cursors = pytest.mark.conformance("db", "cursors")


class CursorTests(DatabaseSuite):
    """Cursors: bound to their tenant and their query, tamper-proof."""

    def _first_page(self, db: TenantDatabase) -> Page:
        for n in range(5):
            db.put(NOTES, {"pk": "cur", "sk": f"{n}"})
        page = db.query(NOTES, "cur", limit=2)
        assert page.cursor is not None
        return page

    @_cursors
    def test_cursor_of_another_tenant_is_refused(
        self, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        page = self._first_page(db)
        for n in range(5):
            other_db.put(NOTES, {"pk": "cur", "sk": f"{n}"})
        with pytest.raises(InvalidCursor):
            other_db.query(NOTES, "cur", limit=2, cursor=page.cursor)

    @_cursors
    def test_tampered_cursor_is_refused(self, db: TenantDatabase) -> None:
        page = self._first_page(db)
        assert page.cursor is not None
        body, _, tag = page.cursor.partition(".")
        for bad in (
            tamper(page.cursor),
            f"{body}.{tag[::-1]}",
            f"{body}.",
            body,
            "",
            "not a cursor",
            page.cursor + "x",
        ):
            with pytest.raises(InvalidCursor):
                db.query(NOTES, "cur", limit=2, cursor=bad)

    @_cursors
    def test_cursor_of_another_query_is_refused(self, db: TenantDatabase) -> None:
        page = self._first_page(db)
        for n in range(5):
            db.put(NOTES, {"pk": "cur2", "sk": f"{n}"})
            db.put("notes_b", {"pk": "cur", "sk": f"{n}"})
        other_queries: list[Fetch] = [
            partial(db.query, NOTES, "cur2", limit=2),
            partial(db.query, "notes_b", "cur", limit=2),
            partial(db.query, NOTES, "cur", descending=True, limit=2),
            partial(db.query, NOTES, "cur", sort=SortKey(op="gte", value="0"), limit=2),
        ]
        for query in other_queries:
            with pytest.raises(InvalidCursor):
                query(cursor=page.cursor)
        # The cursor still serves its own query.
        assert [i.sk for i in db.query(NOTES, "cur", limit=2, cursor=page.cursor).items] == [
            "2",
            "3",
        ]
