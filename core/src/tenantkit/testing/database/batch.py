"""Batch get and put (capability ``batch``)."""

from __future__ import annotations

import pytest

from tenantkit.db import MAX_BATCH_ITEMS, Database, DbCapability, Key
from tenantkit.errors import InvalidKey, InvalidRequest
from tenantkit.scoped import TenantDatabase
from tenantkit.testing.database._support import NOTES, DatabaseSuite, keys_of, requires

_batch = pytest.mark.conformance("db", "batch")


class BatchTests(DatabaseSuite):
    """Batch get and put (capability ``batch``)."""

    @_batch
    def test_batch_put_and_get_100_items_in_request_order(
        self, database: Database, db: TenantDatabase
    ) -> None:
        requires(database, DbCapability.BATCH)
        keys = [(f"b{n % 7}", f"{n:03d}") for n in range(MAX_BATCH_ITEMS)]
        db.batch_put(NOTES, [{"pk": pk, "sk": sk, "n": int(sk)} for pk, sk in keys])
        order = keys[1::2] + keys[::2][::-1]
        found = db.batch_get(NOTES, order)
        assert keys_of(found) == order
        assert [item["n"] for item in found] == [int(sk) for _, sk in order]
        assert len({item.version for item in found}) == MAX_BATCH_ITEMS
        read = db.get(NOTES, "b3", "010", consistent=True)
        assert read is not None
        assert read["n"] == 10

    @_batch
    def test_batch_get_leaves_out_missing_keys(
        self, database: Database, db: TenantDatabase
    ) -> None:
        requires(database, DbCapability.BATCH)
        db.batch_put(NOTES, [{"pk": "x", "sk": str(n), "n": n} for n in range(5)])
        wanted = [Key(pk="x", sk="4"), Key(pk="x", sk="nope"), Key(pk="x", sk="1"), Key(pk="y")]
        assert keys_of(db.batch_get(NOTES, wanted)) == [("x", "4"), ("x", "1")]
        assert db.batch_get(NOTES, [("nobody", "")]) == []
        assert db.batch_get("notes_b", [("x", "1")]) == []
        assert db.batch_get(NOTES, []) == []

    @_batch
    def test_batch_put_replaces_items(self, database: Database, db: TenantDatabase) -> None:
        requires(database, DbCapability.BATCH)
        old = db.put(NOTES, {"pk": "r", "a": 1, "b": 2})
        db.batch_put(NOTES, [{"pk": "r", "c": 3}, {"pk": "s", "sk": "1", "d": 4}])
        db.batch_put(NOTES, [])
        found = db.batch_get(NOTES, [("r", ""), ("s", "1")])
        assert [item.data for item in found] == [{"c": 3}, {"d": 4}]
        assert found[0].version != old.version
        assert found[0].sk == ""

    @_batch
    def test_batch_limits_and_bad_items(self, database: Database, db: TenantDatabase) -> None:
        requires(database, DbCapability.BATCH)
        too_many = [{"pk": f"k{n}"} for n in range(MAX_BATCH_ITEMS + 1)]
        with pytest.raises(InvalidRequest, match=str(MAX_BATCH_ITEMS)):
            db.batch_put(NOTES, too_many)
        with pytest.raises(InvalidRequest, match=str(MAX_BATCH_ITEMS)):
            db.batch_get(NOTES, [(f"k{n}", "") for n in range(MAX_BATCH_ITEMS + 1)])
        with pytest.raises(InvalidRequest, match="bad-name"):
            db.batch_put(NOTES, [{"pk": "ok1"}, {"pk": "ok2", "bad-name": 1}])
        with pytest.raises(InvalidKey, match="sk"):
            db.batch_put(NOTES, [{"pk": "ok1"}, {"pk": "ok2", "sk": "a\x00"}])
        with pytest.raises(InvalidKey, match="pk"):
            db.batch_get(NOTES, [("ok1", ""), ("o\x00k", "")])
        assert db.batch_get(NOTES, [("ok1", ""), ("ok2", ""), ("k0", "")]) == []
