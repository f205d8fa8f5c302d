"""Tenant-scoped wrappers: what application code gets as ``tenant.db``, ``.storage``, ``.llm``.

The wrappers take no tenant id from the caller. They bind the tenant, validate every
argument before a provider sees it, gate optional features on declared capabilities,
sign cursors, apply the retry policy, check that answers stay inside the tenant, and
scrub the tenant's credentials from every error. Isolation therefore does not depend
on each plugin's good behaviour.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from tenantkit.cursors import CursorSigner
from tenantkit.db import (
    MAX_BATCH_ITEMS,
    MAX_QUERY_LIMIT,
    MAX_SCAN_LIMIT,
    MAX_TRANSACTION_OPS,
    Condition,
    Database,
    DbCapability,
    Item,
    Key,
    Page,
    ScanPage,
    Schema,
    SortKey,
    TxCheck,
    TxDelete,
    TxOp,
    TxPut,
    TxUpdate,
)
from tenantkit.errors import (
    InvalidRequest,
    IsolationViolation,
    ProviderError,
    TenantkitError,
    Unsupported,
)
from tenantkit.identifiers import (
    check_collection,
    check_field_name,
    check_item_key,
    check_json_value,
    check_namespace,
    check_storage_key,
    check_storage_prefix,
)
from tenantkit.llm import (
    LLM,
    ChatRequest,
    ChatResponse,
    ChatStream,
    EmbeddingRequest,
    EmbeddingResponse,
    ImagePart,
    ImageRequest,
    ImageResponse,
    LLMCapability,
    NamedToolChoice,
    StreamEvent,
)
from tenantkit.retry import RetryPolicy
from tenantkit.storage import (
    DEFAULT_CHUNK_SIZE,
    MAX_LIST_LIMIT,
    Body,
    Listing,
    ObjectInfo,
    ObjectStore,
    StorageCapability,
)
from tenantkit.validation import validate_request

__all__ = ["TenantDatabase", "TenantLLM", "TenantStorage"]

T = TypeVar("T")

MAX_PRESIGN_SECONDS = 7 * 24 * 3600
_METADATA_BYTES = 2048


class _Scoped:
    """What the three wrappers share: the tenant, error hygiene and retries."""

    def __init__(
        self,
        tenant_id: str,
        provider: str,
        capabilities: frozenset[str],
        *,
        retry: RetryPolicy,
        secrets: Sequence[str] = (),
    ) -> None:
        self._tenant_id = check_namespace(tenant_id)
        self._provider = provider
        self._capabilities = capabilities
        self._retry = retry
        self._secrets = tuple(s for s in secrets if s)

    @property
    def tenant_id(self) -> str:
        return self._tenant_id

    @property
    def provider(self) -> str:
        """The provider name (``"sqlite"``, ``"claude"``...), for logs and diagnostics."""
        return self._provider

    @property
    def capabilities(self) -> frozenset[str]:
        return self._capabilities

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tenant_id={self._tenant_id!r}, provider={self._provider!r})"

    def _require(self, capability: str, what: str) -> None:
        if capability not in self._capabilities:
            raise Unsupported(
                f"{self._provider} does not support {what} (capability {capability!r})",
                provider=self._provider,
            )

    def _call(self, fn: Callable[[], T], *, retry: bool = True) -> T:
        """Run one provider call, errors typed and scrubbed.

        ``retry`` marks the call idempotent: it is retried under the policy, also when
        its outcome is unknown (:class:`~tenantkit.errors.OutcomeUnknown`). Other
        calls (increments, conditional writes, transactions) run once, their errors
        raised as they are.

        A provider that loops inside one call (batch chunks, upload parts) retries
        each step with ``context.retry``; the error it raises once that budget is
        spent is final, and the policy here passes it on without another attempt
        (:func:`tenantkit.retry.was_retried`), so one call never makes more than the
        policy's attempts per step nor outlasts its time budget.
        """
        try:
            return self._retry.call(fn, idempotent=True) if retry else fn()
        except TenantkitError as exc:
            self._clean(exc)
            raise
        except Exception as exc:
            raise self._wrap(exc) from None

    def _clean(self, exc: TenantkitError) -> None:
        if exc.provider is None:
            exc.provider = self._provider
        if self._secrets:
            exc._scrub(self._secrets)

    def _wrap(self, exc: Exception) -> ProviderError:
        error = ProviderError(
            f"{self._provider} provider failed unexpectedly: {type(exc).__name__}: {exc}",
            provider=self._provider,
        )
        error._scrub(self._secrets)
        return error

    def _guarded(self, items: Iterator[T], first: T | None = None) -> Iterator[T]:
        """Yield ``first`` (if any) then ``items``, with errors typed and scrubbed as in
        :meth:`_call`, and the provider's iterator closed when the consumer stops."""
        try:
            if first is not None:
                yield first
            while True:
                try:
                    item = next(items)
                except StopIteration:
                    return
                except TenantkitError as exc:
                    self._clean(exc)
                    raise
                except Exception as exc:
                    raise self._wrap(exc) from None
                yield item
        finally:
            close = getattr(items, "close", None)
            if callable(close):
                close()


