"""The core's storage isolation property over fake-gcs-server: two tenants, one bucket,
random interleaved operations, zero cross-tenant reads, listings, copies or overwrites.
The strategies and the check are the core's own (``tenantkit.testing.storage_isolation``);
each example runs on a fresh root prefix of one bucket."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator

import pytest

from tenantkit.testing.storage_isolation import isolation_property
from tenantkit_store_gcs import GCSSettings
from tenantkit_store_gcs.store import GCSStore


@pytest.mark.timeout(120)
def test_gcs_tenants_never_see_each_others_objects(
    make_store: Callable[..., GCSStore],
    make_settings: Callable[..., GCSSettings],
) -> None:
    @contextlib.contextmanager
    def fresh_store() -> Iterator[GCSStore]:
        yield make_store(make_settings(prefix=f"example-{secrets.token_hex(6)}"))

    isolation_property(fresh_store, max_examples=60)()
