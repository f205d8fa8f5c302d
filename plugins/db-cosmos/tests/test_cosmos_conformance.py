"""The database conformance kit, on the Cosmos DB provider against the stand-in server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tenantkit.testing import CONFORMANCE_SCHEMA, DatabaseConformance
from tenantkit_db_cosmos.database import CosmosDatabase


class TestCosmosConformance(DatabaseConformance):
    @pytest.fixture
    def database(self, make_database: Callable[..., CosmosDatabase]) -> CosmosDatabase:
        return make_database(schema=CONFORMANCE_SCHEMA)
