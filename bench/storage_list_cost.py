"""The core's share of a storage listing, without a network, and what building one
``ObjectInfo`` costs each way.

``TenantStorage.list`` over an in-memory store that answers 20 objects built from
Cloud Storage JSON resources (as ``GCSStore.list`` builds them), against that store's
``list`` alone: the difference is the core's work per call (key and prefix checks,
the tenant-relative copy of each object, the retry wrapper). Best of 25 repeats.

    uv run python bench/storage_list_cost.py
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from _tenant import tenant_storage

from tenantkit.storage import Listing, ObjectInfo, ObjectStore
from tenantkit_store_gcs._wire import object_info

RESOURCE = {
    "size": "4096",
    "etag": "CJ2xv8rG",
    "md5Hash": "1B2M2Y8AsgTpgAmY7PhCfg==",
    "contentType": "application/octet-stream",
    "updated": "2026-12-04T17:00:00.123Z",
}


class _Listed(ObjectStore):
    """Answers every ``list`` with 20 objects under the prefix."""

    def list(self, prefix: str, **_: Any) -> Listing:  # type: ignore[override]
        return Listing(objects=[object_info(f"{prefix}o{i:02d}", RESOURCE) for i in range(20)])

    put = get = stream = head = delete = copy = None  # type: ignore[assignment]


_Listed.__abstractmethods__ = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Frozen:
    key: str
    size: int
    etag: str | None = None
    content_type: str | None = None
    last_modified: datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class _Mutable:
    key: str
    size: int
    etag: str | None = None
    content_type: str | None = None
    last_modified: datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)


def _best(fn: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=25)) / number * 1e6


def main() -> None:
    store = _Listed()
    storage = tenant_storage(store, "gcs")
    alone = _best(lambda: store.list("bench/listing/"), 1000)
    through = _best(lambda: storage.list("listing/"), 1000)
    print("| 20-object list | µs |\n|---|---:|")
    print(f"| store.list alone | {alone:.1f} |")
    print(f"| TenantStorage.list | {through:.1f} |")
    print(f"| core's share | {through - alone:.1f} |")

    when = datetime.now(UTC)
    info = ObjectInfo(key="bench/a", size=1, etag="x", content_type="y", last_modified=when)
    kinds: dict[str, Callable[[], object]] = {
        "`ObjectInfo(...)` (pydantic, validated)": lambda: ObjectInfo(
            key="a", size=1, etag="x", content_type="y", last_modified=when
        ),
        "`ObjectInfo.model_construct(...)`": lambda: ObjectInfo.model_construct(
            key="a", size=1, etag="x", content_type="y", last_modified=when
        ),
        "`info.model_copy(update={'key': ...})`": lambda: info.model_copy(update={"key": "a"}),
        "`ObjectInfo(**{**vars(info), 'key': ...})`": lambda: ObjectInfo(
            **{**vars(info), "key": "a"}
        ),
        "frozen slots dataclass": lambda: _Frozen(
            key="a", size=1, etag="x", content_type="y", last_modified=when
        ),
        "mutable slots dataclass": lambda: _Mutable(
            key="a", size=1, etag="x", content_type="y", last_modified=when
        ),
    }
    print("\n| one object | µs |\n|---|---:|")
    for name, fn in kinds.items():
        print(f"| {name} | {_best(fn, 20000):.2f} |")


if __name__ == "__main__":
    main()
