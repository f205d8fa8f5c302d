"""The storage conformance kit over fake-gcs-server (which checks no signature, so the
signed URLs' own correctness is tested against google-cloud-storage's signing in
test_gcs_signing.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tenantkit.errors import InvalidRequest
from tenantkit.storage import ObjectStore
from tenantkit.testing import StorageConformance
from tenantkit_store_gcs.store import GCSStore


class TestGCSConformance(StorageConformance):
    presign_enforced = False

    @pytest.fixture
    def object_store(self, make_store: Callable[..., GCSStore]) -> ObjectStore:
        return make_store()


def test_requests_after_a_416_do_not_race_the_servers_close(
    make_store: Callable[..., GCSStore],
) -> None:
    """fake-gcs-server closes its connection after a 416 without saying so; the store
    drops its pooled connections then, so the next request (unretried here) works."""
    store = make_store()
    store.put("acme/short", b"0123456789")
    for _ in range(200):
        with pytest.raises(InvalidRequest):
            store.get("acme/short", offset=10)
        assert store.head("acme/short").size == 10
