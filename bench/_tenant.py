"""The tenant-scoped wrapper the storage benchmarks time, as applications reach a store."""

from __future__ import annotations

import os

from tenantkit import TenantStorage
from tenantkit.cursors import CursorSigner
from tenantkit.storage import ObjectStore

TENANT = "bench"


def tenant_storage(store: ObjectStore, provider: str) -> TenantStorage:
    """``store`` behind :class:`TenantStorage` for the tenant ``bench`` (keys land
    under ``bench/``), with a fresh cursor key and the default retry policy."""
    return TenantStorage(
        store,
        tenant_id=TENANT,
        provider=provider,
        capabilities=frozenset(store.capabilities),
        signer=CursorSigner(os.urandom(32)),
    )
