"""The storage conformance kit, on the S3 provider against the moto server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tenantkit.testing import StorageConformance
from tenantkit_store_s3 import S3Settings
from tenantkit_store_s3.store import S3Store


class TestS3Conformance(StorageConformance):
    presign_enforced = False  # moto does not check presigned URL signatures or expiry

    @pytest.fixture
    def object_store(
        self, make_store: Callable[..., S3Store], make_settings: Callable[..., S3Settings]
    ) -> S3Store:
        return make_store(make_settings(prefix="conformance"))
