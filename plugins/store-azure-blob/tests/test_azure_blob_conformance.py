"""The storage conformance kit on the Azure Blob provider against azurite, which checks
SharedKey and SAS signatures and SAS expiry."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tenantkit.testing import StorageConformance
from tenantkit_store_azure_blob import AzureBlobSettings
from tenantkit_store_azure_blob.store import AzureBlobStore


class TestAzureBlobConformance(StorageConformance):
    presign_content_type_enforced = False  # a SAS cannot bind the uploaded Content-Type

    @pytest.fixture
    def object_store(
        self,
        make_store: Callable[..., AzureBlobStore],
        make_settings: Callable[..., AzureBlobSettings],
    ) -> AzureBlobStore:
        # Small blocks, so the multi-mebibyte test goes through Put Block / Put Block List.
        return make_store(make_settings(prefix="conformance"), block_size=1024 * 1024)


class TestAzureBlobConformanceConnectionString(StorageConformance):
    presign_content_type_enforced = False

    @pytest.fixture
    def object_store(
        self,
        make_store: Callable[..., AzureBlobStore],
        make_settings: Callable[..., AzureBlobSettings],
        azurite,
    ) -> AzureBlobStore:
        return make_store(make_settings(connection_string=azurite.connection_string))
