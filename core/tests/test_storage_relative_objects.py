"""``TenantStorage`` hands back the provider's objects with tenant-relative keys, built
without validating them again: they must be the same models a validated copy would be."""

from __future__ import annotations

import os
from pathlib import Path

import pydantic
import pytest

from tenantkit import TenantStorage
from tenantkit.cursors import CursorSigner
from tenantkit.errors import IsolationViolation
from tenantkit.providers.local_storage import LocalObjectStore, LocalStorageSettings
from tenantkit.storage import Listing, ObjectInfo


def _storage(store: LocalObjectStore, tenant: str = "acme") -> TenantStorage:
    return TenantStorage(
        store,
        tenant_id=tenant,
        provider="local",
        capabilities=frozenset(store.capabilities),
        signer=CursorSigner(os.urandom(32)),
    )


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(
        LocalStorageSettings(
            root=tmp_path, base_url="http://127.0.0.1:9/_storage", signing_key="k" * 32
        )
    )


def test_listed_objects_equal_validated_models(store: LocalObjectStore) -> None:
    storage = _storage(store)
    storage.put("docs/a.txt", b"alpha", content_type="text/plain", metadata={"owner": "u1"})
    storage.put("docs/b.txt", b"beta")
    listing = storage.list("docs/")
    raw = store.list("acme/docs/")
    assert [o.key for o in listing.objects] == ["docs/a.txt", "docs/b.txt"]
    for mine, theirs in zip(listing.objects, raw.objects, strict=True):
        assert type(mine) is ObjectInfo
        expected = ObjectInfo.model_validate({**theirs.model_dump(), "key": mine.key})
        assert mine == expected
        assert mine.model_dump() == expected.model_dump()
        assert mine.model_dump_json() == expected.model_dump_json()
        assert mine.model_fields_set == expected.model_fields_set
        assert repr(mine) == repr(expected)
    assert Listing.model_validate(listing.model_dump()) == listing


def test_relative_objects_stay_frozen_and_apart(store: LocalObjectStore) -> None:
    storage = _storage(store)
    info = storage.put("a.txt", b"alpha", metadata={"owner": "u1"})
    head = storage.head("a.txt")
    assert head.key == info.key == "a.txt"
    with pytest.raises(pydantic.ValidationError):
        head.key = "b.txt"  # type: ignore[misc]
    provider_object = store.head("acme/a.txt")
    assert head.metadata == provider_object.metadata == {"owner": "u1"}
    assert head.metadata is not provider_object.metadata


class _Hostile(LocalObjectStore):
    """Answers a listing with an object of another tenant."""

    def list(self, prefix: str, **kwargs: object) -> Listing:  # type: ignore[override]
        listing = super().list(prefix, **kwargs)  # type: ignore[arg-type]
        stolen = ObjectInfo(key="other/docs/secret.txt", size=1)
        return Listing(objects=[*listing.objects, stolen])


def test_a_key_of_another_tenant_is_still_refused(tmp_path: Path) -> None:
    store = _Hostile(
        LocalStorageSettings(
            root=tmp_path, base_url="http://127.0.0.1:9/_storage", signing_key="k" * 32
        )
    )
    storage = _storage(store)
    storage.put("docs/a.txt", b"alpha")
    with pytest.raises(IsolationViolation, match="outside"):
        storage.list("docs/")
