"""Google Cloud Storage provider for tenantkit (provider ``gcs``).

A tenant secret selects it with::

    "storage": {"provider": "gcs", "bucket": "acme-files", "service_account_key": "{...}"}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tenantkit
from tenantkit_store_gcs.settings import GCSSettings
from tenantkit_store_gcs.store import GCSStore

if TYPE_CHECKING:
    from tenantkit.registry import Register

__all__ = ["GCSSettings", "GCSStore", "register_storage_providers"]


@tenantkit.hookimpl
def register_storage_providers(register: Register) -> None:
    register(
        "gcs",
        GCSStore,
        GCSSettings,
        description="Google Cloud Storage: one bucket, a prefix per tenant",
    )
