"""Storage isolation as a property (``tenantkit.testing.storage_isolation``) on the
``local`` store: two tenants, one directory, zero cross-tenant reads."""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenantkit.providers.local_storage import LocalObjectStore, LocalStorageSettings
from tenantkit.testing.storage_isolation import isolation_property


@contextlib.contextmanager
def _fresh_store() -> Iterator[LocalObjectStore]:
    with tempfile.TemporaryDirectory() as root:
        store = LocalObjectStore(
            LocalStorageSettings(root=Path(root), signing_key=secrets.token_urlsafe(24))
        )
        yield store
        store.close()


test_tenants_never_see_each_others_objects = pytest.mark.timeout(20)(
    isolation_property(_fresh_store)
)
