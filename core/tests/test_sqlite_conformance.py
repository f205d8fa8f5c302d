"""The database conformance suite against the embedded sqlite provider.

It runs three times: on an in-memory database, on a file, and on a provider that
declares no optional capability (the required methods of sqlite and nothing else),
which exercises the suite's "undeclared capability must be unsupported" half.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tenantkit.db import JSON, Condition, Database, Item, Key, Page
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
