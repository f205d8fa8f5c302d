"""The database interface: collections of JSON items addressed by (partition key, sort key).

A provider implements :class:`Database`. Every method takes the namespace first: the
core passes the calling tenant's id there, and a provider must keep namespaces apart
(see the plugin guide). Application code never calls a provider directly; it gets a
:class:`tenantkit.TenantDatabase`, which binds the namespace, validates input, signs
cursors and checks that answers stay inside the tenant.

Semantics every provider shares (the conformance kit checks them):

* An item is a JSON object with a string partition key ``pk`` and sort key ``sk``.
  Field names match :data:`tenantkit.identifiers.FIELD_NAME`; values are JSON.
* Every write gives the item a new opaque ``version``; :class:`IfVersion` makes a
  write conditional on it (optimistic concurrency).
* ``ttl`` makes an item expire; expired items are invisible to every read at once,
  whenever the backend actually removes them.
* Queries read one partition, ordered by sort key, and page with opaque cursors.
"""

# Annotations are evaluated at class definition (no ``from __future__ import
# annotations``): pydantic would otherwise compile each field's annotation from its
# text when the model is defined, a cost paid on every cold start.

import abc
import enum
import math
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tenantkit.errors import Unsupported

__all__ = [
    "MAX_BATCH_ITEMS",
    "MAX_QUERY_LIMIT",
    "MAX_SCAN_LIMIT",
    "MAX_TRANSACTION_OPS",
    "Condition",
    "Database",
    "DbCapability",
    "IfAbsent",
    "IfExists",
    "IfVersion",
    "IndexSpec",
    "Item",
    "Key",
    "Page",
    "ScanPage",
    "Schema",
    "SortKey",
    "TxCheck",
    "TxDelete",
    "TxOp",
    "TxPut",
    "TxUpdate",
    "expiry",
    "new_version",
]

MAX_QUERY_LIMIT = 1000
MAX_BATCH_ITEMS = 100
MAX_TRANSACTION_OPS = 100
MAX_SCAN_LIMIT = 1000

JSON = Any
"""A JSON value: str, int, float, bool, None, list or dict of JSON."""

_frozen = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class DbCapability(enum.StrEnum):
    """Optional database features. Get, put, update, delete and query are required."""

    TRANSACTIONS = "transactions"
    BATCH = "batch"
    INDEXES = "indexes"
    TTL = "ttl"
    EXPORT = "export"
    """``scan_namespace`` reads a whole namespace and ``restore`` writes items back as
    they were read (expiry kept): what export, import and copy between providers use."""


class Key(BaseModel):
    """The address of an item inside a collection."""

    model_config = _frozen

    pk: str
    sk: str = ""


class Item(BaseModel):
    """An item as stored: its key, its fields, its version and its expiry."""

    model_config = _frozen

    pk: str
    sk: str = ""
    data: dict[str, JSON] = Field(default_factory=dict)
    version: str
    expires_at: int | None = None
    """Expiry as Unix epoch seconds, or ``None`` for items that live forever."""

    @property
    def key(self) -> Key:
        return Key(pk=self.pk, sk=self.sk)

    def __getitem__(self, field: str) -> JSON:
        if field == "pk":
            return self.pk
        if field == "sk":
            return self.sk
        return self.data[field]

    def get(self, field: str, default: JSON = None) -> JSON:
        try:
            return self[field]
        except KeyError:
            return default

    def to_dict(self) -> dict[str, JSON]:
        """The item as the application wrote it: ``pk``, ``sk`` and the fields."""
        return {"pk": self.pk, "sk": self.sk, **self.data}


# --- conditions -----------------------------------------------------------------------


class IfAbsent(BaseModel):
    """Write only if no (unexpired) item exists at the key."""

    model_config = _frozen
    type: Literal["if_absent"] = "if_absent"


class IfExists(BaseModel):
    """Write only if an (unexpired) item exists at the key."""

    model_config = _frozen
    type: Literal["if_exists"] = "if_exists"


class IfVersion(BaseModel):
    """Write only if the item exists and its version is still ``version``."""

    model_config = _frozen
    type: Literal["if_version"] = "if_version"
    version: str


