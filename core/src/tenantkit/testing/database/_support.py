"""What every section of the database conformance suite shares: the schema, the
fixtures (two tenants on one provider instance) and small helpers."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any, ClassVar, Protocol, TypeVar

import pytest

from tenantkit.cursors import CursorSigner
from tenantkit.db import Database, DbCapability, IndexSpec, Item, Page, Schema
from tenantkit.registry import Kind
from tenantkit.retry import NO_RETRY
from tenantkit.scoped import TenantDatabase
from tenantkit.testing.settings import SettingsOwnershipConformance

T = TypeVar("T")

CONFORMANCE_SCHEMA = Schema(
    indexes=(
        IndexSpec(
            name="by_team", collection="members", partition_field="team", sort_field="joined"
        ),
        IndexSpec(name="by_email", collection="members", partition_field="email"),
    )
)
"""The secondary indexes the suite uses: one with a sort field, one without."""

NOTES = "notes"
MEMBERS = "members"


def keys_of(items: list[Item]) -> list[tuple[str, str]]:
    return [(item.pk, item.sk) for item in items]


def requires(database: Database, capability: DbCapability) -> None:
    if capability not in type(database).capabilities:
        pytest.skip(f"{type(database).__name__} does not declare {capability.value!r}")


class Fetch(Protocol):
    def __call__(self, *, cursor: str | None) -> Page: ...


def all_pages(fetch: Fetch, limit: int, cursor: str | None = None) -> tuple[list[Item], int]:
    """Follow cursors to the end; every page holds at most ``limit`` items."""
    items: list[Item] = []
    for pages in range(1, 1000):
        page = fetch(cursor=cursor)
        assert len(page.items) <= limit, f"page of {len(page.items)} items for limit {limit}"
        items.extend(page.items)
        if page.cursor is None:
            return items, pages
        cursor = page.cursor
    raise AssertionError("pagination did not end after 1,000 pages")


def tamper(cursor: str) -> str:
    body, _, tag = cursor.partition(".")
    middle = len(body) // 2
    flipped = "A" if body[middle] != "A" else "B"
    return f"{body[:middle]}{flipped}{body[middle + 1 :]}.{tag}"


def must_get(db: TenantDatabase, collection: str, pk: str, sk: str = "") -> Item:
    """The item at (pk, sk), read consistently; fails the test when it is absent."""
    item = db.get(collection, pk, sk, consistent=True)
    assert item is not None, f"{collection}[{pk!r}, {sk!r}] is missing"
    return item


class DatabaseSuite(SettingsOwnershipConformance):
    """The fixtures every section uses. Supply ``database`` in the subclass."""

    settings_kind: ClassVar[Kind] = "db"

    @pytest.fixture
    def settings_subject(self, database: Any) -> Any:
        """The instance whose settings ownership is checked."""
        return database

    eventual_seconds: ClassVar[float] = 5.0

    @pytest.fixture
    def database(self) -> Database:
        """The provider under test: override this fixture in the subclass."""
        raise NotImplementedError(
            f"{type(self).__name__} must define a `database` fixture returning the provider"
        )

    @pytest.fixture
    def signer(self) -> CursorSigner:
        return CursorSigner(secrets.token_bytes(32))

    @pytest.fixture
    def tenant_ids(self) -> tuple[str, str]:
        first = f"tk{secrets.token_hex(5)}"
        return first, f"{first}-1"

    @pytest.fixture
    def db(
        self, database: Database, signer: CursorSigner, tenant_ids: tuple[str, str]
    ) -> TenantDatabase:
        """The first tenant's database."""
        return self._scoped(database, signer, tenant_ids[0])

    @pytest.fixture
    def other_db(
        self, database: Database, signer: CursorSigner, tenant_ids: tuple[str, str]
    ) -> TenantDatabase:
        """The second tenant's database, on the same provider instance."""
        return self._scoped(database, signer, tenant_ids[1])

    @staticmethod
    def _scoped(database: Database, signer: CursorSigner, tenant_id: str) -> TenantDatabase:
        provider = type(database).__name__.lower()
        return TenantDatabase(
            database,
            tenant_id=tenant_id,
            provider=provider,
            capabilities=frozenset(str(c) for c in type(database).capabilities),
            signer=signer,
            schema=CONFORMANCE_SCHEMA,
            retry=NO_RETRY,
        )

    def _eventually(self, check: Callable[[], T]) -> T:
        """Run ``check`` until it stops failing an assertion or ``eventual_seconds`` pass."""
        deadline = time.monotonic() + self.eventual_seconds
        while True:
            try:
                return check()
            except AssertionError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)
