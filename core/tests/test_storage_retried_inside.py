"""A store that retries each step of a looping operation itself declares it in
``retried_inside``; the core then does not retry that operation again as a whole,
and still retries every other one."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from typing import ClassVar

import pytest

from tenantkit import RetryPolicy, TenantStorage
from tenantkit.cursors import CursorSigner
from tenantkit.errors import ProviderUnavailable
from tenantkit.storage import Body, Listing, ObjectInfo, ObjectStore

RETRY = RetryPolicy(max_attempts=3, initial_delay=0.0, max_delay=0.0, sleep=lambda _: None)


class Flaky(ObjectStore):
    """Every call fails as unavailable; counts the calls."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def _fail(self, name: str) -> ProviderUnavailable:
        self.calls[name] = self.calls.get(name, 0) + 1
        return ProviderUnavailable("down", provider="flaky")

    def put(
        self,
        key: str,
        body: Body,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        raise self._fail("put")

    def get(self, key: str, *, offset: int = 0, length: int | None = None) -> bytes:
        raise self._fail("get")

    def stream(self, key: str, *, chunk_size: int = 1) -> Iterator[bytes]:
        raise self._fail("stream")

    def head(self, key: str) -> ObjectInfo:
        raise self._fail("head")

    def delete(self, key: str) -> None:
        raise self._fail("delete")

    def list(
        self,
        prefix: str,
        *,
        delimiter: str | None = None,
        cursor: str | None = None,
        limit: int = 1,
    ) -> Listing:
        raise self._fail("list")

    def copy(self, source: str, destination: str) -> ObjectInfo:
        raise self._fail("copy")


class LoopingCopy(Flaky):
    retried_inside: ClassVar[frozenset[str]] = frozenset({"copy"})


def _storage(store: ObjectStore) -> TenantStorage:
    return TenantStorage(
        store,
        tenant_id="acme",
        provider="flaky",
        capabilities=frozenset(),
        signer=CursorSigner(secrets.token_bytes(32)),
        retry=RETRY,
    )


@pytest.mark.parametrize(("store_class", "copies"), [(Flaky, 3), (LoopingCopy, 1)])
def test_the_core_leaves_declared_operations_to_the_store(
    store_class: type[Flaky], copies: int
) -> None:
    store = store_class()
    storage = _storage(store)
    with pytest.raises(ProviderUnavailable):
        storage.copy("a", "b")
    with pytest.raises(ProviderUnavailable):
        storage.get("a")
    assert store.calls == {"copy": copies, "get": 3}
