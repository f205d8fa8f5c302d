"""Two tenants on one provider instance never see each other's items."""

from __future__ import annotations

import pytest

from tenantkit.db import (
    Database,
    DbCapability,
    IfAbsent,
    IfExists,
    IfVersion,
    Key,
    SortKey,
    TxCheck,
    TxPut,
)
from tenantkit.errors import ConditionFailed, NotFound, TransactionCanceled
from tenantkit.scoped import TenantDatabase
from tenantkit.testing.database._support import MEMBERS, NOTES, DatabaseSuite, keys_of, must_get

_isolation = pytest.mark.conformance("db", "isolation")


class IsolationTests(DatabaseSuite):
    """Two tenants on one provider instance never see each other's items."""

    @_isolation
    def test_same_key_in_two_tenants_is_two_items(
        self, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        mine = db.put(NOTES, {"pk": "shared", "sk": "k", "owner": "first"})
        assert other_db.get(NOTES, "shared", "k", consistent=True) is None
        theirs = other_db.put(NOTES, {"pk": "shared", "sk": "k", "owner": "second"})
        assert theirs.version != mine.version
        assert must_get(db, NOTES, "shared", "k") == mine
        assert must_get(other_db, NOTES, "shared", "k") == theirs
        assert other_db.delete(NOTES, "shared", "k") is True
        assert must_get(db, NOTES, "shared", "k") == mine
        assert other_db.delete(NOTES, "shared", "k") is False
        assert must_get(db, NOTES, "shared", "k") == mine

    @_isolation
    def test_other_tenant_cannot_change_items(
        self, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        mine = db.put(NOTES, {"pk": "p", "sk": "s", "n": 1})
        with pytest.raises(NotFound):
            other_db.update(NOTES, "p", "s", increment={"n": 1})
        with pytest.raises(ConditionFailed):
            other_db.put(NOTES, {"pk": "p", "sk": "s"}, condition=IfVersion(version=mine.version))
        with pytest.raises(ConditionFailed):
            other_db.put(NOTES, {"pk": "p", "sk": "s"}, condition=IfExists())
        with pytest.raises(ConditionFailed):
            other_db.delete(NOTES, "p", "s", condition=IfVersion(version=mine.version))
        assert other_db.delete(NOTES, "p", "s") is False
        created = other_db.put(NOTES, {"pk": "p", "sk": "s", "n": 100}, condition=IfAbsent())
        upserted = other_db.update(NOTES, "p", "s", increment={"n": 1}, upsert=True)
        assert upserted["n"] == 101
        assert created.version != mine.version
        assert must_get(db, NOTES, "p", "s") == mine
        assert db.query(NOTES, "p").items == [mine]

    @_isolation
    def test_other_tenant_lists_nothing(
        self, database: Database, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        caps = type(database).capabilities
        for n in range(3):
            db.put(NOTES, {"pk": "list", "sk": f"{n}"})
        db.put(MEMBERS, {"pk": "m", "team": "iso", "joined": "1", "email": "iso@x"})
        assert other_db.query(NOTES, "list").items == []
        assert other_db.query(NOTES, "list", sort=SortKey(op="gte", value="0")).items == []
        if DbCapability.BATCH in caps:
            assert other_db.batch_get(NOTES, [("list", "0"), ("list", "1")]) == []
        if DbCapability.INDEXES in caps:

            def indexed() -> None:
                assert keys_of(db.query_index(MEMBERS, "by_team", "iso").items) == [("m", "")]

            self._eventually(indexed)
            assert other_db.query_index(MEMBERS, "by_team", "iso").items == []
            assert other_db.query_index(MEMBERS, "by_email", "iso@x").items == []
        if DbCapability.TRANSACTIONS in caps:
            with pytest.raises(TransactionCanceled) as caught:
                other_db.transact_write(
                    [
                        TxPut(collection=NOTES, item={"pk": "list", "sk": "9"}),
                        TxCheck(collection=NOTES, key=Key(pk="list", sk="0"), condition=IfExists()),
                    ]
                )
            assert caught.value.reasons == [None, "ConditionalCheckFailed"]
            other_db.transact_write(
                [
                    TxPut(
                        collection=NOTES,
                        item={"pk": "list", "sk": "0", "other": True},
                        condition=IfAbsent(),
                    )
                ]
            )
            assert "other" not in must_get(db, NOTES, "list", "0").data
        if DbCapability.BATCH in caps:
            other_db.batch_put(NOTES, [{"pk": "list", "sk": "1", "other": True}])
            assert "other" not in must_get(db, NOTES, "list", "1").data
        assert [i.sk for i in db.query(NOTES, "list").items] == ["0", "1", "2"]
