"""Fixtures: a test database on the harness's PostgreSQL server, and providers on it.

Every test gets its own PostgreSQL schema, so tests never see each other's rows.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from psycopg import sql

from tenantkit import IndexSpec, Schema, TenantDatabase
from tenantkit.cursors import CursorSigner
from tenantkit.registry import ProviderContext
from tenantkit.retry import RetryPolicy
from tenantkit_db_postgres import PostgresDatabase, PostgresSettings

if TYPE_CHECKING:
    from testharness.postgres import PostgresServer

TEST_DATABASE = "tenantkit_postgres_tests"

SCHEMA = Schema(
    indexes=(
        IndexSpec(name="by_email", collection="users", partition_field="email"),
        IndexSpec(
            name="by_owner", collection="notes", partition_field="owner", sort_field="created"
        ),
    )
)

MakeDatabase = Callable[..., PostgresDatabase]


@pytest.fixture(scope="session")
def pg_dsn(postgres_server: PostgresServer) -> str:
    """The DSN of a database made for these tests (superuser ``postgres``)."""
    return postgres_server.create_database(TEST_DATABASE)


@pytest.fixture
def admin(pg_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """A superuser connection to the test database (autocommit)."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def schema_name(pg_dsn: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL schema, dropped after the test."""
    name = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def make_db(pg_dsn: str, schema_name: str) -> Iterator[MakeDatabase]:
    """Build providers on the test schema; every one is closed after the test."""
    made: list[PostgresDatabase] = []

    def make(
        tenant_id: str = "acme", *, schema: Schema = SCHEMA, **overrides: Any
    ) -> PostgresDatabase:
        fields: dict[str, Any] = {"dsn": pg_dsn, "schema_name": schema_name, **overrides}
        settings = PostgresSettings.model_validate(fields)
        db = PostgresDatabase(
            settings, ProviderContext(tenant_id=tenant_id, provider="postgres", schema=schema)
        )
        made.append(db)
        return db

    yield make
    for db in made:
        db.close()
    # A closed connection's backend exits a moment after the client hangs up; wait, so
    # the next test counts only its own connections.
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tenantkit'"
        ).fetchone() != (0,):
            time.sleep(0.02)


@pytest.fixture
def database(make_db: MakeDatabase) -> PostgresDatabase:
    db = make_db()
    db.ensure_schema(SCHEMA)
    return db


Scope = Callable[..., TenantDatabase]


@pytest.fixture
def scope() -> Scope:
    """``scope(db, tenant_id="acme", retry=None)``: the tenant-scoped wrapper application
    code would get for ``db``."""

    def scoped(
        db: PostgresDatabase, tenant_id: str = "acme", *, retry: RetryPolicy | None = None
    ) -> TenantDatabase:
        return TenantDatabase(
            db,
            tenant_id=tenant_id,
            provider="postgres",
            capabilities=frozenset(str(c) for c in db.capabilities),
            signer=CursorSigner(b"postgres-tests-cursor-key-0123456789"),
            schema=SCHEMA,
            retry=retry,
        )

    return scoped


@pytest.fixture
def tenant(database: PostgresDatabase, scope: Scope) -> TenantDatabase:
    return scope(database)
