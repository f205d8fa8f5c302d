"""Amazon DynamoDB database provider for tenantkit (provider name ``dynamodb``).

A tenant secret selects it with::

    "db": {"provider": "dynamodb", "table": "acme-data", "region": "eu-west-1"}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tenantkit
from tenantkit_db_dynamodb.database import DynamoDBDatabase
from tenantkit_db_dynamodb.settings import DynamoDBSettings

if TYPE_CHECKING:
    from tenantkit.registry import Register

__all__ = ["DynamoDBDatabase", "DynamoDBSettings", "register_db_providers"]


@tenantkit.hookimpl
def register_db_providers(register: Register) -> None:
    register(
        "dynamodb",
        DynamoDBDatabase,
        DynamoDBSettings,
        description="Amazon DynamoDB: one table per tenant, single-table design",
    )
