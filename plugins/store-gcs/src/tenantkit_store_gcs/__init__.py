"""Google Cloud Storage provider for tenantkit (provider ``gcs``).

A tenant secret selects it with::

    "storage": {"provider": "gcs", "bucket": "acme-files", "service_account_key": "{...}"}

Importing this module registers nothing heavy: httpx and google-auth are imported
when the first provider instance is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenantkit.hookspecs import hookimpl
from tenantkit.storage import StorageCapability
from tenantkit_store_gcs.settings import GCSSettings

if TYPE_CHECKING:
    from tenantkit.registry import ProviderContext, Register
    from tenantkit_store_gcs.store import GCSStore

__all__ = ["CAPABILITIES", "GCSSettings", "GCSStore", "create"]

#: What the provider supports: presigned GET and PUT URLs (V4 signed URLs).
CAPABILITIES = frozenset({StorageCapability.PRESIGN})


def create(settings: GCSSettings, context: ProviderContext) -> GCSStore:
    """Build a provider instance for one tenant (the factory the core calls)."""
    from tenantkit_store_gcs.store import GCSStore

    return GCSStore(settings, context)


@hookimpl
def register_storage_providers(register: Register) -> None:
    register(
        "gcs",
        create,
        GCSSettings,
        capabilities=CAPABILITIES,
        description="Google Cloud Storage: one bucket, a prefix per tenant",
    )


def __getattr__(name: str) -> Any:
    if name == "GCSStore":
        from tenantkit_store_gcs.store import GCSStore

        return GCSStore
    raise AttributeError(name)
