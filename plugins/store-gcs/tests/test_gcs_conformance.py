"""The storage conformance kit over fake-gcs-server (which checks no signature, so the
signed URLs' own correctness is tested against google-cloud-storage's signing in
test_gcs_signing.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tenantkit.storage import ObjectStore
from tenantkit.testing import StorageConformance
from tenantkit_store_gcs.store import GCSStore


class TestGCSConformance(StorageConformance):
    presign_enforced = False

    @pytest.fixture
    def object_store(self, make_store: Callable[..., GCSStore]) -> ObjectStore:
        return make_store()
