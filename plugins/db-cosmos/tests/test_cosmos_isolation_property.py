"""The core's two-tenant isolation property test, on Cosmos DB: both tenants share one
container of the stand-in server, and no read of one ever returns the other's data."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, settings

from core.tests.test_db_isolation_property import SCHEMA, TwoTenants
from tenantkit import ProviderContext
from tenantkit.db import Database
from tenantkit_db_cosmos import CosmosSettings
from tenantkit_db_cosmos.database import CosmosDatabase
from testharness.cosmos import CosmosServer


class CosmosTwoTenants(TwoTenants):
    provider_name = "cosmos"
    server: CosmosServer | None = None

    def make_provider(self) -> Database:
        server = self.server
        assert server is not None, "the cosmos_server fixture did not run"
        settings = CosmosSettings(
            endpoint=server.endpoint,
            database="isolation",
            container=f"c{secrets.token_hex(4)}",
            key=server.key,  # type: ignore[arg-type]
            ca_file=str(server.ca_file),
        )
        context = ProviderContext(tenant_id="acme", provider="cosmos", schema=SCHEMA)
        database = CosmosDatabase(settings, context)
        database.ensure_schema(SCHEMA)
        return database


@pytest.fixture(autouse=True)
def _server(cosmos_server: CosmosServer) -> Iterator[None]:
    CosmosTwoTenants.server = cosmos_server
    yield
    CosmosTwoTenants.server = None


# Fewer examples than on sqlite: every step is a few dozen HTTPS requests.
CosmosTwoTenants.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target],
)
TestCosmosTwoTenantsIsolation = CosmosTwoTenants.TestCase
