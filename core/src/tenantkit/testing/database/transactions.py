"""Transactional writes (capability ``transactions``)."""

from __future__ import annotations

import pytest

from tenantkit.db import (
    MAX_TRANSACTION_OPS,
    Database,
    DbCapability,
    IfAbsent,
    IfExists,
    IfVersion,
    Key,
    TxCheck,
    TxDelete,
    TxOp,
    TxPut,
    TxUpdate,
)
from tenantkit.errors import (
    ConditionFailed,
    InvalidKey,
    InvalidRequest,
    TenantkitError,
    TransactionCanceled,
)
from tenantkit.scoped import TenantDatabase
from tenantkit.testing.database._support import NOTES, DatabaseSuite, must_get, requires

_tx = pytest.mark.conformance("db", "transactions")


class TransactionTests(DatabaseSuite):
    """Transactional writes (capability ``transactions``)."""

    @_tx
    def test_transaction_applies_every_operation(
        self, database: Database, db: TenantDatabase
    ) -> None:
        requires(database, DbCapability.TRANSACTIONS)
        kept = db.put(NOTES, {"pk": "acct", "sk": "a", "balance": 10})
        db.put(NOTES, {"pk": "acct", "sk": "b", "balance": 0})
        db.put(NOTES, {"pk": "old"})
        db.put("notes_b", {"pk": "guard", "v": 1})
        guard = must_get(db, "notes_b", "guard")
        db.transact_write(
            [
                TxUpdate(
                    collection=NOTES,
                    key=Key(pk="acct", sk="a"),
                    increment={"balance": -4},
                    condition=IfVersion(version=kept.version),
                ),
                TxUpdate(collection=NOTES, key=Key(pk="acct", sk="b"), increment={"balance": 4}),
                TxPut(
                    collection=NOTES,
                    item={"pk": "log", "sk": "1", "amount": 4},
                    condition=IfAbsent(),
                ),
                TxDelete(collection=NOTES, key=Key(pk="old"), condition=IfExists()),
                TxCheck(
                    collection="notes_b",
                    key=Key(pk="guard"),
                    condition=IfVersion(version=guard.version),
                ),
                TxUpdate(collection=NOTES, key=Key(pk="new"), set={"v": 1}, upsert=True),
            ]
        )
        assert must_get(db, NOTES, "acct", "a")["balance"] == 6
        assert must_get(db, NOTES, "acct", "b")["balance"] == 4
        assert must_get(db, NOTES, "log", "1").data == {"amount": 4}
        assert db.get(NOTES, "old", consistent=True) is None
        assert must_get(db, NOTES, "new").data == {"v": 1}
        assert must_get(db, "notes_b", "guard").version == guard.version
        assert must_get(db, NOTES, "acct", "a").version != kept.version

    @_tx
    def test_failed_transaction_applies_nothing(
        self, database: Database, db: TenantDatabase
    ) -> None:
        requires(database, DbCapability.TRANSACTIONS)
        stale = db.put(NOTES, {"pk": "acct", "balance": 10})
        current = db.put(NOTES, {"pk": "acct", "balance": 11})
        db.put(NOTES, {"pk": "victim", "v": 1})
        before = {k: must_get(db, NOTES, k) for k in ("acct", "victim")}
        ops: list[TxOp] = [
            TxUpdate(collection=NOTES, key=Key(pk="acct"), increment={"balance": -5}),
            TxPut(collection=NOTES, item={"pk": "fresh", "v": 1}),
            TxDelete(collection=NOTES, key=Key(pk="victim")),
            TxCheck(collection=NOTES, key=Key(pk="guard"), condition=IfExists()),
            TxUpdate(collection="notes_b", key=Key(pk="made"), set={"v": 1}, upsert=True),
        ]
        with pytest.raises(TransactionCanceled) as caught:
            db.transact_write(ops)
        assert isinstance(caught.value, ConditionFailed)
        assert caught.value.reasons == [None, None, None, "ConditionalCheckFailed", None]
        assert caught.value.failed_indexes == [3]
        assert {k: must_get(db, NOTES, k) for k in ("acct", "victim")} == before
        assert db.get(NOTES, "fresh", consistent=True) is None
        assert db.get("notes_b", "made", consistent=True) is None
        assert before["acct"].version == current.version != stale.version

    @_tx
    def test_transaction_reasons_name_every_failed_operation(
        self, database: Database, db: TenantDatabase
    ) -> None:
        requires(database, DbCapability.TRANSACTIONS)
        stale = db.put(NOTES, {"pk": "a", "n": 1})
        db.put(NOTES, {"pk": "a", "n": 2})
        db.put(NOTES, {"pk": "b"})
        ops: list[TxOp] = [
            TxPut(collection=NOTES, item={"pk": "b"}, condition=IfAbsent()),
            TxPut(collection=NOTES, item={"pk": "c"}),
            TxUpdate(
                collection=NOTES,
                key=Key(pk="a"),
                set={"n": 9},
                condition=IfVersion(version=stale.version),
            ),
            TxDelete(collection=NOTES, key=Key(pk="d"), condition=IfExists()),
            TxUpdate(collection=NOTES, key=Key(pk="missing"), set={"n": 1}),
        ]
        with pytest.raises(TransactionCanceled) as caught:
            db.transact_write(ops)
        reasons = caught.value.reasons
        assert len(reasons) == len(ops)
        assert reasons[:4] == [
            "ConditionalCheckFailed",
            None,
            "ConditionalCheckFailed",
            "ConditionalCheckFailed",
        ]
        assert reasons[4] is not None
        assert db.get(NOTES, "c", consistent=True) is None
        assert must_get(db, NOTES, "a")["n"] == 2

    @_tx
    def test_transaction_with_a_bad_increment_applies_nothing(
        self, database: Database, db: TenantDatabase
    ) -> None:
        requires(database, DbCapability.TRANSACTIONS)
        db.put(NOTES, {"pk": "a", "label": "text"})
        with pytest.raises(TenantkitError) as caught:
            db.transact_write(
                [
                    TxPut(collection=NOTES, item={"pk": "b"}),
                    TxUpdate(collection=NOTES, key=Key(pk="a"), increment={"label": 1}),
                ]
            )
        assert isinstance(caught.value, TransactionCanceled)
        assert caught.value.reasons[0] is None
        assert caught.value.reasons[1] is not None
        assert db.get(NOTES, "b", consistent=True) is None

    @_tx
    def test_transaction_input_errors(self, database: Database, db: TenantDatabase) -> None:
        requires(database, DbCapability.TRANSACTIONS)
        too_many = [
            TxPut(collection=NOTES, item={"pk": f"k{n}"}) for n in range(MAX_TRANSACTION_OPS + 1)
        ]
        with pytest.raises(InvalidRequest, match=str(MAX_TRANSACTION_OPS)):
            db.transact_write(too_many)
        bad_ops: list[tuple[list[TxOp], type[Exception], str]] = [
            ([TxPut(collection="Bad", item={"pk": "k"})], InvalidRequest, "'Bad'"),
            ([TxPut(collection=NOTES, item={"pk": "k", "a-b": 1})], InvalidRequest, "a-b"),
            ([TxPut(collection=NOTES, item={"pk": "k", "v": b"x"})], InvalidRequest, "v"),
            ([TxDelete(collection=NOTES, key=Key(pk="k\x00"))], InvalidKey, "pk"),
            ([TxUpdate(collection=NOTES, key=Key(pk="k"))], InvalidRequest, "update"),
            ([TxUpdate(collection=NOTES, key=Key(pk="k"), set={"sk": 1})], InvalidRequest, "'sk'"),
        ]
        for ops, error, name in bad_ops:
            with pytest.raises(error, match=name):
                db.transact_write([TxPut(collection=NOTES, item={"pk": "first"}), *ops])
        assert db.get(NOTES, "first", consistent=True) is None
        assert db.get(NOTES, "k0", consistent=True) is None

    @_tx
    def test_a_transaction_touches_each_item_once(
        self, database: Database, db: TenantDatabase
    ) -> None:
        requires(database, DbCapability.TRANSACTIONS)
        before = db.put(NOTES, {"pk": "twice", "n": 1})
        twice = Key(pk="twice")
        same_item: list[list[TxOp]] = [
            [
                TxPut(collection=NOTES, item={"pk": "twice"}),
                TxUpdate(collection=NOTES, key=twice, set={"n": 2}),
            ],
            [
                TxUpdate(collection=NOTES, key=twice, increment={"n": 1}),
                TxCheck(collection=NOTES, key=twice, condition=IfExists()),
            ],
            [
                TxDelete(collection=NOTES, key=twice),
                TxPut(collection=NOTES, item={"pk": "twice", "sk": ""}),
            ],
        ]
        for ops in same_item:
            with pytest.raises(InvalidRequest, match="once"):
                db.transact_write([TxPut(collection=NOTES, item={"pk": "first"}), *ops])
        assert db.get(NOTES, "first", consistent=True) is None
        assert must_get(db, NOTES, "twice") == before
        # The same key in another collection, or another sort key, is another item.
        db.transact_write(
            [
                TxUpdate(collection=NOTES, key=twice, increment={"n": 1}),
                TxPut(collection="notes_b", item={"pk": "twice"}),
                TxPut(collection=NOTES, item={"pk": "twice", "sk": "2"}),
            ]
        )
        assert must_get(db, NOTES, "twice")["n"] == 2
        assert must_get(db, "notes_b", "twice").data == {}
        assert must_get(db, NOTES, "twice", "2").data == {}
