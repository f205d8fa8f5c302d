"""Amazon DynamoDB database provider for tenantkit (provider name ``dynamodb``).

A tenant secret selects it with::

    "db": {"provider": "dynamodb", "table": "acme-data", "region": "eu-west-1"}

Importing this module registers nothing heavy: boto3 is imported when the first
provider instance is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenantkit.db import DbCapability
from tenantkit.hookspecs import hookimpl
from tenantkit_db_dynamodb.settings import DynamoDBSettings

if TYPE_CHECKING:
    from tenantkit.registry import ProviderContext, Register
    from tenantkit_db_dynamodb.database import DynamoDBDatabase

__all__ = ["CAPABILITIES", "DynamoDBDatabase", "DynamoDBSettings", "create"]

#: What the provider supports: every optional database feature.
CAPABILITIES = frozenset(DbCapability)


def create(settings: DynamoDBSettings, context: ProviderContext) -> DynamoDBDatabase:
    """Build a provider instance for one tenant (the factory the core calls)."""
    from tenantkit_db_dynamodb.database import DynamoDBDatabase

    return DynamoDBDatabase(settings, context)


@hookimpl
def register_db_providers(register: Register) -> None:
    register(
        "dynamodb",
        create,
        DynamoDBSettings,
        capabilities=CAPABILITIES,
        description="Amazon DynamoDB: one table per tenant, single-table design",
    )


def __getattr__(name: str) -> Any:
    if name == "DynamoDBDatabase":
        from tenantkit_db_dynamodb.database import DynamoDBDatabase

        return DynamoDBDatabase
    raise AttributeError(name)
