"""TenantDatabase checks that single-item answers are the item asked for, and refuses
what the provider does not declare before calling it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from tenantkit import Item, Key, Page, TenantDatabase
from tenantkit.cursors import CursorSigner
from tenantkit.db import Condition, Database, DbCapability, SortKey, TxOp, TxPut
from tenantkit.errors import IsolationViolation, Unsupported


class Answering(Database):
    """Answers every single-item call with ``answer`` (``None``: the item asked for)."""

    def __init__(self, answer: Key | None) -> None:
        self.answer = answer
        self.calls: list[str] = []

    def _item(self, key: Key) -> Item:
        at = self.answer or key
        return Item(pk=at.pk, sk=at.sk, data={"n": 1}, version="v1")

    def get(self, ns: str, collection: str, key: Key, *, consistent: bool = False) -> Item | None:
        return self._item(key)

    def put(
        self,
        ns: str,
        collection: str,
        item: Mapping[str, Any],
        *,
        condition: Condition | None = None,
        ttl: float | None = None,
    ) -> Item:
        self.calls.append("put")
        return self._item(Key(pk=item["pk"], sk=item["sk"]))

    def update(
        self,
        ns: str,
        collection: str,
        key: Key,
        *,
        set: Mapping[str, Any] | None = None,
        increment: Mapping[str, int | float] | None = None,
        remove: Sequence[str] = (),
        condition: Condition | None = None,
        upsert: bool = False,
        ttl: float | None = None,
    ) -> Item:
        self.calls.append("update")
        return self._item(key)

    def delete(
        self, ns: str, collection: str, key: Key, *, condition: Condition | None = None
    ) -> bool:
        return True

    def query(
        self,
        ns: str,
        collection: str,
        pk: str,
        *,
        sort: SortKey | None = None,
        descending: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        return Page(items=[])

    def transact_write(self, ns: str, ops: Sequence[TxOp]) -> None:
        self.calls.append("transact_write")


def _tenant(answer: Key | None) -> TenantDatabase:
    return TenantDatabase(
        Answering(answer),
        tenant_id="acme",
        provider="answering",
        capabilities=frozenset(),
        signer=CursorSigner(b"answers-test-cursor-key-0123456789"),
    )


@pytest.mark.parametrize("answer", [Key(pk="other", sk="s"), Key(pk="p", sk="other")])
def test_an_item_at_another_key_is_an_isolation_violation(answer: Key) -> None:
    tenant = _tenant(answer)
    with pytest.raises(IsolationViolation, match="get"):
        tenant.get("notes", "p", "s")
    with pytest.raises(IsolationViolation, match="put"):
        tenant.put("notes", {"pk": "p", "sk": "s"})
    with pytest.raises(IsolationViolation, match="update"):
        tenant.update("notes", "p", "s", set={"n": 2})


def test_the_item_asked_for_passes() -> None:
    tenant = _tenant(None)
    assert tenant.get("notes", "p", "s") == Item(pk="p", sk="s", data={"n": 1}, version="v1")
    assert tenant.put("notes", {"pk": "p"}).key == Key(pk="p")
    assert tenant.update("notes", "p", "s", set={"n": 2}).key == Key(pk="p", sk="s")


def test_a_ttl_is_refused_before_a_provider_without_the_ttl_capability() -> None:
    provider = Answering(None)
    tenant = TenantDatabase(
        provider,
        tenant_id="acme",
        provider="answering",
        capabilities=frozenset({DbCapability.TRANSACTIONS}),
        signer=CursorSigner(b"answers-test-cursor-key-0123456789"),
    )
    with pytest.raises(Unsupported, match="ttl"):
        tenant.put("notes", {"pk": "p"}, ttl=60)
    with pytest.raises(Unsupported, match="ttl"):
        tenant.update("notes", "p", set={"n": 2}, upsert=True, ttl=60)
    with pytest.raises(Unsupported, match="ttl"):
        tenant.transact_write(
            [
                TxPut(collection="notes", item={"pk": "a"}),
                TxPut(collection="notes", item={"pk": "b"}, ttl=60),
            ]
        )
    assert provider.calls == []
    tenant.put("notes", {"pk": "p"})
    tenant.transact_write([TxPut(collection="notes", item={"pk": "a"})])
    assert provider.calls == ["put", "transact_write"]
