"""The database conformance suite against the embedded sqlite provider.

It runs four times: on an in-memory database, on a file, on a provider that
declares no optional capability (the required methods of sqlite and nothing else),
which exercises the suite's "undeclared capability must be unsupported" half, and on
one that declares everything but ``ttl`` (a parameter, not a method: the provider
must refuse it in ``put``, ``update`` and the puts of a transaction).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tenantkit.cursors import CursorSigner
from tenantkit.db import JSON, Condition, Database, DbCapability, Item, Key, Page, TxOp, TxPut
from tenantkit.errors import Unsupported
from tenantkit.providers.sqlite import SqliteDatabase, SqliteSettings
from tenantkit.registry import ProviderContext
from tenantkit.testing import CONFORMANCE_SCHEMA, DatabaseConformance


def _open(path: str) -> SqliteDatabase:
    context = ProviderContext(tenant_id="conformance", provider="sqlite", schema=CONFORMANCE_SCHEMA)
    db = SqliteDatabase(SqliteSettings(path=path), context)
    db.ensure_schema(CONFORMANCE_SCHEMA)
    return db


class TestSqliteInMemory(DatabaseConformance):
    @pytest.fixture
    def database(self) -> Iterator[Database]:
        db = _open(":memory:")
        yield db
        db.close()


class TestSqliteFile(DatabaseConformance):
    @pytest.fixture
    def database(self, tmp_path: Path) -> Iterator[Database]:
        db = _open(str(tmp_path / "conformance.db"))
        yield db
        db.close()


class RequiredOnly(Database):
    """Only the required methods (delegated to sqlite); no optional capability."""

    def __init__(self, inner: SqliteDatabase) -> None:
        self._inner = inner

    def get(self, ns: str, collection: str, key: Key, *, consistent: bool = False) -> Item | None:
        return self._inner.get(ns, collection, key, consistent=consistent)

    def put(
        self,
        ns: str,
        collection: str,
        item: Mapping[str, JSON],
        *,
        condition: Condition | None = None,
        ttl: float | None = None,
    ) -> Item:
        if ttl is not None:
            raise Unsupported("no item expiry")
        return self._inner.put(ns, collection, item, condition=condition)

    def update(
        self,
        ns: str,
        collection: str,
        key: Key,
        *,
        set: Mapping[str, JSON] | None = None,
        increment: Mapping[str, int | float] | None = None,
        remove: Sequence[str] = (),
        condition: Condition | None = None,
        upsert: bool = False,
        ttl: float | None = None,
    ) -> Item:
        if ttl is not None:
            raise Unsupported("no item expiry")
        return self._inner.update(
            ns,
            collection,
            key,
            set=set,
            increment=increment,
            remove=remove,
            condition=condition,
            upsert=upsert,
        )

    def delete(
        self, ns: str, collection: str, key: Key, *, condition: Condition | None = None
    ) -> bool:
        return self._inner.delete(ns, collection, key, condition=condition)

    def query(self, ns: str, collection: str, pk: str, **options: Any) -> Page:
        return self._inner.query(ns, collection, pk, **options)


class TestRequiredOnly(DatabaseConformance):
    settings_provider = "sqlite"  # a wrapper of the registered provider

    @pytest.fixture
    def database(self) -> Iterator[Database]:
        inner = _open(":memory:")
        yield RequiredOnly(inner)
        inner.close()


def test_the_required_only_provider_declares_nothing() -> None:
    assert RequiredOnly.capabilities == frozenset()


class WithoutTTL(SqliteDatabase):
    """sqlite with every optional capability but item expiry."""

    capabilities = SqliteDatabase.capabilities - {DbCapability.TTL}

    def put(
        self,
        ns: str,
        collection: str,
        item: Mapping[str, JSON],
        *,
        condition: Condition | None = None,
        ttl: float | None = None,
    ) -> Item:
        if ttl is not None:
            raise Unsupported("no item expiry")
        return super().put(ns, collection, item, condition=condition)

    def update(self, ns: str, collection: str, key: Key, **options: Any) -> Item:
        if options.get("ttl") is not None:
            raise Unsupported("no item expiry")
        return super().update(ns, collection, key, **options)

    def transact_write(self, ns: str, ops: Sequence[TxOp]) -> None:
        if any(isinstance(op, TxPut) and op.ttl is not None for op in ops):
            raise Unsupported("no item expiry")
        super().transact_write(ns, ops)


class TestWithoutTTL(DatabaseConformance):
    @pytest.fixture
    def database(self) -> Iterator[Database]:
        context = ProviderContext(
            tenant_id="conformance", provider="sqlite", schema=CONFORMANCE_SCHEMA
        )
        db = WithoutTTL(SqliteSettings(path=":memory:"), context)
        db.ensure_schema(CONFORMANCE_SCHEMA)
        yield db
        db.close()


class LenientTransactions(WithoutTTL):
    """The bug the kit must catch: a transaction's ``ttl`` silently ignored."""

    def transact_write(self, ns: str, ops: Sequence[TxOp]) -> None:
        SqliteDatabase.transact_write(self, ns, ops)


def test_the_kit_catches_a_transaction_ttl_left_unchecked() -> None:
    context = ProviderContext(tenant_id="conformance", provider="sqlite", schema=CONFORMANCE_SCHEMA)
    database = LenientTransactions(SqliteSettings(path=":memory:"), context)
    database.ensure_schema(CONFORMANCE_SCHEMA)
    kit = DatabaseConformance()
    tenants = ("tkttl", "tkttl-1")
    db = kit._scoped(database, CursorSigner(b"k" * 32), tenants[0])
    with pytest.raises(pytest.fail.Exception, match="Unsupported"):
        kit.test_undeclared_capability_is_unsupported(database, db, tenants, DbCapability.TTL)
    database.close()
