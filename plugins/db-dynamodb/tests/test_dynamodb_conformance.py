"""The database conformance kit, on the DynamoDB provider against the moto server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tenantkit.testing import CONFORMANCE_SCHEMA, DatabaseConformance
from tenantkit_db_dynamodb.database import DynamoDBDatabase


class TestDynamoDBConformance(DatabaseConformance):
    @pytest.fixture
    def database(self, make_database: Callable[..., DynamoDBDatabase]) -> DynamoDBDatabase:
        return make_database(schema=CONFORMANCE_SCHEMA)