Condition = IfAbsent | IfExists | IfVersion


class SortKey(BaseModel):
    """A condition on the sort key of a query.

    ``op`` is one of ``eq``, ``lt``, ``lte``, ``gt``, ``gte``, ``begins_with`` or
    ``between`` (inclusive on both ends, ``value`` to ``upper``). Comparison is by
    Unicode code point, as DynamoDB, PostgreSQL (``COLLATE "C"``) and sqlite do it.
    """

    model_config = _frozen

    op: Literal["eq", "lt", "lte", "gt", "gte", "begins_with", "between"]
    value: str
    upper: str | None = None

    @classmethod
    def prefix(cls, value: str) -> "SortKey":
        return cls(op="begins_with", value=value)

    @classmethod
    def between(cls, lower: str, upper: str) -> "SortKey":
        return cls(op="between", value=lower, upper=upper)

    def matches(self, sk: str) -> bool:
        """Whether ``sk`` satisfies the condition (for providers that filter in Python)."""
        v = self.value
        match self.op:
            case "eq":
                return sk == v
            case "lt":
                return sk < v
            case "lte":
                return sk <= v
            case "gt":
                return sk > v
            case "gte":
                return sk >= v
            case "begins_with":
                return sk.startswith(v)
            case "between":
                return v <= sk <= (self.upper if self.upper is not None else v)
        raise AssertionError(self.op)  # pragma: no cover


class Page(BaseModel):
    """One page of a query: the items and a cursor for the next page (``None`` at the end)."""

    model_config = _frozen

    items: list[Item]
    cursor: str | None = None


class ScanPage(BaseModel):
    """One page of a namespace scan: ``(collection, item)`` pairs and the next cursor.

    A page may hold fewer than ``limit`` entries, even none, while more follow: only a
    ``cursor`` of ``None`` ends the scan.
    """

    model_config = _frozen

    entries: list[tuple[str, Item]]
    cursor: str | None = None


# --- schema ---------------------------------------------------------------------------


class IndexSpec(BaseModel):
    """A secondary index on one collection.

    Items of ``collection`` whose ``partition_field`` is a string are indexed
    (a sparse index); ``sort_field``, when given, orders the index and accepts
    :class:`SortKey` conditions, and then only items whose sort field is a string
    too are indexed (as in a DynamoDB GSI). Items are ordered by (sort field, pk, sk).
    """

    model_config = _frozen

    name: str
    collection: str
    partition_field: str
    sort_field: str | None = None


class Schema(BaseModel):
    """What the application declares about its data: its secondary indexes."""

    model_config = _frozen

    indexes: tuple[IndexSpec, ...] = ()

    def index(self, collection: str, name: str) -> IndexSpec | None:
        for spec in self.indexes:
            if spec.collection == collection and spec.name == name:
                return spec
        return None


# --- transactions ---------------------------------------------------------------------


class TxPut(BaseModel):
    model_config = _frozen
    op: Literal["put"] = "put"
    collection: str
    item: dict[str, JSON]
    condition: Condition | None = None
    ttl: float | None = None


class TxUpdate(BaseModel):
    model_config = _frozen
    op: Literal["update"] = "update"
    collection: str
    key: Key
    set: dict[str, JSON] = Field(default_factory=dict)
    increment: dict[str, int | float] = Field(default_factory=dict)
    remove: tuple[str, ...] = ()
    condition: Condition | None = None
    upsert: bool = False


class TxDelete(BaseModel):
    model_config = _frozen
    op: Literal["delete"] = "delete"
    collection: str
    key: Key
    condition: Condition | None = None


class TxCheck(BaseModel):
    model_config = _frozen
    op: Literal["check"] = "check"
    collection: str
    key: Key
    condition: Condition


TxOp = TxPut | TxUpdate | TxDelete | TxCheck


def new_version() -> str:
    """A fresh opaque item version (16 hex digits)."""
    return secrets.token_hex(8)


def expiry(now: float, ttl: float | None) -> int | None:
    """An item's ``expires_at`` for a ``ttl`` given at ``now``: whole epoch seconds,
    rounded up so an item never expires early; ``None`` without a ``ttl``."""
    return None if ttl is None else math.ceil(now + ttl)


