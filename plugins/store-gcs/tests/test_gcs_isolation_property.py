"""The core's storage isolation property over fake-gcs-server: two tenants, one bucket,
random interleaved operations, zero cross-tenant reads. The strategies and the check
are the core's own (core/tests/test_storage_isolation_property.py); each example runs
on a fresh root prefix of one bucket."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.tests.test_storage_isolation_property import Op, check_isolation, ops, tenant_pairs
from tenantkit_store_gcs import GCSSettings
from tenantkit_store_gcs.store import GCSStore


@pytest.mark.timeout(120)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(pair=tenant_pairs(), operations=st.lists(ops, max_size=40))
def test_gcs_tenants_never_see_each_others_objects(
    make_store: Callable[..., GCSStore],
    make_settings: Callable[..., GCSSettings],
    pair: tuple[str, str],
    operations: list[Op],
) -> None:
    store = make_store(make_settings(prefix=f"example-{secrets.token_hex(6)}"))
    check_isolation(store, pair, operations)
