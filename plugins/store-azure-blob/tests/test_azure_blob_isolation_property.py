"""The core's storage isolation property over azure-blob: two tenants interleave random
operations in one azurite container (a fresh container per example), zero cross-tenant
reads, listings, copies or overwrites."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import pytest

from tenantkit import ProviderContext
from tenantkit.testing.storage_isolation import isolation_property
from tenantkit_store_azure_blob import AzureBlobSettings
from tenantkit_store_azure_blob.store import AzureBlobStore
from testharness.azurite import AzuriteServer


@pytest.mark.timeout(120)
def test_tenants_never_see_each_others_objects(azurite: AzuriteServer) -> None:
    @contextlib.contextmanager
    def fresh_store() -> Iterator[AzureBlobStore]:
        container = f"iso-{secrets.token_hex(6)}"
        azurite.create_container(container)
        settings = AzureBlobSettings(
            account_url=azurite.account_url,
            container=container,
            account_key=azurite.account_key,
            prefix="shared",
        )
        store = AzureBlobStore(settings, ProviderContext("isolation", "azure-blob"))
        try:
            yield store
        finally:
            store.close()

    isolation_property(fresh_store, max_examples=30)()
