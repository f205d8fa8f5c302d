"""Amazon S3 (and S3-compatible) object storage provider for tenantkit (provider ``s3``).

A tenant secret selects it with::

    "storage": {"provider": "s3", "bucket": "acme-files", "region": "eu-west-1"}

Importing this module registers nothing heavy: boto3 is imported when the first
provider instance is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenantkit.hookspecs import hookimpl
from tenantkit.storage import StorageCapability
from tenantkit_store_s3.settings import S3Settings

if TYPE_CHECKING:
    from tenantkit.registry import ProviderContext, Register
    from tenantkit_store_s3.store import S3Store

__all__ = ["CAPABILITIES", "S3Settings", "S3Store", "create"]

#: What the provider supports: presigned GET and PUT URLs.
CAPABILITIES = frozenset({StorageCapability.PRESIGN})


def create(settings: S3Settings, context: ProviderContext) -> S3Store:
    """Build a provider instance for one tenant (the factory the core calls)."""
    from tenantkit_store_s3.store import S3Store

    return S3Store(settings, context)


@hookimpl
def register_storage_providers(register: Register) -> None:
    register(
        "s3",
        create,
        S3Settings,
        capabilities=CAPABILITIES,
        description="Amazon S3 or an S3-compatible store: one bucket, a prefix per tenant",
    )


def __getattr__(name: str) -> Any:
    if name == "S3Store":
        from tenantkit_store_s3.store import S3Store

        return S3Store
    raise AttributeError(name)
