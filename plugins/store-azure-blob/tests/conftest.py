"""Fixtures: Azure Blob providers on azurite, one fresh container per test."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tenantkit import ProviderContext, RetryPolicy, TenantStorage
from tenantkit.cursors import CursorSigner
from tenantkit.testing.scoped import tenant_storage
from tenantkit_store_azure_blob import AzureBlobSettings
from tenantkit_store_azure_blob.store import AzureBlobStore
from testharness.azurite import AzuriteServer

#: Retries without waiting, so tests that exhaust the budget stay fast.
#: One cursor key for every wrapper a test makes (a cursor from one works in another).
SIGNER = CursorSigner(b"0123456789abcdef0123456789abcdef")
FAST_RETRY = RetryPolicy(max_attempts=4, initial_delay=0.0, max_delay=0.0, sleep=lambda _: None)


@pytest.fixture
def container(azurite: AzuriteServer) -> str:
    name = f"tk-{secrets.token_hex(6)}"
    azurite.create_container(name)
    return name


@pytest.fixture
def make_settings(azurite: AzuriteServer, container: str) -> Callable[..., AzureBlobSettings]:
    """Settings for the test container; account key mode unless fields say otherwise."""

    def make(**fields: Any) -> AzureBlobSettings:
        values: dict[str, Any] = {"container": container}
        if not {"connection_string", "sas_token", "entra"} & fields.keys():
            values["account_url"] = azurite.account_url
            values.setdefault("account_key", azurite.account_key)
        values.update(fields)
        return AzureBlobSettings.model_validate(values)

    return make


@pytest.fixture
def make_store(
    make_settings: Callable[..., AzureBlobSettings],
) -> Iterator[Callable[..., AzureBlobStore]]:
    built: list[AzureBlobStore] = []

    def make(
        settings: AzureBlobSettings | None = None,
        *,
        tenant_id: str = "acme",
        retry: RetryPolicy = FAST_RETRY,
        **options: Any,
    ) -> AzureBlobStore:
        context = ProviderContext(tenant_id=tenant_id, provider="azure-blob", retry=retry)
        store = AzureBlobStore(settings or make_settings(), context, **options)
        built.append(store)
        return store

    yield make
    for store in built:
        store.close()


@pytest.fixture
def store(make_store: Callable[..., AzureBlobStore]) -> AzureBlobStore:
    return make_store()


@pytest.fixture
def scoped() -> Callable[..., TenantStorage]:
    """``scoped(store, tenant_id)``: the tenant-scoped wrapper application code gets."""

    def make(
        store: AzureBlobStore,
        tenant_id: str = "acme",
        *,
        retry: RetryPolicy = FAST_RETRY,
        secrets: tuple[str, ...] = (),
    ) -> TenantStorage:
        return tenant_storage(
            store, tenant_id, provider="azure-blob", retry=retry, secrets=secrets, signer=SIGNER
        )

    return make
