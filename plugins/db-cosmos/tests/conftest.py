"""Fixtures: Cosmos DB providers on the stand-in server, one fresh container per test."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tenantkit import IndexSpec, ProviderContext, RetryPolicy, Schema
from tenantkit_db_cosmos import CosmosSettings
from tenantkit_db_cosmos.database import CosmosDatabase
from testharness.cosmos import CosmosServer

SCHEMA = Schema(
    indexes=(
        IndexSpec(name="by_owner", collection="notes", partition_field="owner", sort_field="title"),
        IndexSpec(name="by_tag", collection="notes", partition_field="tag"),
    )
)

#: Retries without waiting, so tests that exhaust the budget stay fast.
FAST_RETRY = RetryPolicy(max_attempts=4, initial_delay=0.0, max_delay=0.0, sleep=lambda _: None)


@pytest.fixture
def make_settings(cosmos_server: CosmosServer) -> Callable[..., CosmosSettings]:
    def make(**fields: Any) -> CosmosSettings:
        values: dict[str, Any] = {
            "endpoint": cosmos_server.endpoint,
            "database": "tenantkit",
            "container": f"c{secrets.token_hex(4)}",
            "key": cosmos_server.key,
            "ca_file": str(cosmos_server.ca_file),
        }
        values.update(fields)
        return CosmosSettings.model_validate(values)

    return make


@pytest.fixture
def make_database(
    make_settings: Callable[..., CosmosSettings],
) -> Iterator[Callable[..., CosmosDatabase]]:
    built: list[CosmosDatabase] = []

    def make(
        settings: CosmosSettings | None = None,
        *,
        schema: Schema = SCHEMA,
        ensure: bool = True,
        tenant_id: str = "acme",
        retry: RetryPolicy = FAST_RETRY,
        cls: type[CosmosDatabase] = CosmosDatabase,
    ) -> CosmosDatabase:
        context = ProviderContext(
            tenant_id=tenant_id, provider="cosmos", schema=schema, retry=retry
        )
        db = cls(settings or make_settings(), context)
        built.append(db)
        if ensure:
            db.ensure_schema(schema)
        return db

    yield make
    for db in built:
        db.close()
