"""Fixtures: S3 providers on the moto server, one fresh bucket per test."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tenantkit import ProviderContext, RetryPolicy, TenantStorage
from tenantkit.cursors import CursorSigner
from tenantkit.testing.scoped import tenant_storage
from tenantkit_store_s3 import S3Settings
from tenantkit_store_s3.store import MIN_PART_SIZE, S3Store
from testharness.moto import MotoServer

#: Retries without waiting, so tests that exhaust the budget stay fast.
#: One cursor key for every wrapper a test makes (a cursor from one works in another).
SIGNER = CursorSigner(b"0123456789abcdef0123456789abcdef")
FAST_RETRY = RetryPolicy(max_attempts=4, initial_delay=0.0, max_delay=0.0, sleep=lambda _: None)


@pytest.fixture
def s3(moto_server: MotoServer) -> Any:
    """A plain boto3 S3 client on the moto server."""
    return moto_server.client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"tenantkit-{secrets.token_hex(4)}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def make_settings(moto_server: MotoServer, bucket: str) -> Callable[..., S3Settings]:
    def make(**fields: Any) -> S3Settings:
        values: dict[str, Any] = {
            "bucket": bucket,
            "region": moto_server.region,
            "endpoint_url": moto_server.endpoint_url,
        }
        values.update(fields)
        return S3Settings.model_validate(values)

    return make


@pytest.fixture
def make_store(make_settings: Callable[..., S3Settings]) -> Iterator[Callable[..., S3Store]]:
    built: list[S3Store] = []

    def make(
        settings: S3Settings | None = None,
        *,
        tenant_id: str = "acme",
        retry: RetryPolicy = FAST_RETRY,
        part_size: int = MIN_PART_SIZE,
        max_concurrency: int = 4,
    ) -> S3Store:
        context = ProviderContext(tenant_id=tenant_id, provider="s3", retry=retry)
        store = S3Store(
            settings or make_settings(),
            context,
            part_size=part_size,
            max_concurrency=max_concurrency,
        )
        built.append(store)
        return store

    yield make
    for store in built:
        store.close()


@pytest.fixture
def store(make_store: Callable[..., S3Store]) -> S3Store:
    return make_store()


@pytest.fixture
def scoped() -> Callable[..., TenantStorage]:
    """``scoped(store, tenant_id)``: the tenant-scoped wrapper application code gets."""

    def make(
        store: S3Store,
        tenant_id: str = "acme",
        *,
        retry: RetryPolicy = FAST_RETRY,
        secrets: tuple[str, ...] = (),
    ) -> TenantStorage:
        return tenant_storage(
            store, tenant_id, provider="s3", retry=retry, secrets=secrets, signer=SIGNER
        )

    return make


@pytest.fixture
def tenant_store(store: S3Store, scoped: Callable[..., TenantStorage]) -> TenantStorage:
    return scoped(store)