# --- database -------------------------------------------------------------------------


class TenantDatabase(_Scoped):
    """The tenant's database. Items are dicts with a ``pk`` and optional ``sk``."""

    def __init__(
        self,
        database: Database,
        *,
        tenant_id: str,
        provider: str,
        capabilities: frozenset[str],
        signer: CursorSigner,
        schema: Schema | None = None,
        retry: RetryPolicy | None = None,
        secrets: Sequence[str] = (),
    ) -> None:
        super().__init__(
            tenant_id, provider, capabilities, retry=retry or RetryPolicy(), secrets=secrets
        )
        self._db = database
        self._signer = signer
        self._schema = schema or Schema.model_construct()  # empty: nothing to validate

    def get(
        self, collection: str, pk: str, sk: str = "", *, consistent: bool = False
    ) -> Item | None:
        """The item at (pk, sk), or ``None``."""
        key = _key(pk, sk)
        check_collection(collection)
        item = self._call(
            lambda: self._db.get(self._tenant_id, collection, key, consistent=consistent)
        )
        if item is not None and not _at(item, key.pk, key.sk):
            raise self._violation(f"get({collection}, {key}) returned item {item.key}")
        return item

    def put(
        self,
        collection: str,
        item: Mapping[str, Any],
        *,
        condition: Condition | None = None,
        ttl: float | None = None,
    ) -> Item:
        """Create or replace an item. ``condition`` makes it conditional; ``ttl`` (seconds)
        makes it expire. Raises ``ConditionFailed`` when the condition does not hold."""
        check_collection(collection)
        clean = _item(item)
        self._check_ttl(ttl)
        result = self._call(
            lambda: self._db.put(self._tenant_id, collection, clean, condition=condition, ttl=ttl),
            retry=condition is None,
        )
        if not _at(result, clean["pk"], clean["sk"]):
            raise self._violation(f"put returned item {result.key}")
        return result

    def update(
        self,
        collection: str,
        pk: str,
        sk: str = "",
        *,
        set: Mapping[str, Any] | None = None,
        increment: Mapping[str, int | float] | None = None,
        remove: Sequence[str] = (),
        condition: Condition | None = None,
        upsert: bool = False,
        ttl: float | None = None,
    ) -> Item:
        """Set fields, add to counters and remove fields atomically; returns the new item."""
        key = _key(pk, sk)
        check_collection(collection)
        set_, inc, rem = _update_parts(set, increment, remove)
        self._check_ttl(ttl)
        result = self._call(
            lambda: self._db.update(
                self._tenant_id,
                collection,
                key,
                set=set_,
                increment=inc,
                remove=rem,
                condition=condition,
                upsert=upsert,
                ttl=ttl,
            ),
            retry=not inc and condition is None,
        )
        if not _at(result, key.pk, key.sk):
            raise self._violation(f"update({key}) returned item {result.key}")
        return result

    def delete(
        self, collection: str, pk: str, sk: str = "", *, condition: Condition | None = None
    ) -> bool:
        """Delete the item; returns whether it existed."""
        key = _key(pk, sk)
        check_collection(collection)
        return self._call(
            lambda: self._db.delete(self._tenant_id, collection, key, condition=condition),
            retry=condition is None,
        )

    def query(
        self,
        collection: str,
        pk: str,
        *,
        sort: SortKey | None = None,
        descending: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        """One page of a partition in sort-key order. Pass ``page.cursor`` for the next."""
        check_collection(collection)
        check_item_key(pk, field="pk")
        if sort is not None:
            _check_sort(sort)
        _check_limit(limit, MAX_QUERY_LIMIT)
        query = ["q", collection, pk, sort.model_dump() if sort else None, descending]
        return self._paged(
            query,
            cursor,
            limit,
            lambda inner: self._db.query(
                self._tenant_id,
                collection,
                pk,
                sort=sort,
                descending=descending,
                limit=limit,
                cursor=inner,
            ),
            lambda item: item.pk == pk and (sort is None or sort.matches(item.sk)),
            f"query of partition {pk!r}",
        )

    def query_index(
        self,
        collection: str,
        index: str,
        value: str,
        *,
        sort: SortKey | None = None,
        descending: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        """Items of ``collection`` whose indexed field equals ``value`` (declared index)."""
        self._require(DbCapability.INDEXES, "secondary indexes")
        check_collection(collection)
        spec = self._schema.index(collection, index)
        if spec is None:
            raise InvalidRequest(f"no index {index!r} is declared on collection {collection!r}")
        check_item_key(value, field=spec.partition_field)
        if sort is not None:
            if spec.sort_field is None:
                raise InvalidRequest(f"index {index!r} has no sort field to apply a condition to")
            _check_sort(sort)
        _check_limit(limit, MAX_QUERY_LIMIT)
        query = ["i", collection, index, value, sort.model_dump() if sort else None, descending]
        return self._paged(
            query,
            cursor,
            limit,
            lambda inner: self._db.query_index(
                self._tenant_id,
                spec,
                value,
                sort=sort,
                descending=descending,
                limit=limit,
                cursor=inner,
            ),
            lambda item: item.data.get(spec.partition_field) == value,
            f"index {index!r} query",
        )

    def batch_get(self, collection: str, keys: Sequence[Key | tuple[str, str]]) -> list[Item]:
        """The items that exist among ``keys`` (at most 100), in the order asked."""
        self._require(DbCapability.BATCH, "batch operations")
        check_collection(collection)
        wanted = [k if isinstance(k, Key) else _key(*k) for k in keys]
        for k in wanted:
            _key(k.pk, k.sk)
        _check_count(len(wanted), MAX_BATCH_ITEMS, "keys")
        found = self._call(lambda: self._db.batch_get(self._tenant_id, collection, wanted))
        allowed = set(wanted)
        for item in found:
            if item.key not in allowed:
                raise self._violation(f"batch_get returned unrequested item {item.key}")
        return found

    def batch_put(self, collection: str, items: Sequence[Mapping[str, Any]]) -> None:
        """Write up to 100 items unconditionally."""
        self._require(DbCapability.BATCH, "batch operations")
        check_collection(collection)
        clean = [_item(i) for i in items]
        _check_count(len(clean), MAX_BATCH_ITEMS, "items")
        self._call(lambda: self._db.batch_put(self._tenant_id, collection, clean))

    def transact_write(self, ops: Sequence[TxOp]) -> None:
        """Apply up to 100 operations all or nothing. Raises ``TransactionCanceled``."""
        self._require(DbCapability.TRANSACTIONS, "transactions")
        _check_count(len(ops), MAX_TRANSACTION_OPS, "operations")
        clean: list[TxOp] = []
        seen: dict[tuple[str, str, str], int] = {}
        for index, op in enumerate(ops):
            check_collection(op.collection)
            match op:
                case TxPut():
                    self._check_ttl(op.ttl)
                    clean.append(op.model_copy(update={"item": _item(op.item)}))
                case TxUpdate():
                    _key(op.key.pk, op.key.sk)
                    _update_parts(op.set, op.increment, op.remove)
                    clean.append(op)
                case TxDelete() | TxCheck():
                    _key(op.key.pk, op.key.sk)
                    clean.append(op)
                case _:
                    raise InvalidRequest(f"not a transaction operation: {op!r}")
            target = _target(clean[-1])
            if target in seen:
                raise InvalidRequest(
                    f"operations {seen[target]} and {index} of the transaction touch the same "
                    f"item of {target[0]!r}: a transaction may touch each item once"
                )
            seen[target] = index
        self._call(lambda: self._db.transact_write(self._tenant_id, clean), retry=False)

    def scan(self, *, cursor: str | None = None, limit: int = 100) -> ScanPage:
        """One page of every item of the tenant, every collection (export, copy).

        Pass ``page.cursor`` for the next page; a page may be short or empty while a
        cursor follows. Needs the ``export`` capability.
        """
        self._require(DbCapability.EXPORT, "namespace scans (export)")
        _check_limit(limit, MAX_SCAN_LIMIT)
        inner = self._signer.open(self._tenant_id, ["scan"], cursor) if cursor else None
        page = self._call(
            lambda: self._db.scan_namespace(self._tenant_id, cursor=inner, limit=limit)
        )
        if len(page.entries) > limit:
            raise self._violation(f"scan returned {len(page.entries)} items for limit {limit}")
        for collection, _ in page.entries:
            check_collection(collection)
        if page.cursor is None:
            return page
        sealed = self._signer.seal(self._tenant_id, ["scan"], page.cursor)
        return ScanPage(entries=page.entries, cursor=sealed)

    def restore(self, collection: str, items: Sequence[Item]) -> None:
        """Write up to 100 scanned items back as they were: fields and expiry kept, new
        versions, unconditionally (import, copy). Needs the ``export`` capability."""
        self._require(DbCapability.EXPORT, "restoring items (export)")
        check_collection(collection)
        _check_count(len(items), MAX_BATCH_ITEMS, "items")
        clean = []
        for item in items:
            fields = _item(item.to_dict())
            if item.expires_at is not None:
                self._require(DbCapability.TTL, "item expiry (ttl)")
            if item.expires_at is not None and (
                isinstance(item.expires_at, bool) or item.expires_at <= 0
            ):
                raise InvalidRequest("expires_at must be a positive epoch second")
            data = {k: v for k, v in fields.items() if k not in ("pk", "sk")}
            clean.append(
                Item(
                    pk=fields["pk"],
                    sk=fields["sk"],
                    data=data,
                    version=item.version,
                    expires_at=item.expires_at,
                )
            )
        self._call(lambda: self._db.restore(self._tenant_id, collection, clean))

    def _paged(
        self,
        query: list[Any],
        cursor: str | None,
        limit: int,
        fetch: Callable[[str | None], Page],
        belongs: Callable[[Item], bool],
        what: str,
    ) -> Page:
        """Open the caller's cursor, fetch a page, check it, and seal the next cursor."""
        inner = self._signer.open(self._tenant_id, query, cursor) if cursor is not None else None
        page = self._call(lambda: fetch(inner))
        if len(page.items) > limit:
            raise self._violation(f"{what} returned {len(page.items)} items for limit {limit}")
        for item in page.items:
            if not belongs(item):
                raise self._violation(f"{what} returned item {item.key}")
        if page.cursor is None:
            return page
        sealed = self._signer.seal(self._tenant_id, query, page.cursor)
        return Page(items=page.items, cursor=sealed)

    def _check_ttl(self, ttl: float | None) -> None:
        if ttl is None:
            return
        self._require(DbCapability.TTL, "item expiry (ttl)")
        if (
            not isinstance(ttl, int | float)
            or isinstance(ttl, bool)
            or not math.isfinite(ttl)
            or ttl <= 0
        ):
            raise InvalidRequest("ttl must be a positive, finite number of seconds")

    def _violation(self, what: str) -> IsolationViolation:
        return IsolationViolation(
            f"{self._provider} answered outside the request: {what}", provider=self._provider
        )


def _key(pk: object, sk: object = "") -> Key:
    return Key(pk=check_item_key(pk, field="pk"), sk=check_item_key(sk, field="sk"))


def _target(op: TxOp) -> tuple[str, str, str]:
    """(collection, pk, sk) of the item a transaction operation touches."""
    if isinstance(op, TxPut):
        return op.collection, op.item["pk"], op.item["sk"]
    return op.collection, op.key.pk, op.key.sk


def _at(item: Item, pk: str, sk: str) -> bool:
    """Whether ``item`` is the one at (pk, sk), without building a :class:`Key` for it."""
    return item.pk == pk and item.sk == sk


def _item(item: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise InvalidRequest(f"an item must be a mapping, got {type(item).__name__}")
    if "pk" not in item:
        raise InvalidRequest("an item needs a 'pk' field")
    clean: dict[str, Any] = {"pk": check_item_key(item["pk"], field="pk")}
    clean["sk"] = check_item_key(item.get("sk", ""), field="sk")
    for name, value in item.items():
        if name in ("pk", "sk"):
            continue
        check_field_name(name)
        check_json_value(value, path=name)
        clean[name] = value
    return clean


def _update_parts(
    set_: Mapping[str, Any] | None,
    increment: Mapping[str, int | float] | None,
    remove: Sequence[str],
) -> tuple[dict[str, Any], dict[str, int | float], tuple[str, ...]]:
    set_ = dict(set_ or {})
    inc = dict(increment or {})
    rem = tuple(remove)
    for name, value in set_.items():
        check_field_name(name)
        check_json_value(value, path=name)
    for name, amount in inc.items():
        check_field_name(name)
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise InvalidRequest(f"increment {name}: amount must be a number")
        check_json_value(amount, path=name)
    for name in rem:
        check_field_name(name)
    touched = [*set_, *inc, *rem]
    if len(touched) != len(set(touched)):
        raise InvalidRequest("a field may appear only once across set, increment and remove")
    if not touched:
        raise InvalidRequest("update needs at least one of set, increment or remove")
    return set_, inc, rem


def _check_sort(sort: SortKey) -> None:
    check_item_key(sort.value, field="sort.value")
    if sort.op == "between":
        if sort.upper is None:
            raise InvalidRequest("a 'between' sort condition needs an upper bound")
        check_item_key(sort.upper, field="sort.upper")


def _check_limit(limit: int, maximum: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise InvalidRequest(f"limit must be an integer from 1 to {maximum}")


def _check_count(count: int, maximum: int, what: str) -> None:
    if count > maximum:
        raise InvalidRequest(f"at most {maximum} {what} per call, got {count}")


# --- storage --------------------------------------------------------------------------


class TenantStorage(_Scoped):
    """The tenant's object storage. Keys are relative: ``"reports/q3.pdf"``."""

    def __init__(
        self,
        store: ObjectStore,
        *,
        tenant_id: str,
        provider: str,
        capabilities: frozenset[str],
        signer: CursorSigner,
        retry: RetryPolicy | None = None,
        secrets: Sequence[str] = (),
    ) -> None:
        super().__init__(
            tenant_id, provider, capabilities, retry=retry or RetryPolicy(), secrets=secrets
        )
        self._store = store
        self._signer = signer
        self._root = f"{self._tenant_id}/"

    def put(
        self,
        key: str,
        body: Body,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Store bytes, a binary file object or an iterable of chunks at ``key``."""
        full = self._full(key)
        meta = _metadata(metadata)
        if isinstance(body, str):
            raise InvalidRequest("body must be bytes, a binary file or an iterable of bytes")
        info = self._call(
            lambda: self._store.put(full, body, content_type=content_type, metadata=meta),
            retry=isinstance(body, bytes | bytearray | memoryview),
        )
        return self._relative(info)

    def get(self, key: str, *, offset: int = 0, length: int | None = None) -> bytes:
        """The whole object, or ``length`` bytes from ``offset``."""
        full = self._full(key)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidRequest("offset must be a non-negative integer")
        if length is not None and (
            isinstance(length, bool) or not isinstance(length, int) or length < 1
        ):
            raise InvalidRequest("length must be a positive integer")
        return self._call(lambda: self._store.get(full, offset=offset, length=length))

    def stream(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        """The object in chunks, without holding it in memory."""
        full = self._full(key)
        if chunk_size < 1:
            raise InvalidRequest("chunk_size must be positive")
        chunks = self._call(lambda: self._store.stream(full, chunk_size=chunk_size))
        return self._guarded(chunks)

    def head(self, key: str) -> ObjectInfo:
        full = self._full(key)
        return self._relative(self._call(lambda: self._store.head(full)))

    def exists(self, key: str) -> bool:
        from tenantkit.errors import NotFound

        try:
            self.head(key)
        except NotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        full = self._full(key)
        self._call(lambda: self._store.delete(full))

    def list(
        self,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        cursor: str | None = None,
        limit: int = MAX_LIST_LIMIT,
    ) -> Listing:
        """Objects under ``prefix`` in key order; with ``delimiter="/"`` also sub-prefixes."""
        check_storage_prefix(prefix)
        if delimiter is not None and delimiter != "/":
            raise InvalidRequest("the only delimiter supported is '/'")
        _check_limit(limit, MAX_LIST_LIMIT)
        query = ["l", prefix, delimiter]
        inner = self._signer.open(self._tenant_id, query, cursor) if cursor is not None else None
        listing = self._call(
            lambda: self._store.list(
                self._root + prefix, delimiter=delimiter, cursor=inner, limit=limit
            )
        )
        # One check per key: inside the tenant and under the prefix at once.
        within = self._root + prefix
        cut = len(self._root)
        objects = []
        for info in listing.objects:
            if not info.key.startswith(within):
                raise self._violation(f"returned key {info.key!r} outside {within!r}")
            objects.append(_rekeyed(info, info.key[cut:]))
        prefixes = [self._strip(p, within) for p in listing.prefixes]
        sealed = (
            self._signer.seal(self._tenant_id, query, listing.cursor) if listing.cursor else None
        )
        return Listing(objects=objects, prefixes=prefixes, cursor=sealed)

    def copy(self, source: str, destination: str) -> ObjectInfo:
        src, dst = self._full(source), self._full(destination)
        return self._relative(self._call(lambda: self._store.copy(src, dst)))

    def presign_get(self, key: str, *, expires_in: int = 300) -> str:
        """A URL that downloads the object until it expires (1 s to 7 days)."""
        self._require(StorageCapability.PRESIGN, "presigned URLs")
        full = self._full(key)
        _check_expiry(expires_in)
        return self._call(lambda: self._store.presign_get(full, expires_in=expires_in))

    @property
    def presigned_put_headers(self) -> dict[str, str]:
        """Headers the uploader must send with a :meth:`presign_put` URL, besides
        ``Content-Type`` (none for most stores)."""
        return dict(self._store.presigned_put_headers)

    def presign_put(
        self, key: str, *, expires_in: int = 300, content_type: str | None = None
    ) -> str:
        """A URL that uploads the object with PUT until it expires (1 s to 7 days).

        The uploader sends :attr:`presigned_put_headers` with it, and ``Content-Type``
        when one is given."""
        self._require(StorageCapability.PRESIGN, "presigned URLs")
        full = self._full(key)
        _check_expiry(expires_in)
        return self._call(
            lambda: self._store.presign_put(full, expires_in=expires_in, content_type=content_type)
        )

    def _full(self, key: str) -> str:
        return self._root + check_storage_key(key)

    def _strip(self, full: str, within: str | None = None) -> str:
        """``full`` without the tenant's root, checked to start with ``within``
        (the root and a listing's prefix) or, by default, the root."""
        within = within or self._root
        if not full.startswith(within):
            raise self._violation(f"returned key {full!r} outside {within!r}")
        return full[len(self._root) :]

    def _relative(self, info: ObjectInfo, within: str | None = None) -> ObjectInfo:
        # The provider's object was validated when it was built; only the key changes,
        # to a part of its own (checked by _strip), so the copy is not validated again.
        return _rekeyed(info, self._strip(info.key, within))

    def _violation(self, what: str) -> IsolationViolation:
        return IsolationViolation(
            f"{self._provider} answered outside the tenant: {what}", provider=self._provider
        )


def _rekeyed(info: ObjectInfo, key: str) -> ObjectInfo:
    """``info`` with ``key``, without validating it again.

    Set as ``model_construct`` sets a model (its ``__dict__``, fields set, no extra or
    private state), at a fifth of its cost: a listing makes one per object. Anything
    not exactly an :class:`ObjectInfo` is validated as a new one.
    """
    if type(info) is not ObjectInfo:
        return ObjectInfo.model_validate({**dict(info), "key": key})
    fields = info.__dict__.copy()
    fields["key"] = key
    if fields["metadata"]:
        fields["metadata"] = dict(fields["metadata"])  # not shared with the provider's
    copy = _new_object(ObjectInfo)
    _set_attribute(copy, "__dict__", fields)
    # ``key`` is required, so always in the set; a frozen model never changes it.
    _set_attribute(copy, "__pydantic_fields_set__", info.__pydantic_fields_set__)
    _set_attribute(copy, "__pydantic_extra__", None)
    _set_attribute(copy, "__pydantic_private__", None)
    return copy


_new_object = object.__new__
_set_attribute = object.__setattr__


def _metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    meta = dict(metadata or {})
    size = 0
    for name, value in meta.items():
        if (
            not isinstance(name, str)
            or not name.isascii()
            or not name.isidentifier()
            or not name.islower()
        ):
            raise InvalidRequest(
                f"metadata name {name!r}: use lowercase ASCII letters, digits and underscores"
            )
        if not isinstance(value, str) or not value.isascii() or not value.isprintable():
            raise InvalidRequest(f"metadata {name}: values must be printable ASCII text")
        size += len(name) + len(value)
    if size > _METADATA_BYTES:
        raise InvalidRequest(f"metadata may hold at most {_METADATA_BYTES} bytes")
    return meta


def _check_expiry(expires_in: int) -> None:
    if isinstance(expires_in, bool) or not isinstance(expires_in, int):
        raise InvalidRequest("expires_in must be a whole number of seconds")
    if not 1 <= expires_in <= MAX_PRESIGN_SECONDS:
        raise InvalidRequest(f"expires_in must be from 1 to {MAX_PRESIGN_SECONDS} seconds")


# --- LLM ------------------------------------------------------------------------------


class TenantLLM(_Scoped):
    """The tenant's LLM: ``chat(messages=[...])``, ``stream(...)``, ``generate_image(...)``,
    ``embed(input=[...])``."""

    def __init__(
        self,
        llm: LLM,
        *,
        tenant_id: str,
        provider: str,
        capabilities: frozenset[str],
        retry: RetryPolicy | None = None,
        secrets: Sequence[str] = (),
    ) -> None:
        super().__init__(
            tenant_id, provider, capabilities, retry=retry or RetryPolicy(), secrets=secrets
        )
        self._llm = llm

    def chat(self, request: ChatRequest | None = None, /, **fields: Any) -> ChatResponse:
        """Send a chat request (a :class:`ChatRequest` or its fields as keywords)."""
        req = self._request(request, fields)
        return self._call(lambda: self._llm.chat(req))

    def stream(self, request: ChatRequest | None = None, /, **fields: Any) -> ChatStream:
        """Stream a chat answer. Failures before the first event are retried."""
        self._require(LLMCapability.STREAMING, "streaming")
        req = self._request(request, fields)

        def open_stream() -> tuple[Iterator[StreamEvent], StreamEvent | None]:
            events = iter(self._llm.stream(req))
            try:
                return events, next(events)
            except StopIteration:
                return events, None

        events, first = self._call(open_stream)
        return ChatStream(self._guarded(events, first), provider=self._provider)

    def generate_image(
        self, request: ImageRequest | None = None, /, **fields: Any
    ) -> ImageResponse:
        self._require(LLMCapability.IMAGE_GENERATION, "image generation")
        req = request if request is not None else validate_request(ImageRequest, fields)
        return self._call(lambda: self._llm.generate_image(req))

    def embed(self, request: EmbeddingRequest | None = None, /, **fields: Any) -> EmbeddingResponse:
        """Vectors for texts: ``embed(input=["...", ...])``, one per text, in order."""
        self._require(LLMCapability.EMBEDDINGS, "embeddings")
        req = request if request is not None else validate_request(EmbeddingRequest, fields)
        response = self._call(lambda: self._llm.embed(req))
        if len(response.vectors) != len(req.input):
            raise ProviderError(
                f"{self._provider} returned {len(response.vectors)} embeddings "
                f"for {len(req.input)} inputs",
                provider=self._provider,
            )
        return response

    def _request(self, request: ChatRequest | None, fields: Mapping[str, Any]) -> ChatRequest:
        if request is None:
            req = validate_request(ChatRequest, fields)
        elif fields:
            raise InvalidRequest("pass a ChatRequest or keyword fields, not both")
        else:
            req = request
        if not req.messages:
            raise InvalidRequest("messages must not be empty")
        if req.tools or (req.tool_choice not in (None, "none")):
            self._require(LLMCapability.TOOLS, "tools")
        if req.tool_choice not in (None, "none") and not req.tools:
            raise InvalidRequest("tool_choice: needs tools")
        if isinstance(req.tool_choice, NamedToolChoice) and req.tool_choice.name not in {
            tool.name for tool in req.tools
        }:
            raise InvalidRequest(
                f"tool_choice.name: {req.tool_choice.name!r} is not one of the tools"
            )
        if req.response_format is not None:
            self._require(LLMCapability.JSON_SCHEMA, "JSON-schema output")
        if any(
            isinstance(part, ImagePart)
            for m in req.messages
            if not isinstance(m.content, str)
            for part in m.content
        ):
            self._require(LLMCapability.VISION, "image input")
        return req
