"""A provider instance behind the core's tenant-scoped wrapper, for tests and benchmarks.

The resolver builds :class:`tenantkit.TenantStorage` from a tenant's configuration;
a provider's own tests and the conformance kit wrap an instance they built themselves,
the way the resolver would.
"""

from __future__ import annotations

import secrets as _secrets
from collections.abc import Sequence

from tenantkit.cursors import CursorSigner
from tenantkit.retry import NO_RETRY, RetryPolicy
from tenantkit.scoped import TenantStorage
from tenantkit.storage import ObjectStore

__all__ = ["tenant_storage"]


def tenant_storage(
    store: ObjectStore,
    tenant_id: str,
    *,
    provider: str | None = None,
    signer: CursorSigner | None = None,
    retry: RetryPolicy = NO_RETRY,
    secrets: Sequence[str] = (),
) -> TenantStorage:
    """``store`` as ``tenant_id`` reaches it: its declared capabilities, ``provider``
    (the class name by default) in errors, a cursor signer (a fresh key by default)
    and ``retry`` (none by default, so a test sees the first failure)."""
    return TenantStorage(
        store,
        tenant_id=tenant_id,
        provider=provider or type(store).__name__,
        capabilities=frozenset(str(c) for c in store.capabilities),
        signer=signer or CursorSigner(_secrets.token_bytes(32)),
        retry=retry,
        secrets=secrets,
    )
