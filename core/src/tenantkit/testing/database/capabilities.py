"""Capabilities, both ways: declared must work, undeclared must be ``Unsupported``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tenantkit.db import Database, DbCapability, Key, TxOp, TxPut
from tenantkit.errors import Unsupported
from tenantkit.scoped import TenantDatabase
from tenantkit.testing.database._support import CONFORMANCE_SCHEMA, MEMBERS, NOTES, DatabaseSuite
from tenantkit.testing.database.export import undeclared_export_calls

_capabilities = pytest.mark.conformance("db", "capabilities")


class CapabilityTests(DatabaseSuite):
    """Capabilities, both ways: declared must work, undeclared must be ``Unsupported``."""

    @_capabilities
    @pytest.mark.parametrize("capability", list(DbCapability))
    def test_declared_capability_is_implemented(
        self, database: Database, capability: DbCapability
    ) -> None:
        declared = type(database).capabilities
        assert all(isinstance(c, DbCapability) for c in declared)
        if capability not in declared:
            pytest.skip(f"{capability.value!r} not declared")
        methods = {
            DbCapability.BATCH: ("batch_get", "batch_put"),
            DbCapability.INDEXES: ("query_index",),
            DbCapability.TRANSACTIONS: ("transact_write",),
            DbCapability.TTL: (),
            DbCapability.EXPORT: ("scan_namespace", "restore"),
        }[capability]
        for method in methods:
            assert getattr(type(database), method) is not getattr(Database, method), method

    @_capabilities
    @pytest.mark.parametrize("capability", list(DbCapability))
    def test_undeclared_capability_is_unsupported(
        self,
        database: Database,
        db: TenantDatabase,
        tenant_ids: tuple[str, str],
        capability: DbCapability,
    ) -> None:
        if capability in type(database).capabilities:
            pytest.skip(f"{capability.value!r} is declared")
        ns = tenant_ids[0]
        index = CONFORMANCE_SCHEMA.indexes[0]
        wrapped: list[Callable[[], object]]
        raw: list[Callable[[], object]]
        match capability:
            case DbCapability.BATCH:
                wrapped = [
                    lambda: db.batch_get(NOTES, [("a", "")]),
                    lambda: db.batch_put(NOTES, [{"pk": "a"}]),
                ]
                raw = [
                    lambda: database.batch_get(ns, NOTES, [Key(pk="a")]),
                    lambda: database.batch_put(ns, NOTES, [{"pk": "a", "sk": ""}]),
                ]
            case DbCapability.INDEXES:
                wrapped = [lambda: db.query_index(MEMBERS, index.name, "red")]
                raw = [lambda: database.query_index(ns, index, "red")]
            case DbCapability.TRANSACTIONS:
                tx: list[TxOp] = [TxPut(collection=NOTES, item={"pk": "a", "sk": ""})]
                wrapped = [lambda: db.transact_write(tx)]
                raw = [lambda: database.transact_write(ns, tx)]
            case DbCapability.TTL:
                wrapped = [
                    lambda: db.put(NOTES, {"pk": "a"}, ttl=60),
                    lambda: db.update(NOTES, "a", set={"v": 1}, upsert=True, ttl=60),
                    lambda: db.transact_write([TxPut(collection=NOTES, item={"pk": "a"}, ttl=60)]),
                ]
                raw = [
                    lambda: database.put(ns, NOTES, {"pk": "a", "sk": ""}, ttl=60),
                    lambda: database.update(
                        ns, NOTES, Key(pk="a"), set={"v": 1}, upsert=True, ttl=60
                    ),
                ]
                if DbCapability.TRANSACTIONS in type(database).capabilities:
                    # A parameter, not a method: the provider must refuse it itself.
                    expiring: list[TxOp] = [
                        TxPut(collection=NOTES, item={"pk": "a", "sk": ""}, ttl=60)
                    ]
                    raw.append(lambda: database.transact_write(ns, expiring))
            case DbCapability.EXPORT:
                wrapped, raw = undeclared_export_calls(database, db, ns)
        for call in [*wrapped, *raw]:
            with pytest.raises(Unsupported):
                call()
        assert db.get(NOTES, "a", consistent=True) is None
