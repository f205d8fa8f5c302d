"""Storage isolation as a property: two tenants interleave random operations on one
store, and every answer is checked against a model holding one dict per tenant. A
tenant that could read, list, overwrite, copy from or delete the other's objects, or
use its cursors, would disagree with the model.

The tenant ids are drawn so that one often extends the other (``ab`` and ``ab-1``,
``ab`` and ``ab0``), and keys collide across tenants on purpose. A provider package
runs it over its own store with :func:`isolation_property`::

    test_isolation = isolation_property(fresh_store)   # fresh_store() -> context manager

Needs hypothesis (a test dependency; the rest of tenantkit does not import it).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantkit.cursors import CursorSigner
from tenantkit.errors import InvalidCursor, NotFound
from tenantkit.scoped import TenantStorage
from tenantkit.storage import ObjectStore
from tenantkit.testing.scoped import tenant_storage

__all__ = ["isolation_property", "run_operations"]

KEYS = ["a", "b", "a/b", "a-b", "a/b/c", "a/c", "b/a", "ab", "x/y/z"]
PREFIXES = ["", "a", "a/", "a/b", "a/b/", "b", "b/", "x/", "zz"]


@dataclass(frozen=True)
class Put:
    tenant: int
    key: str
    data: bytes
    content_type: str | None


@dataclass(frozen=True)
class Get:
    tenant: int
    key: str


@dataclass(frozen=True)
class Delete:
    tenant: int
    key: str


@dataclass(frozen=True)
class Copy:
    tenant: int
    source: str
    destination: str


@dataclass(frozen=True)
class List:
    tenant: int
    prefix: str
    delimiter: str | None
    limit: int


@dataclass(frozen=True)
class StealCursor:
    tenant: int
    prefix: str


Op = Put | Get | Delete | Copy | List | StealCursor

tenants = st.integers(0, 1)
keys = st.sampled_from(KEYS)
ops = st.one_of(
    st.builds(
        Put, tenants, keys, st.binary(max_size=40), st.sampled_from([None, "text/plain", "a/b"])
    ),
    st.builds(Get, tenants, keys),
    st.builds(Delete, tenants, keys),
    st.builds(Copy, tenants, keys, keys),
    st.builds(
        List, tenants, st.sampled_from(PREFIXES), st.sampled_from([None, "/"]), st.integers(1, 4)
    ),
    st.builds(StealCursor, tenants, st.sampled_from(PREFIXES)),
)


@st.composite
def tenant_pairs(draw: st.DrawFn) -> tuple[str, str]:
    first = draw(st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True))
    second = draw(
        st.one_of(
            st.just(f"{first}-1"),
            st.just(f"{first}0"),
            st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True).filter(lambda t: t != first),
        )
    )
    return (first, second) if draw(st.booleans()) else (second, first)


Model = dict[str, tuple[bytes, str | None]]


def _expected_listing(model: Model, prefix: str, delimiter: str | None) -> list[str]:
    entries: set[str] = set()
    for key in model:
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix) :]
        if delimiter and delimiter in rest:
            entries.add(prefix + rest[: rest.index(delimiter) + 1])
        else:
            entries.add(key)
    return sorted(entries)


def _listing(storage: TenantStorage, prefix: str, delimiter: str | None, limit: int) -> list[str]:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = storage.list(prefix, delimiter=delimiter, limit=limit, cursor=cursor)
        entries = [o.key for o in page.objects] + page.prefixes
        assert len(entries) <= limit
        seen.extend(sorted(entries))
        cursor = page.cursor
        if cursor is None:
            return seen


def _apply(op: Op, storage: list[TenantStorage], models: list[Model]) -> None:
    mine, model = storage[op.tenant], models[op.tenant]
    match op:
        case Put():
            info = mine.put(op.key, op.data, content_type=op.content_type)
            assert (info.key, info.size) == (op.key, len(op.data))
            model[op.key] = (op.data, op.content_type)
        case Get():
            if op.key in model:
                assert mine.get(op.key) == model[op.key][0]
                expected_type = model[op.key][1] or "application/octet-stream"
                assert mine.head(op.key).content_type == expected_type
            else:
                with pytest.raises(NotFound):
                    mine.get(op.key)
                with pytest.raises(NotFound):
                    mine.head(op.key)
        case Delete():
            mine.delete(op.key)
            model.pop(op.key, None)
        case Copy():
            if op.source in model:
                assert mine.copy(op.source, op.destination).key == op.destination
                model[op.destination] = model[op.source]
            else:
                with pytest.raises(NotFound):
                    mine.copy(op.source, op.destination)
        case List():
            got = _listing(mine, op.prefix, op.delimiter, op.limit)
            assert got == _expected_listing(model, op.prefix, op.delimiter)
        case StealCursor():
            cursor = mine.list(op.prefix, limit=1).cursor
            if cursor is not None:
                with pytest.raises(InvalidCursor):
                    storage[1 - op.tenant].list(op.prefix, limit=1, cursor=cursor)


def run_operations(store: ObjectStore, pair: tuple[str, str], operations: list[Op]) -> None:
    """Apply ``operations`` for the two tenants of ``pair`` on ``store`` (which must hold
    nothing of theirs yet) and check every answer and the final state against the model."""
    signer = CursorSigner(secrets.token_bytes(32))
    storage = [tenant_storage(store, tenant, signer=signer) for tenant in pair]
    models: list[Model] = [{}, {}]
    for op in operations:
        _apply(op, storage, models)
    for mine, model in zip(storage, models, strict=True):
        assert _listing(mine, "", None, 1000) == sorted(model)
        for key in KEYS:
            if key in model:
                assert mine.get(key) == model[key][0]
            else:
                assert not mine.exists(key)


def isolation_property(
    fresh_store: Callable[[], contextlib.AbstractContextManager[ObjectStore]],
    *,
    max_examples: int = 60,
) -> Callable[[], None]:
    """A hypothesis test running :func:`run_operations` on a fresh store per example.

    ``fresh_store()`` returns a context manager yielding an empty store (a new
    directory, bucket or container) and releasing it afterwards.
    """

    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(pair=tenant_pairs(), operations=st.lists(ops, max_size=40))
    def test_tenants_never_see_each_others_objects(
        pair: tuple[str, str], operations: list[Op]
    ) -> None:
        with fresh_store() as store:
            run_operations(store, pair, operations)

    return test_tenants_never_see_each_others_objects
