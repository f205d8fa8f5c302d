"""Azure Cosmos DB for NoSQL database provider for tenantkit (provider name ``cosmos``).

A tenant secret selects it with::

    "db": {"provider": "cosmos", "endpoint": "https://acct.documents.azure.com",
           "database": "app", "container": "tenants", "key": "..."}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tenantkit
from tenantkit_db_cosmos.database import CosmosDatabase
from tenantkit_db_cosmos.settings import CosmosSettings

if TYPE_CHECKING:
    from tenantkit.registry import Register

__all__ = ["CosmosDatabase", "CosmosSettings", "register_db_providers"]


@tenantkit.hookimpl
def register_db_providers(register: Register) -> None:
    register(
        "cosmos",
        CosmosDatabase,
        CosmosSettings,
        description="Azure Cosmos DB for NoSQL: one logical partition per tenant, REST API",
    )
