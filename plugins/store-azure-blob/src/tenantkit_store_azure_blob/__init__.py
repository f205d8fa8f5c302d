"""Azure Blob Storage provider for tenantkit (provider ``azure-blob``).

A tenant secret selects it with::

    "storage": {"provider": "azure-blob", "account_url": "https://acme.blob.core.windows.net",
                "container": "files", "account_key": "..."}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tenantkit
from tenantkit_store_azure_blob.settings import AzureBlobSettings
from tenantkit_store_azure_blob.store import AzureBlobStore

if TYPE_CHECKING:
    from tenantkit.registry import Register

__all__ = ["AzureBlobSettings", "AzureBlobStore", "register_storage_providers"]


@tenantkit.hookimpl
def register_storage_providers(register: Register) -> None:
    register(
        "azure-blob",
        AzureBlobStore,
        AzureBlobSettings,
        description="Azure Blob Storage: one container, a prefix per tenant",
    )