# --- the provider interface -----------------------------------------------------------


class Database(abc.ABC):
    """What a database provider implements.

    Arguments reach a provider already validated by the core: ``ns`` is a tenant id
    (see :data:`tenantkit.identifiers.TENANT_ID`), collection and field names match
    their patterns, keys hold no NUL, limits are within bounds, and a cursor is the
    one this provider returned for the same query. ``put`` items carry ``pk``/``sk``.

    Methods of optional capabilities raise :class:`Unsupported` unless overridden
    and declared in :attr:`capabilities`.
    """

    #: The optional features this provider supports.
    capabilities: ClassVar[frozenset[DbCapability]] = frozenset()

    @abc.abstractmethod
    def get(self, ns: str, collection: str, key: Key, *, consistent: bool = False) -> Item | None:
        """The item at ``key``, or ``None`` when absent or expired."""

    @abc.abstractmethod
    def put(
        self,
        ns: str,
        collection: str,
        item: Mapping[str, JSON],
        *,
        condition: Condition | None = None,
        ttl: float | None = None,
    ) -> Item:
        """Create or replace the item; raise ``ConditionFailed`` if ``condition`` fails."""

    @abc.abstractmethod
    def update(
        self,
        ns: str,
        collection: str,
        key: Key,
        *,
        set: Mapping[str, JSON] | None = None,
        increment: Mapping[str, int | float] | None = None,
        remove: Sequence[str] = (),
        condition: Condition | None = None,
        upsert: bool = False,
        ttl: float | None = None,
    ) -> Item:
        """Change fields in place, atomically, and return the new item.

        ``increment`` adds to numeric fields (a missing field counts as 0). A missing
        item raises ``NotFound`` unless ``upsert`` is true, in which case it is created.
        """

    @abc.abstractmethod
    def delete(
        self, ns: str, collection: str, key: Key, *, condition: Condition | None = None
    ) -> bool:
        """Delete the item; return whether one (unexpired) existed."""

    @abc.abstractmethod
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
        """Items of one partition in sort-key order, at most ``limit`` per page."""

    def query_index(
        self,
        ns: str,
        index: IndexSpec,
        value: str,
        *,
        sort: SortKey | None = None,
        descending: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        """Items whose ``index.partition_field`` equals ``value``. Needs ``INDEXES``."""
        raise Unsupported("this database does not support secondary indexes")

    def batch_get(self, ns: str, collection: str, keys: Sequence[Key]) -> list[Item]:
        """The items that exist among ``keys``, in the order of ``keys``. Needs ``BATCH``."""
        raise Unsupported("this database does not support batch operations")

    def batch_put(self, ns: str, collection: str, items: Sequence[Mapping[str, JSON]]) -> None:
        """Write every item unconditionally; never drop one silently. Needs ``BATCH``."""
        raise Unsupported("this database does not support batch operations")

    def transact_write(self, ns: str, ops: Sequence[TxOp]) -> None:
        """Apply every operation or none. Needs ``TRANSACTIONS``.

        On failure raise :class:`tenantkit.errors.TransactionCanceled` with one
        reason per operation (``None`` for those that did not fail).
        """
        raise Unsupported("this database does not support transactions")

    def scan_namespace(self, ns: str, *, cursor: str | None = None, limit: int = 100) -> ScanPage:
        """Every live item of the namespace, every collection, at most ``limit`` per page.

        Expired items are left out; each item carries its ``expires_at``. The order is
        the provider's own, stable across the pages of one scan. Needs ``EXPORT``.
        """
        raise Unsupported("this database does not support namespace scans (export)")

    def restore(self, ns: str, collection: str, items: Sequence[Item]) -> None:
        """Write ``items`` unconditionally as they were scanned: fields and
        ``expires_at`` kept exactly, a new ``version`` each (items already expired are
        skipped). At most :data:`MAX_BATCH_ITEMS` items. Needs ``EXPORT``."""
        raise Unsupported("this database does not support restoring items (export)")

    def ensure_schema(self, schema: Schema) -> None:  # noqa: B027 - optional hook
        """Create tables, indexes or migrations the provider needs. Idempotent."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. Called when the instance is evicted."""
