"""The tenant-scoped wrapper the storage benchmarks time, as applications reach a store."""

from __future__ import annotations

from tenantkit import TenantStorage
from tenantkit.retry import RetryPolicy
from tenantkit.storage import ObjectStore
from tenantkit.testing.scoped import tenant_storage as _scoped


def tenant_storage(store: ObjectStore, provider: str) -> TenantStorage:
    """``store`` behind :class:`TenantStorage` for the tenant ``bench`` (keys land
    under ``bench/``), with the default retry policy, as a deployment has it."""
    return _scoped(store, "bench", provider=provider, retry=RetryPolicy())
