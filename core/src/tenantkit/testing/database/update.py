"""``update``: set, increment, remove, upsert."""

from __future__ import annotations

from typing import Any

import pytest

from tenantkit.db import IfAbsent
from tenantkit.errors import ConditionFailed, InvalidRequest, NotFound
from tenantkit.scoped import TenantDatabase
from tenantkit.testing.database._support import NOTES, DatabaseSuite

_update = pytest.mark.conformance("db", "update")


class UpdateTests(DatabaseSuite):
    """``update``: set, increment, remove, upsert."""

    @_update
    def test_update_set_keeps_other_fields(self, db: TenantDatabase) -> None:
        before = db.put(NOTES, {"pk": "u", "sk": "1", "a": 1, "b": {"x": 1}})
        after = db.update(NOTES, "u", "1", set={"b": {"y": [2]}, "c": "new"})
        assert after.data == {"a": 1, "b": {"y": [2]}, "c": "new"}
        assert after.version != before.version
        assert (after.pk, after.sk) == ("u", "1")
        assert db.get(NOTES, "u", "1", consistent=True) == after

    @_update
    def test_update_increment(self, db: TenantDatabase) -> None:
        db.put(NOTES, {"pk": "n", "ints": 10, "floats": 1.5, "other": "x"})
        item = db.update(NOTES, "n", increment={"ints": 5, "floats": 0.25, "fresh": 3, "down": -2})
        assert item.data == {"ints": 15, "floats": 1.75, "fresh": 3, "down": -2, "other": "x"}
        assert type(item["ints"]) is int
        item = db.update(NOTES, "n", increment={"ints": -20})
        assert item["ints"] == -5
        read = db.get(NOTES, "n", consistent=True)
        assert read is not None
        assert read.data == item.data

    @_update
    @pytest.mark.parametrize("value", ["7", True, None, [1], {"n": 1}])
    def test_increment_of_a_non_number_names_the_field(
        self, db: TenantDatabase, value: Any
    ) -> None:
        before = db.put(NOTES, {"pk": "n", "label": value, "count": 1})
        with pytest.raises(InvalidRequest, match="label"):
            db.update(NOTES, "n", increment={"label": 1, "count": 1})
        assert db.get(NOTES, "n", consistent=True) == before

    @_update
    def test_update_remove(self, db: TenantDatabase) -> None:
        db.put(NOTES, {"pk": "r", "a": 1, "b": 2, "c": 3})
        item = db.update(NOTES, "r", remove=["a", "never"])
        assert item.data == {"b": 2, "c": 3}
        item = db.update(NOTES, "r", set={"d": 4}, increment={"b": 1}, remove=["c"])
        assert item.data == {"b": 3, "d": 4}
        assert db.get(NOTES, "r", consistent=True) == item

    @_update
    def test_update_of_a_missing_item(self, db: TenantDatabase) -> None:
        with pytest.raises(NotFound):
            db.update(NOTES, "missing", set={"a": 1})
        assert db.get(NOTES, "missing", consistent=True) is None
        created = db.update(
            NOTES, "missing", "s", set={"a": 1}, increment={"n": 2}, remove=["x"], upsert=True
        )
        assert (created.pk, created.sk, created.data) == ("missing", "s", {"a": 1, "n": 2})
        again = db.update(NOTES, "missing", "s", increment={"n": 2}, upsert=True)
        assert again.data == {"a": 1, "n": 4}
        assert db.get(NOTES, "missing", "s", consistent=True) == again

    @_update
    def test_upsert_with_if_absent_creates_once(self, db: TenantDatabase) -> None:
        db.update(NOTES, "once", set={"v": 1}, upsert=True, condition=IfAbsent())
        with pytest.raises(ConditionFailed):
            db.update(NOTES, "once", set={"v": 2}, upsert=True, condition=IfAbsent())
        read = db.get(NOTES, "once", consistent=True)
        assert read is not None
        assert read["v"] == 1
