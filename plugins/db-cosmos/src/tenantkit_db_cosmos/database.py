"""The Cosmos DB for NoSQL provider: a tenant's items are one logical partition of a
container, spoken to over the documented REST API (see the README)."""

from __future__ import annotations

import functools
import json
import math
import ssl
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from tenantkit.azure import EntraToken
from tenantkit.db import (
    Condition,
    Database,
    DbCapability,
    IfAbsent,
    IfExists,
    IfVersion,
    IndexSpec,
    Item,
    Key,
    Page,
    Schema,
    SortKey,
    TxCheck,
    TxDelete,
    TxOp,
    TxPut,
    TxUpdate,
    expiry,
)
from tenantkit.errors import (
    ConditionFailed,
    ConfigurationError,
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
    TenantkitError,
    TransactionCanceled,
)
from tenantkit.http import ProviderHTTP
from tenantkit.registry import ProviderContext
from tenantkit.retry import RetryPolicy
from tenantkit_db_cosmos._layout import (
    PARTITION_PATH,
    Query,
    decode_cursor,
    document,
    encode_cursor,
    index_sort_condition,
    item_id,
    live,
    sort_condition,
    to_item,
)
from tenantkit_db_cosmos._wire import (
    CODES,
    ENTRA_SCOPE,
    REQUEST_ID_HEADER,
    SESSION_HEADER,
    Codes,
    EntraAuth,
    MasterKeyAuth,
    ResourceTokenAuth,
    parse_error,
    substatus,
)
from tenantkit_db_cosmos.settings import CosmosSettings

__all__ = ["CosmosDatabase"]

PROVIDER = "cosmos"
#: Optimistic writes (read, decide, write with If-Match) start over at most this often
#: when another writer changed the item in between.
MAX_WRITE_ROUNDS = 100
MAX_TRANSACTION_ROUNDS = 10
#: Cosmos holds numbers as IEEE 754 doubles: larger integers would not read back equal.
MAX_SAFE_INTEGER = 2**53 - 1
#: A transactional batch carries at most 2 MB; stay below it with room for the envelope.
MAX_BATCH_BYTES = 1_900_000
_CONDITION_FAILED = "ConditionalCheckFailed"


class _Race(Exception):
    """Another writer changed an item between our read and our write: start over."""


@dataclass
class _Step:
    """One operation of a transactional batch, and the operation of ours it serves."""

    op: dict[str, Any]
    source: int


