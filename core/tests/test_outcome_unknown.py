"""An unknown outcome (a write sent, its answer lost) is repeated only where that is safe.

The tenant-scoped database knows which calls are idempotent: ``get``, queries, an
unconditional ``put`` or ``delete``, an ``update`` that only sets fields. Increments,
conditional writes and transactions are never repeated by the core.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenantkit import IfAbsent, IfVersion, Key, TxUpdate, errors
from tenantkit.cursors import CursorSigner
from tenantkit.db import Schema
from tenantkit.providers.sqlite import SqliteDatabase, SqliteSettings
from tenantkit.registry import ProviderContext
from tenantkit.retry import RetryPolicy
from tenantkit.scoped import TenantDatabase

RETRYING = RetryPolicy(max_attempts=4, initial_delay=0.0, sleep=lambda _: None)


class CutOnce:
    """Wraps a database: the next write named in ``cut`` is applied, then reported as
    :class:`OutcomeUnknown`, as if the connection broke before the answer arrived."""

    def __init__(self, inner: SqliteDatabase) -> None:
        self._inner = inner
        self.cut: set[str] = set()
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in {"get", "put", "update", "delete", "batch_put", "transact_write"}:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            result = attr(*args, **kwargs)
            if name in self.cut:
                self.cut.discard(name)
                raise errors.OutcomeUnknown(f"{name}: connection lost after sending")
            return result

        return call


@pytest.fixture
def db(tmp_path) -> CutOnce:
    settings = SqliteSettings(path=str(tmp_path / "t.db"))
    inner = SqliteDatabase(settings, ProviderContext(tenant_id="acme", provider="sqlite"))
    return CutOnce(inner)


def _tenant(db: CutOnce, retry: RetryPolicy = RETRYING) -> TenantDatabase:
    return TenantDatabase(
        db,  # type: ignore[arg-type]
        tenant_id="acme",
        provider="sqlite",
        capabilities=frozenset({"transactions", "batch"}),
        signer=CursorSigner(b"k" * 32),
        schema=Schema(),
        retry=retry,
    )


IDEMPOTENT: dict[str, tuple[str, Callable[[TenantDatabase], Any]]] = {
    "put": ("put", lambda t: t.put("notes", {"pk": "a", "n": 7})),
    "set": ("update", lambda t: t.update("notes", "a", set={"n": 7})),
    "delete": ("delete", lambda t: t.delete("notes", "a")),
    "batch_put": ("batch_put", lambda t: t.batch_put("notes", [{"pk": "a", "n": 7}])),
}

NOT_IDEMPOTENT: dict[str, tuple[str, Callable[[TenantDatabase], Any]]] = {
    "increment": ("update", lambda t: t.update("notes", "a", increment={"n": 1})),
    "conditional_put": ("put", lambda t: t.put("notes", {"pk": "b"}, condition=IfAbsent())),
    "conditional_update": (
        "update",
        lambda t: t.update("notes", "a", set={"n": 2}, condition=IfVersion(version="v?")),
    ),
    "conditional_delete": (
        "delete",
        lambda t: t.delete("notes", "a", condition=IfVersion(version="v?")),
    ),
    "transaction": (
        "transact_write",
        lambda t: t.transact_write([TxUpdate(collection="notes", key=Key(pk="a"), set={"n": 2})]),
    ),
}


@pytest.mark.parametrize("case", list(IDEMPOTENT))
def test_idempotent_calls_are_repeated(db: CutOnce, case: str) -> None:
    tenant = _tenant(db)
    tenant.put("notes", {"pk": "a", "n": 1})
    method, call = IDEMPOTENT[case]
    db.cut.add(method)
    db.calls.clear()
    call(tenant)
    assert db.calls == [method, method]


@pytest.mark.parametrize("case", list(NOT_IDEMPOTENT))
def test_other_calls_are_not_repeated(db: CutOnce, case: str) -> None:
    tenant = _tenant(db)
    first = tenant.put("notes", {"pk": "a", "n": 1})
    method, call = NOT_IDEMPOTENT[case]
    if case in ("conditional_update", "conditional_delete"):
        call = {  # a condition that holds, so the write is applied before the cut
            "conditional_update": lambda t: t.update(
                "notes", "a", set={"n": 2}, condition=IfVersion(version=first.version)
            ),
            "conditional_delete": lambda t: t.delete(
                "notes", "a", condition=IfVersion(version=first.version)
            ),
        }[case]
    db.cut.add(method)
    db.calls.clear()
    with pytest.raises(errors.OutcomeUnknown) as caught:
        call(tenant)
    assert db.calls == [method]
    assert not caught.value.retryable
    assert caught.value.provider == "sqlite"


def test_the_policy_repeats_an_unknown_outcome_only_when_told_it_is_idempotent() -> None:
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise errors.OutcomeUnknown("lost")
        return "done"

    assert RETRYING.call(flaky, idempotent=True) == "done"
    assert len(attempts) == 2
    attempts.clear()
    with pytest.raises(errors.OutcomeUnknown):
        RETRYING.call(flaky)
    assert len(attempts) == 1
