"""Item expiry (capability ``ttl``); the section sleeps about two seconds."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import pytest

from tenantkit.db import Database, DbCapability, IfAbsent, IfExists, TxPut
from tenantkit.errors import ConditionFailed, InvalidRequest, NotFound
from tenantkit.scoped import TenantDatabase
from tenantkit.testing.database._support import (
    MEMBERS,
    NOTES,
    DatabaseSuite,
    all_pages,
    keys_of,
    must_get,
    requires,
)

_ttl = pytest.mark.conformance("db", "ttl")


class TtlTests(DatabaseSuite):
    """Item expiry (capability ``ttl``); the section sleeps about two seconds."""

    @_ttl
    def test_ttl_sets_an_expiry_that_updates_keep(
        self, database: Database, db: TenantDatabase
    ) -> None:
        requires(database, DbCapability.TTL)
        start = time.time()
        item = db.put(NOTES, {"pk": "t", "v": 1}, ttl=600)
        assert item.expires_at is not None
        assert start + 599 <= item.expires_at <= time.time() + 602
        assert must_get(db, NOTES, "t").expires_at == item.expires_at
        updated = db.update(NOTES, "t", set={"v": 2})
        assert updated.expires_at == item.expires_at
        extended = db.update(NOTES, "t", set={"v": 3}, ttl=3600)
        assert extended.expires_at is not None
        assert start + 3599 <= extended.expires_at <= time.time() + 3602
        assert must_get(db, NOTES, "t").expires_at == extended.expires_at
        forever = db.put(NOTES, {"pk": "t", "v": 4})
        assert forever.expires_at is None
        assert must_get(db, NOTES, "t").expires_at is None
        made = db.update(NOTES, "u", set={"v": 1}, upsert=True, ttl=60)
        assert made.expires_at is not None
        assert start + 59 <= made.expires_at <= time.time() + 62

    @_ttl
    def test_expired_items_are_invisible_everywhere(
        self, database: Database, db: TenantDatabase
    ) -> None:
        requires(database, DbCapability.TTL)
        capabilities = type(database).capabilities
        start = time.time()
        db.put(NOTES, {"pk": "exp", "sk": "put"}, ttl=1)
        db.put(NOTES, {"pk": "exp", "sk": "update"})
        db.update(NOTES, "exp", "update", set={"v": 1}, ttl=1)
        db.put(NOTES, {"pk": "exp", "sk": "stays"})
        db.put(NOTES, {"pk": "exp", "sk": "long"}, ttl=600)
        if DbCapability.TRANSACTIONS in capabilities:
            db.transact_write([TxPut(collection=NOTES, item={"pk": "exp", "sk": "tx"}, ttl=1)])
        if DbCapability.INDEXES in capabilities:
            db.put(MEMBERS, {"pk": "gone", "team": "ttl", "joined": "1", "email": "t@x"}, ttl=1)
            db.put(MEMBERS, {"pk": "kept", "team": "ttl", "joined": "2", "email": "t@x"})
        alive = {"stays", "long"}
        assert {i.sk for i in db.query(NOTES, "exp").items} >= alive | {"put", "update"}
        assert must_get(db, NOTES, "exp", "put").expires_at is not None

        def expired() -> None:
            assert db.get(NOTES, "exp", "put", consistent=True) is None
            assert db.get(NOTES, "exp", "update", consistent=True) is None
            assert db.get(NOTES, "exp", "tx", consistent=True) is None
            assert {i.sk for i in db.query(NOTES, "exp").items} == alive
            paged, _ = all_pages(partial(db.query, NOTES, "exp", limit=1), 1)
            assert [i.sk for i in paged] == sorted(alive)
            if DbCapability.BATCH in capabilities:
                found = db.batch_get(NOTES, [("exp", "put"), ("exp", "stays"), ("exp", "tx")])
                assert keys_of(found) == [("exp", "stays")]
            if DbCapability.INDEXES in capabilities:
                assert keys_of(db.query_index(MEMBERS, "by_team", "ttl").items) == [("kept", "")]
                assert keys_of(db.query_index(MEMBERS, "by_email", "t@x").items) == [("kept", "")]

        # Expiry has whole-second resolution on some services: allow one extra second.
        deadline = start + 1 + 1.5 + self.eventual_seconds
        while True:
            try:
                expired()
                break
            except AssertionError:
                if time.time() > deadline:
                    raise
                time.sleep(0.25)
        # An expired item is absent to every write as well.
        assert db.delete(NOTES, "exp", "put") is False
        with pytest.raises(NotFound):
            db.update(NOTES, "exp", "update", set={"v": 2})
        with pytest.raises(ConditionFailed):
            db.put(NOTES, {"pk": "exp", "sk": "tx"}, condition=IfExists())
        again = db.put(NOTES, {"pk": "exp", "sk": "tx", "v": 2}, condition=IfAbsent())
        assert again.expires_at is None
        assert must_get(db, NOTES, "exp", "tx").data == {"v": 2}
        revived = db.update(NOTES, "exp", "update", set={"v": 3}, upsert=True)
        assert revived.data == {"v": 3}

    @_ttl
    @pytest.mark.parametrize("ttl", [0, -1, True, "60", float("nan"), float("inf")])
    def test_bad_ttl(self, database: Database, db: TenantDatabase, ttl: Any) -> None:
        requires(database, DbCapability.TTL)
        with pytest.raises(InvalidRequest, match="ttl"):
            db.put(NOTES, {"pk": "t"}, ttl=ttl)
        with pytest.raises(InvalidRequest, match="ttl"):
            db.update(NOTES, "t", set={"v": 1}, upsert=True, ttl=ttl)
        assert db.get(NOTES, "t", consistent=True) is None
