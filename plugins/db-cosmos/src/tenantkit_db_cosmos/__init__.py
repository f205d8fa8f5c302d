"""Azure Cosmos DB for NoSQL database provider for tenantkit (provider name ``cosmos``).

A tenant secret selects it with::

    "db": {"provider": "cosmos", "endpoint": "https://acct.documents.azure.com",
           "database": "app", "container": "tenants", "key": "..."}

Importing this module registers nothing heavy: httpx and the provider are imported
when the first provider instance is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenantkit.db import DbCapability
from tenantkit.hookspecs import hookimpl
from tenantkit_db_cosmos.settings import CosmosSettings

if TYPE_CHECKING:
    from tenantkit.registry import ProviderContext, Register
    from tenantkit_db_cosmos.database import CosmosDatabase

__all__ = ["CAPABILITIES", "CosmosDatabase", "CosmosSettings", "create"]

#: Every optional database feature: a tenant is one logical partition, so a
#: transactional batch covers any of its items.
CAPABILITIES = frozenset(
    {DbCapability.TRANSACTIONS, DbCapability.BATCH, DbCapability.INDEXES, DbCapability.TTL}
)


def create(settings: CosmosSettings, context: ProviderContext) -> CosmosDatabase:
    """Build a provider instance for one tenant (the factory the core calls)."""
    from tenantkit_db_cosmos.database import CosmosDatabase

    return CosmosDatabase(settings, context)


@hookimpl
def register_db_providers(register: Register) -> None:
    register(
        "cosmos",
        create,
        CosmosSettings,
        capabilities=CAPABILITIES,
        description="Azure Cosmos DB for NoSQL: one logical partition per tenant, REST API",
    )


def __getattr__(name: str) -> Any:
    if name == "CosmosDatabase":
        from tenantkit_db_cosmos.database import CosmosDatabase

        return CosmosDatabase
    raise AttributeError(name)
