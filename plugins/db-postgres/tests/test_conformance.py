"""The database conformance kit against the ``postgres`` provider on a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tenantkit.registry import ProviderContext
from tenantkit_db_postgres import PostgresDatabase, PostgresSettings

kit = pytest.importorskip(
    "tenantkit.testing.database", reason="this tenantkit has no database conformance kit"
)


class TestPostgresConformance(kit.DatabaseConformance):  # type: ignore[misc,name-defined]
    @pytest.fixture
    def database(self, pg_dsn: str, schema_name: str) -> Iterator[PostgresDatabase]:
        schema = kit.CONFORMANCE_SCHEMA
        db = PostgresDatabase(
            PostgresSettings.model_validate({"dsn": pg_dsn, "schema_name": schema_name}),
            ProviderContext(tenant_id="conformance", provider="postgres", schema=schema),
        )
        db.ensure_schema(schema)
        yield db
        db.close()
