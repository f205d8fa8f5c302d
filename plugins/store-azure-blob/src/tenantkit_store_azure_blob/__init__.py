"""Azure Blob Storage provider for tenantkit (provider ``azure-blob``).

A tenant secret selects it with::

    "storage": {"provider": "azure-blob", "account_url": "https://acme.blob.core.windows.net",
                "container": "files", "account_key": "..."}

Importing this module registers nothing heavy: httpx and the signing code are
imported when the first provider instance is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenantkit.hookspecs import hookimpl
from tenantkit.storage import StorageCapability
from tenantkit_store_azure_blob.settings import AzureBlobSettings

if TYPE_CHECKING:
    from tenantkit.registry import ProviderContext, Register
    from tenantkit_store_azure_blob.store import AzureBlobStore

__all__ = [
    "CAPABILITIES",
    "PRESIGNED_PUT_HEADERS",
    "AzureBlobSettings",
    "AzureBlobStore",
    "create",
]

#: What the provider supports: presigned GET and PUT URLs (SAS).
CAPABILITIES = frozenset({StorageCapability.PRESIGN})

#: Headers an uploader must send with a presigned PUT URL: Put Blob needs the blob type.
PRESIGNED_PUT_HEADERS = {"x-ms-blob-type": "BlockBlob"}


def create(settings: AzureBlobSettings, context: ProviderContext) -> AzureBlobStore:
    """Build a provider instance for one tenant (the factory the core calls)."""
    from tenantkit_store_azure_blob.store import AzureBlobStore

    return AzureBlobStore(settings, context)


@hookimpl
def register_storage_providers(register: Register) -> None:
    register(
        "azure-blob",
        create,
        AzureBlobSettings,
        capabilities=CAPABILITIES,
        description="Azure Blob Storage: one container, a prefix per tenant",
    )


def __getattr__(name: str) -> Any:
    if name == "AzureBlobStore":
        from tenantkit_store_azure_blob.store import AzureBlobStore

        return AzureBlobStore
    raise AttributeError(name)