class CosmosDatabase(Database):
    """A tenant's database in a Cosmos DB container (one logical partition per tenant).

    Args:
        settings: the tenant's ``db`` section.
        context: what the core says about the tenant (its declared indexes, the retry
            policy for the steps of a batch).
        read_timeout: seconds to wait for an answer to any one request.
        verify: a TLS context to use instead of the system's (tests).
    """

    #: Every optional database feature: a tenant is one logical partition, so a
    #: transactional batch covers any of its items.
    capabilities: ClassVar[frozenset[DbCapability]] = frozenset(
        {DbCapability.TRANSACTIONS, DbCapability.BATCH, DbCapability.INDEXES, DbCapability.TTL}
    )

    def __init__(
        self,
        settings: CosmosSettings,
        context: ProviderContext,
        *,
        read_timeout: float = 10.0,
        verify: ssl.SSLContext | None = None,
    ) -> None:
        self._settings = settings
        self._retry: RetryPolicy = context.retry
        self._indexes: dict[str, dict[str, IndexSpec]] = {}
        self._add_schema(context.schema)
        self._sessions: dict[str, str] = {}
        self._colls = f"/dbs/{settings.database}/colls"
        self._docs = f"{self._colls}/{settings.container}/docs"
        auth, secret = _auth(settings, verify)
        self._auth = auth
        self._http = ProviderHTTP(
            PROVIDER,
            settings.endpoint.rstrip("/"),
            parse_error=parse_error,
            headers={"Accept": "application/json"},
            codes=Codes(CODES),
            request_id_header=REQUEST_ID_HEADER,
            secrets=[secret],
            auth=auth,
            read_timeout=read_timeout,
            verify=verify or _ca_context(settings.ca_file),
        )

    def __repr__(self) -> str:
        s = self._settings
        return f"CosmosDatabase(endpoint={s.endpoint!r}, container={s.database}/{s.container})"

    # --- single items -------------------------------------------------------------------

    def get(self, ns: str, collection: str, key: Key, *, consistent: bool = False) -> Item | None:
        doc = self._read(ns, item_id(collection, key.pk, key.sk))
        if doc is None or not live(doc, time.time()):
            return None
        return to_item(doc)

    def put(
        self,
        ns: str,
        collection: str,
        item: Mapping[str, Any],
        *,
        condition: Condition | None = None,
        ttl: float | None = None,
    ) -> Item:
        pk, sk = item["pk"], item.get("sk", "")
        fields = {name: value for name, value in item.items() if name not in ("pk", "sk")}
        _check_numbers(fields)

        def new(now: float) -> dict[str, Any]:
            return self._document(ns, collection, pk, sk, fields, expiry(now, ttl), now)

        if condition is None:
            return to_item(self._upsert(ns, new(time.time())))

        def decide(current: dict[str, Any] | None, now: float) -> dict[str, Any]:
            if not _holds(condition, current, now):
                raise ConditionFailed(
                    f"{collection}: the condition on {pk!r}/{sk!r} does not hold",
                    provider=PROVIDER,
                )
            return new(now)

        first = None if isinstance(condition, IfAbsent) else _UNREAD
        return to_item(self._write(ns, item_id(collection, pk, sk), decide, first))

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
        changes = _Changes(dict(set or {}), dict(increment or {}), tuple(remove))
        _check_numbers(changes.set_)

        def decide(current: dict[str, Any] | None, now: float) -> dict[str, Any]:
            alive = live(current, now)
            if condition is not None and not _holds(condition, current, now):
                raise ConditionFailed(
                    f"{collection}: the condition on {key.pk!r}/{key.sk!r} does not hold",
                    provider=PROVIDER,
                )
            if not alive and not upsert:
                raise _not_found(collection, key)
            return self._updated(ns, collection, key, current if alive else None, changes, ttl, now)

        return to_item(self._write(ns, item_id(collection, key.pk, key.sk), decide, _UNREAD))

    def delete(
        self, ns: str, collection: str, key: Key, *, condition: Condition | None = None
    ) -> bool:
        doc_id = item_id(collection, key.pk, key.sk)
        for _ in range(MAX_WRITE_ROUNDS):
            current = self._read(ns, doc_id)
            now = time.time()
            if condition is not None and not _holds(condition, current, now):
                raise ConditionFailed(
                    f"{collection}: the condition on {key.pk!r}/{key.sk!r} does not hold",
                    provider=PROVIDER,
                )
            if current is None:
                return False
            try:
                self._request(
                    "DELETE", f"{self._docs}/{doc_id}", ns, headers={"If-Match": current["_etag"]}
                )
            except ConditionFailed:
                continue  # changed meanwhile: decide again on what is there now
            except NotFound:
                if condition is None:
                    return False
                continue
            return live(current, now)
        raise _kept_changing(collection, key)

    # --- queries ------------------------------------------------------------------------

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
        query = Query()
        query.where += [
            f"c.t = {query.param(ns)}",
            f"c.c = {query.param(collection)}",
            f"c.p = {query.param(pk)}",
        ]
        if sort is not None and not sort_condition(query, "c.s", sort):
            return Page(items=[])
        return self._page(ns, query, "c.s", descending, limit, cursor)

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
        if sort is not None and index.sort_field is None:
            raise InvalidRequest(f"index {index.name!r} has no sort field to put a condition on")
        entry = f"c.ix[{json.dumps(index.name)}]"
        query = Query()
        query.where += [
            f"c.t = {query.param(ns)}",
            f"c.c = {query.param(index.collection)}",
            f"{entry}.p = {query.param(value)}",
        ]
        if sort is not None and not index_sort_condition(query, f"{entry}.s", sort):
            return Page(items=[])
        return self._page(ns, query, f"{entry}.s", descending, limit, cursor)

    def _page(
        self,
        ns: str,
        query: Query,
        order_by: str,
        descending: bool,
        limit: int,
        cursor: str | None,
    ) -> Page:
        """Fill one page: Cosmos may answer a query in several pages of its own, which
        its continuation token strings together; the cursor starts the next page after
        the last item's sort value."""
        if cursor is not None:
            after = decode_cursor(cursor)
            query.where.append(f"{order_by} {'<' if descending else '>'} {query.param(after)}")
        query.where.append(f"(NOT IS_DEFINED(c.x) OR c.x > {query.param(int(time.time()))})")
        body = query.body(order_by, descending)
        found: list[dict[str, Any]] = []
        continuation: str | None = None
        while True:
            docs, continuation = self._query(ns, body, limit + 1 - len(found), continuation)
            now = time.time()
            found.extend(doc for doc in docs if doc.get("t") == ns and live(doc, now))
            if len(found) > limit or not continuation:
                break
        more = len(found) > limit
        found = found[:limit]
        next_cursor = encode_cursor(_sort_value(found[-1], order_by)) if more else None
        return Page(items=[to_item(doc) for doc in found], cursor=next_cursor)

    def _query(
        self, ns: str, body: Mapping[str, Any], max_items: int, continuation: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a query inside the tenant's partition: documents and continuation."""
        headers = {
            "Content-Type": "application/query+json",
            "x-ms-documentdb-isquery": "True",
            "x-ms-max-item-count": str(max_items),
        }
        if continuation:
            headers["x-ms-continuation"] = continuation
        response = self._request("POST", self._docs, ns, headers=headers, json=body, read=True)
        answer = response.json()
        docs = answer.get("Documents") if isinstance(answer, dict) else None
        if not isinstance(docs, list):
            raise ProviderUnavailable(
                "cosmos answered a query without documents", provider=PROVIDER
            )
        return docs, response.headers.get("x-ms-continuation") or None

    # --- batches ------------------------------------------------------------------------

    def batch_get(self, ns: str, collection: str, keys: Sequence[Key]) -> list[Item]:
        by_id = self._read_many(ns, [item_id(collection, k.pk, k.sk) for k in keys])
        now = time.time()
        items = []
        for k in keys:
            doc = by_id.get(item_id(collection, k.pk, k.sk))
            if doc is not None and live(doc, now):
                items.append(to_item(doc))
        return items

    def batch_put(self, ns: str, collection: str, items: Sequence[Mapping[str, Any]]) -> None:
        # The last write of a key wins, as it would one put at a time.
        latest = {(item["pk"], item.get("sk", "")): item for item in items}
        now = time.time()
        ops = []
        for (pk, sk), item in latest.items():
            fields = {n: v for n, v in item.items() if n not in ("pk", "sk")}
            _check_numbers(fields)
            doc = self._document(ns, collection, pk, sk, fields, None, now)
            ops.append({"operationType": "Upsert", "resourceBody": doc})
        # All of a tenant's items share one logical partition: each chunk is one
        # transactional batch, written whole or not at all, retried as a step.
        for chunk in _by_size(ops):

            def step(chunk: list[dict[str, Any]] = chunk) -> None:
                results = self._batch(ns, chunk)
                failed = _first_failure(results)
                if failed is not None:
                    raise _batch_error(results[failed], failed)

            self._retry.call(step)

    # --- transactions -------------------------------------------------------------------

    def transact_write(self, ns: str, ops: Sequence[TxOp]) -> None:
        ids = [item_id(op.collection, *_op_key(op)) for op in ops]
        if len(set(ids)) != len(ids):
            raise InvalidRequest("a transaction may name each item once")
        for _ in range(MAX_TRANSACTION_ROUNDS):
            current = self._read_many(ns, ids)
            now = time.time()
            steps = self._plan(ns, ops, ids, current, now)
            if not steps:
                return
            results = self._batch(ns, [s.op for s in steps])
            failed = _first_failure(results)
            if failed is None:
                return
            status = int(results[failed].get("statusCode", 0))
            if status not in (404, 409, 412):
                raise _batch_error(results[failed], steps[failed].source)
            # An item changed between our read and the batch: decide again.
        raise TransactionCanceled(
            "transaction canceled: its items kept changing while it was being applied",
            reasons=["TransactionConflict"] * len(ops),
            provider=PROVIDER,
        )

    def _plan(
        self,
        ns: str,
        ops: Sequence[TxOp],
        ids: Sequence[str],
        current: Mapping[str, dict[str, Any]],
        now: float,
    ) -> list[_Step]:
        """The batch that applies ``ops`` to what was read, each write guarded by the
        ETag it was decided on; raise ``TransactionCanceled`` when a condition fails."""
        reasons: list[str | None] = []
        steps: list[_Step] = []
        for index, (op, doc_id) in enumerate(zip(ops, ids, strict=True)):
            doc = current.get(doc_id)
            alive = live(doc, now)
            if op.condition is not None and not _holds(op.condition, doc, now):
                reasons.append(_CONDITION_FAILED)
                continue
            if isinstance(op, TxUpdate) and not alive and not op.upsert:
                reasons.append(_CONDITION_FAILED)
                continue
            if isinstance(op, TxUpdate) and _increments_non_number(op, doc if alive else None):
                reasons.append("ValidationError")
                continue
            reasons.append(None)
            new: dict[str, Any] | None = None
            match op:
                case TxPut():
                    pk, sk = op.item["pk"], op.item.get("sk", "")
                    fields = {n: v for n, v in op.item.items() if n not in ("pk", "sk")}
                    _check_numbers(fields)
                    expires = expiry(now, op.ttl)
                    new = self._document(ns, op.collection, pk, sk, fields, expires, now)
                case TxUpdate():
                    changes = _Changes(dict(op.set), dict(op.increment), tuple(op.remove))
                    _check_numbers(changes.set_)
                    base = doc if alive else None
                    new = self._updated(ns, op.collection, op.key, base, changes, None, now)
                case TxDelete():
                    if doc is not None:
                        steps.append(_Step(_guarded("Delete", doc_id, doc), index))
                    continue
                case TxCheck():
                    if doc is not None:
                        steps.append(_Step(_guarded("Read", doc_id, doc), index))
                    continue
            if doc is None:
                steps.append(_Step({"operationType": "Create", "resourceBody": new}, index))
            else:
                op_body = _guarded("Replace", doc_id, doc)
                op_body["resourceBody"] = new
                steps.append(_Step(op_body, index))
        if any(r is not None for r in reasons):
            described = "; ".join(
                f"operation {i} ({ops[i].op} in {ops[i].collection!r}): {r}"
                for i, r in enumerate(reasons)
                if r is not None
            )
            raise TransactionCanceled(
                f"transaction canceled: {described}", reasons=reasons, provider=PROVIDER
            )
        return steps

    # --- schema -------------------------------------------------------------------------

    def ensure_schema(self, schema: Schema) -> None:
        """Create the database and the container where missing. Idempotent.

        The container is partitioned on ``/t`` with TTL on (``defaultTtl: -1``: only
        items that carry a ``ttl`` expire) and leaves application fields (``/d``) out of
        its index. Creating them needs the account key: Entra ID data-plane roles and
        resource tokens cannot create databases or containers.
        """
        self._add_schema(schema)
        s = self._settings
        self._create("/dbs", {"id": s.database})
        self._create(
            self._colls,
            {
                "id": s.container,
                "partitionKey": {"paths": [PARTITION_PATH], "kind": "Hash", "version": 2},
                "defaultTtl": -1,
                "indexingPolicy": {
                    "indexingMode": "consistent",
                    "automatic": True,
                    "includedPaths": [{"path": "/*"}],
                    "excludedPaths": [{"path": "/d/*"}, {"path": '/"_etag"/?'}],
                },
            },
        )
        answer = self._http.request("GET", f"{self._colls}/{s.container}").json()
        paths = (answer.get("partitionKey") or {}).get("paths")
        if paths != [PARTITION_PATH]:
            raise ConfigurationError(
                f"Cosmos container {s.container!r} is partitioned on {paths}, not "
                f"[{PARTITION_PATH!r}]: give the tenant a container made for tenantkit",
                provider=PROVIDER,
            )

    def close(self) -> None:
        self._http.close()
        if isinstance(self._auth, EntraAuth):
            self._auth.close()

    # --- requests -----------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        ns: str,
        *,
        headers: Mapping[str, str] | None = None,
        read: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request inside the tenant's partition, carrying its session token."""
        sent = {"x-ms-documentdb-partitionkey": _partition_key(ns), **(headers or {})}
        if read:
            session = self._sessions.get(ns)
            if session:
                sent[SESSION_HEADER] = session
            if self._settings.consistency:
                sent["x-ms-consistency-level"] = self._settings.consistency
        try:
            response = self._http.request(method, path, headers=sent, **kwargs)
        except NotFound as exc:
            sub = substatus(exc)
            if sub == 1003:  # the database or the container does not exist
                raise self._missing_container(exc) from None
            if sub == 1002:  # ReadSessionNotAvailable: the replica has not caught up yet
                raise ProviderUnavailable(
                    "cosmos: the session's writes have not reached this replica yet",
                    provider=PROVIDER,
                    status=exc.status,
                    code=exc.code,
                    request_id=exc.request_id,
                ) from None
            raise
        token = response.headers.get(SESSION_HEADER)
        if token:
            self._sessions[ns] = token
        return response

    def _read(self, ns: str, doc_id: str) -> dict[str, Any] | None:
        """The stored document, expired or not, or ``None``."""
        try:
            response = self._request("GET", f"{self._docs}/{doc_id}", ns, read=True)
        except NotFound:
            return None
        doc: dict[str, Any] = response.json()
        return doc if doc.get("t") == ns else None

    def _read_many(self, ns: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored documents among ``ids`` (expired ones too), by id: one query."""
        unique = list(dict.fromkeys(ids))
        if not unique:
            return {}
        query = Query()
        query.where += [f"c.t = {query.param(ns)}", f"ARRAY_CONTAINS({query.param(unique)}, c.id)"]
        body = query.body()
        found: dict[str, dict[str, Any]] = {}
        continuation: str | None = None
        while True:

            def step(after: str | None = continuation) -> tuple[list[dict[str, Any]], str | None]:
                return self._query(ns, body, len(unique), after)

            docs, continuation = self._retry.call(step)
            for doc in docs:
                if doc.get("t") == ns:
                    found[doc["id"]] = doc
            if not continuation:
                return found

    def _upsert(self, ns: str, doc: dict[str, Any]) -> dict[str, Any]:
        headers = {"x-ms-documentdb-is-upsert": "True"}
        written: dict[str, Any] = self._request(
            "POST", self._docs, ns, headers=headers, json=doc
        ).json()
        return written

    def _write(
        self,
        ns: str,
        doc_id: str,
        decide: Callable[[dict[str, Any] | None, float], dict[str, Any]],
        first: Any,
    ) -> dict[str, Any]:
        """Read, decide, write with ``If-Match`` (or create), until no one raced us.

        ``first`` is what to decide on before reading: ``None`` to try a create at
        once (a write that expects no item), :data:`_UNREAD` to read first.
        """
        current: dict[str, Any] | None = first
        for attempt in range(MAX_WRITE_ROUNDS):
            if attempt or first is _UNREAD:
                current = self._read(ns, doc_id)
            new = decide(current, time.time())
            try:
                if current is None:
                    written = self._request("POST", self._docs, ns, json=new)
                else:
                    written = self._request(
                        "PUT",
                        f"{self._docs}/{doc_id}",
                        ns,
                        headers={"If-Match": current["_etag"]},
                        json=new,
                    )
            except (ConditionFailed, NotFound):
                continue  # created, changed or deleted meanwhile: decide again
            doc: dict[str, Any] = written.json()
            return doc
        raise ConditionFailed(
            "the item kept changing while it was being written", provider=PROVIDER
        )

    def _batch(self, ns: str, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One transactional batch in the tenant's partition: the result of every op."""
        headers = {
            "x-ms-cosmos-is-batch-request": "True",
            "x-ms-cosmos-batch-atomic": "True",
            "x-ms-cosmos-batch-continue-on-error": "False",
            "Content-Type": "application/json",
        }
        response = self._request("POST", self._docs, ns, headers=headers, json=ops)
        results = response.json()
        if not isinstance(results, list) or len(results) != len(ops):
            raise ProviderUnavailable(
                "cosmos answered a batch without a result per operation", provider=PROVIDER
            )
        return results

    def _create(self, path: str, body: Mapping[str, Any]) -> None:
        try:
            self._http.request("POST", path, json=body)
        except ConditionFailed as exc:
            if exc.status != 409:  # it exists: fine
                raise

    def _missing_container(self, exc: TenantkitError) -> ConfigurationError:
        s = self._settings
        return ConfigurationError(
            f"Cosmos container {s.database}/{s.container} does not exist at {s.endpoint}: "
            "create it with ensure_schema() ('tenantkit check --ensure-schema')",
            provider=PROVIDER,
            status=exc.status,
            code=exc.code,
            request_id=exc.request_id,
        )

    # --- documents ----------------------------------------------------------------------

    def _add_schema(self, schema: Schema) -> None:
        for spec in schema.indexes:
            self._indexes.setdefault(spec.collection, {})[spec.name] = spec

    def _document(
        self,
        ns: str,
        collection: str,
        pk: str,
        sk: str,
        fields: Mapping[str, Any],
        expires_at: int | None,
        now: float,
    ) -> dict[str, Any]:
        return document(
            ns,
            collection,
            pk,
            sk,
            fields,
            expires_at=expires_at,
            now=now,
            indexes=self._indexes.get(collection, {}),
        )

    def _updated(
        self,
        ns: str,
        collection: str,
        key: Key,
        current: dict[str, Any] | None,
        changes: _Changes,
        ttl: float | None,
        now: float,
    ) -> dict[str, Any]:
        """The document after an update of ``current`` (``None``: a new item)."""
        fields = dict(current.get("d") or {}) if current is not None else {}
        fields.update(changes.set_)
        wrong = [
            name for name in changes.increment if name in fields and not _is_number(fields[name])
        ]
        if wrong:
            raise InvalidRequest(
                f"increment {', '.join(wrong)}: the field holds something else than a number",
                provider=PROVIDER,
            )
        for name, by in changes.increment.items():
            fields[name] = fields.get(name, 0) + by
        for name in changes.remove:
            fields.pop(name, None)
        _check_numbers(fields)
        if ttl is not None:
            expires_at: int | None = expiry(now, ttl)
        else:
            expires_at = current.get("x") if current is not None else None
        return self._document(ns, collection, key.pk, key.sk, fields, expires_at, now)


# --- helpers ----------------------------------------------------------------------------

_UNREAD: Any = object()


@dataclass(frozen=True)
class _Changes:
    set_: dict[str, Any]
    increment: dict[str, int | float]
    remove: tuple[str, ...]


def _auth(settings: CosmosSettings, verify: ssl.SSLContext | None) -> tuple[httpx.Auth, str]:
    """The request signer of the configured credential, and the secret to redact."""
    if settings.key is not None:
        key = settings.key.get_secret_value()
        return MasterKeyAuth(key), key
    if settings.resource_token is not None:
        token = settings.resource_token.get_secret_value()
        return ResourceTokenAuth(token), token
    entra = settings.entra
    if entra is None:  # pragma: no cover - the settings model requires one credential
        raise ConfigurationError("cosmos: no credential", provider=PROVIDER)
    secret = entra.client_secret.get_secret_value()
    entra_token = EntraToken(
        PROVIDER,
        entra.tenant_id,
        entra.client_id,
        secret,
        ENTRA_SCOPE,
        authority=entra.authority.rstrip("/"),
        verify=verify,
    )
    return EntraAuth(entra_token), secret


@functools.cache
def _ca_context(ca_file: str | None) -> ssl.SSLContext | None:
    """The system's trust store plus the operator's CA file (one context per file)."""
    if ca_file is None:
        return None
    context = httpx.create_ssl_context()
    try:
        context.load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"cosmos: ca_file {ca_file!r} cannot be read as PEM certificates "
            f"({type(exc).__name__})",
            provider=PROVIDER,
        ) from None
    return context


def _holds(condition: Condition, doc: Mapping[str, Any] | None, now: float) -> bool:
    alive = live(doc, now)
    match condition:
        case IfAbsent():
            return not alive
        case IfExists():
            return alive
        case IfVersion():
            return alive and doc is not None and doc.get("_etag") == condition.version
    raise InvalidRequest(f"unknown condition {condition!r}")  # pragma: no cover


def _guarded(kind: str, doc_id: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    return {"operationType": kind, "id": doc_id, "ifMatch": doc["_etag"]}


def _op_key(op: TxOp) -> tuple[str, str]:
    if isinstance(op, TxPut):
        return op.item["pk"], op.item.get("sk", "")
    return op.key.pk, op.key.sk


def _first_failure(results: Sequence[Mapping[str, Any]]) -> int | None:
    """The operation that failed a batch (the others answer 424 Failed Dependency)."""
    for index, result in enumerate(results):
        status = int(result.get("statusCode", 0))
        if status >= 400 and status != 424:
            return index
    return None


def _batch_error(result: Mapping[str, Any], index: int) -> TenantkitError:
    from tenantkit.http import ErrorInfo, classify

    status = int(result.get("statusCode", 0))
    sub = result.get("subStatusCode")
    code = {413: "RequestEntityTooLarge", 429: "TooManyRequests"}.get(status)
    if code and sub:
        code = f"{code}/{sub}"
    retry_ms = result.get("retryAfterMilliseconds")
    headers = {"x-ms-retry-after-ms": str(retry_ms)} if retry_ms is not None else {}
    info = ErrorInfo(code=code, message=f"operation {index} of the batch failed")
    return classify(PROVIDER, status, info, headers=headers, codes=Codes(CODES))


def _by_size(ops: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Chunks of at most 100 operations and about 1.9 MB each."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for op in ops:
        op_size = len(json.dumps(op, separators=(",", ":")))
        if chunk and (len(chunk) == 100 or size + op_size > MAX_BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(op)
        size += op_size
    if chunk:
        yield chunk


def _sort_value(doc: Mapping[str, Any], order_by: str) -> str:
    """The value of ``c.s`` or ``c.ix["name"].s`` in a document."""
    if order_by == "c.s":
        return str(doc["s"])
    name = json.loads(order_by[len("c.ix[") : order_by.index("]")])
    return str(doc["ix"][name]["s"])


def _increments_non_number(op: TxUpdate, current: dict[str, Any] | None) -> bool:
    """Whether ``op`` increments a field that holds something else than a number."""
    fields = dict(current.get("d") or {}) if current is not None else {}
    fields.update(op.set)
    return any(name in fields and not _is_number(fields[name]) for name in op.increment)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_numbers(value: Any, path: str = "") -> None:
    """Refuse integers Cosmos cannot hold exactly (it keeps IEEE 754 doubles)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > MAX_SAFE_INTEGER:
            raise InvalidRequest(
                f"{path or 'value'}: Cosmos DB holds integers up to ±{MAX_SAFE_INTEGER} exactly"
            )
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidRequest(f"{path or 'value'}: numbers must be finite")
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _check_numbers(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_numbers(v, f"{path}[{i}]")


def _not_found(collection: str, key: Key) -> NotFound:
    return NotFound(f"no item at {key.pk!r}/{key.sk!r} in {collection!r}", provider=PROVIDER)


def _kept_changing(collection: str, key: Key) -> ConditionFailed:
    return ConditionFailed(
        f"{collection}: the item at {key.pk!r}/{key.sk!r} kept changing", provider=PROVIDER
    )


@functools.lru_cache(maxsize=1024)
def _partition_key(ns: str) -> str:
    """The ``x-ms-documentdb-partitionkey`` header of a tenant's partition."""
    return json.dumps([ns])
