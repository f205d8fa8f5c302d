"""Fixtures: DynamoDB providers on the moto server, one fresh table per test."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tenantkit import IndexSpec, ProviderContext, RetryPolicy, Schema, TenantDatabase
from tenantkit.cursors import CursorSigner
from tenantkit_db_dynamodb import DynamoDBSettings
from tenantkit_db_dynamodb.database import DynamoDBDatabase
from testharness.moto import MotoServer

SCHEMA = Schema(
    indexes=(
        IndexSpec(name="by_owner", collection="notes", partition_field="owner", sort_field="title"),
        IndexSpec(name="by_tag", collection="notes", partition_field="tag"),
    )
)

#: Retries without waiting, so tests that exhaust the budget stay fast.
FAST_RETRY = RetryPolicy(max_attempts=4, initial_delay=0.0, max_delay=0.0, sleep=lambda _: None)


def table_name() -> str:
    return f"tenantkit-{secrets.token_hex(4)}"


@pytest.fixture
def make_settings(moto_server: MotoServer) -> Callable[..., DynamoDBSettings]:
    def make(**fields: Any) -> DynamoDBSettings:
        values: dict[str, Any] = {
            "table": table_name(),
            "region": moto_server.region,
            "endpoint_url": moto_server.endpoint_url,
        }
        values.update(fields)
        return DynamoDBSettings.model_validate(values)

    return make


@pytest.fixture
def make_database(
    make_settings: Callable[..., DynamoDBSettings],
) -> Iterator[Callable[..., DynamoDBDatabase]]:
    built: list[DynamoDBDatabase] = []

    def make(
        settings: DynamoDBSettings | None = None,
        *,
        schema: Schema = SCHEMA,
        ensure: bool = True,
        tenant_id: str = "acme",
        retry: RetryPolicy = FAST_RETRY,
    ) -> DynamoDBDatabase:
        context = ProviderContext(
            tenant_id=tenant_id, provider="dynamodb", schema=schema, retry=retry
        )
        db = DynamoDBDatabase(settings or make_settings(), context)
        built.append(db)
        if ensure:
            db.ensure_schema(schema)
        return db

    yield make
    for db in built:
        db.close()


@pytest.fixture
def database(make_database: Callable[..., DynamoDBDatabase]) -> DynamoDBDatabase:
    return make_database()


@pytest.fixture
def scoped() -> Callable[..., TenantDatabase]:
    """``scoped(db, tenant_id)``: the tenant-scoped wrapper application code gets."""

    def make(
        db: DynamoDBDatabase,
        tenant_id: str = "acme",
        *,
        retry: RetryPolicy = FAST_RETRY,
        secrets: tuple[str, ...] = (),
    ) -> TenantDatabase:
        return TenantDatabase(
            db,
            tenant_id=tenant_id,
            provider="dynamodb",
            capabilities=frozenset(db.capabilities),
            signer=CursorSigner(b"0123456789abcdef0123456789abcdef"),
            schema=SCHEMA,
            retry=retry,
            secrets=secrets,
        )

    return make


@pytest.fixture
def tenant_db(database: DynamoDBDatabase, scoped: Callable[..., TenantDatabase]) -> TenantDatabase:
    return scoped(database)


@pytest.fixture
def raw_table(database: DynamoDBDatabase, moto_server: MotoServer) -> tuple[Any, str]:
    """A plain boto3 client on the moto server and the name of ``database``'s table."""
    return moto_server.client("dynamodb"), database._table
