"""The DynamoDB provider: one table per tenant, single-table design (see the README)."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, cast

from botocore.exceptions import ClientError

from tenantkit.aws import ProviderAWS, tenant_client
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
    ScanPage,
    Schema,
    SortKey,
    TxCheck,
    TxDelete,
    TxOp,
    TxPut,
    TxUpdate,
    expiry,
    new_version,
)
from tenantkit.errors import (
    ConditionFailed,
    ConfigurationError,
    InvalidCursor,
    InvalidRequest,
    NotFound,
    QuotaExceeded,
    TenantkitError,
    Throttled,
    Timeout,
    TransactionCanceled,
)
from tenantkit.registry import ProviderContext
from tenantkit_db_dynamodb._layout import (
    EXPIRES,
    PK,
    SEP,
    SK,
    VERSION,
    AttributeValue,
    Index,
    decode_cursor,
    decode_item,
    encode,
    encode_cursor,
    encode_fields,
    expired,
    key_attributes,
    partition_key,
    sort_key,
)
from tenantkit_db_dynamodb.settings import DynamoDBSettings

__all__ = ["DynamoDBDatabase"]

PROVIDER = "dynamodb"
_BATCH_WRITE_ITEMS = 25
_BATCH_GET_KEYS = 100

_CODES: dict[str, type[TenantkitError]] = {
    "ConditionalCheckFailedException": ConditionFailed,
    "TransactionConflictException": ConditionFailed,
    "ItemCollectionSizeLimitExceededException": QuotaExceeded,
    "RequestLimitExceeded": Throttled,
}
# Cancellation reasons that say "try again later" rather than "your condition failed".
_RETRYABLE_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})


class DynamoDBDatabase(Database):
    """A tenant's database in one DynamoDB table.

    Args:
        settings: the tenant's ``db`` section.
        context: what the core says about the tenant: its declared indexes, and the
            deployment's retry policy, with which each chunk of a batch is retried
            while DynamoDB leaves items unprocessed.
        read_timeout: seconds to wait for an answer to any one request.
        schema_timeout: seconds :meth:`ensure_schema` waits for a table or an index.
    """

    #: What the provider supports: every optional database feature.
    capabilities: ClassVar[frozenset[DbCapability]] = frozenset(DbCapability)

    def __init__(
        self,
        settings: DynamoDBSettings,
        context: ProviderContext,
        *,
        read_timeout: float = 10.0,
        schema_timeout: float = 600.0,
    ) -> None:
        self._settings = settings
        self._table = settings.table
        self._retry = context.retry
        self._schema_timeout = schema_timeout
        self._indexes: dict[str, dict[str, Index]] = {}
        self._add_schema(context.schema)
        self._aws = ProviderAWS(
            PROVIDER,
            tenant_client(
                "dynamodb",
                settings,
                context.tenant_id,
                read_timeout=read_timeout,
            ),
            codes=_CODES,
            refine=self._refine,
        )
        self._client: Any = self._aws.client

    def __repr__(self) -> str:
        return f"DynamoDBDatabase(table={self._table!r}, region={self._settings.region!r})"

    # --- single items -------------------------------------------------------------------

    def get(self, ns: str, collection: str, key: Key, *, consistent: bool = False) -> Item | None:
        answer = self._aws.call(
            "get_item",
            TableName=self._table,
            Key=key_attributes(ns, collection, key),
            ConsistentRead=consistent or self._settings.consistent_reads,
        )
        raw = answer.get("Item")
        if raw is None or expired(raw, time.time()):
            return None
        return decode_item(raw)

    def put(
        self,
        ns: str,
        collection: str,
        item: Mapping[str, Any],
        *,
        condition: Condition | None = None,
        ttl: float | None = None,
    ) -> Item:
        now = time.time()
        pk, sk = item["pk"], item.get("sk", "")
        fields = {name: value for name, value in item.items() if name not in ("pk", "sk")}
        version = new_version()
        expires_at = expiry(now, ttl)
        params: dict[str, Any] = {
            "TableName": self._table,
            "Item": self._stored(ns, collection, pk, sk, fields, version, expires_at),
        }
        if condition is not None:
            expr = _Expr(now)
            params["ConditionExpression"] = expr.condition(condition)
            expr.apply(params)
        self._aws.call("put_item", **params)
        return Item(pk=pk, sk=sk, data=fields, version=version, expires_at=expires_at)

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
        for _ in range(2):
            now = time.time()
            params = self._update_params(
                ns,
                collection,
                key,
                set_=dict(set or {}),
                increment=dict(increment or {}),
                remove=remove,
                condition=condition,
                upsert=upsert,
                expires_at=expiry(now, ttl),
                now=now,
            )
            with self._aws.translating():
                try:
                    answer = self._client.update_item(
                        ReturnValues="ALL_NEW",
                        ReturnValuesOnConditionCheckFailure="ALL_OLD",
                        **params,
                    )
                except ClientError as exc:
                    if _code(exc) != "ConditionalCheckFailedException":
                        raise
                    old = cast("dict[str, AttributeValue] | None", exc.response.get("Item"))
                    if old is not None and expired(old, now):
                        if not upsert:
                            raise _not_found(collection, key) from None
                        # An expired item still in the table must not lend its fields to
                        # the new one: remove it (unless it changed meanwhile), try again.
                        self._delete_expired(ns, collection, key, old)
                        continue
                    if old is None and not upsert:
                        raise _not_found(collection, key) from None
                    not_numbers = [
                        n for n in increment or () if old and n in old and "N" not in old[n]
                    ]
                    if not_numbers:
                        raise InvalidRequest(
                            f"increment {', '.join(not_numbers)}: the field holds something "
                            "else than a number",
                            provider=PROVIDER,
                        ) from None
                    raise  # the caller's condition failed
            return decode_item(answer["Attributes"])
        raise ConditionFailed(  # pragma: no cover - only when another writer races twice
            f"{collection}: the item kept changing while it was being updated", provider=PROVIDER
        )

    def delete(
        self, ns: str, collection: str, key: Key, *, condition: Condition | None = None
    ) -> bool:
        now = time.time()
        params: dict[str, Any] = {
            "TableName": self._table,
            "Key": key_attributes(ns, collection, key),
            "ReturnValues": "ALL_OLD",
        }
        if condition is not None:
            expr = _Expr(now)
            params["ConditionExpression"] = expr.condition(condition)
            expr.apply(params)
        old = self._aws.call("delete_item", **params).get("Attributes")
        return old is not None and not expired(old, now)

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
        expr = _Expr(time.time())
        partition = partition_key(ns, collection, pk)
        conditions = [f"{expr.name(PK)} = {expr.value({'S': partition})}"]
        if sort is not None:
            on_sort = _table_sort_condition(expr, sort)
            if on_sort is None:
                return Page(items=[])
            if on_sort:
                conditions.append(on_sort)
        start = None
        if cursor is not None:
            start = decode_cursor(cursor, frozenset({PK, SK}))
            if start[PK]["S"] != partition:
                raise InvalidCursor("cursor belongs to another partition")
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": " AND ".join(conditions),
            "ScanIndexForward": not descending,
            "ConsistentRead": self._settings.consistent_reads,
        }
        return self._page(expr, params, limit, start, (PK, SK))

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
        idx = Index.of(index)
        if sort is not None and index.sort_field is None:
            raise InvalidRequest(f"index {index.name!r} has no sort field to put a condition on")
        expr = _Expr(time.time())
        partition = idx.partition_value(ns, value)
        conditions = [f"{expr.name(idx.pk_attr)} = {expr.value({'S': partition})}"]
        if sort is not None:
            on_sort = _index_sort_condition(expr, idx.sk_attr, sort)
            if on_sort is None:
                return Page(items=[])
            if on_sort:
                conditions.append(on_sort)
        names = (PK, SK, idx.pk_attr, idx.sk_attr)
        start = None
        if cursor is not None:
            start = decode_cursor(cursor, frozenset(names))
            if start[idx.pk_attr]["S"] != partition:
                raise InvalidCursor("cursor belongs to another index value")
        params: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": idx.gsi,
            "KeyConditionExpression": " AND ".join(conditions),
            "ScanIndexForward": not descending,
        }
        try:
            return self._page(expr, params, limit, start, names)
        except ConfigurationError as exc:
            if exc.code == "ResourceNotFoundException":  # the table exists, the index not
                raise self._missing_index(idx, exc) from None
            raise
        except InvalidRequest as exc:
            if exc.code == "ValidationException" and "specified index" in exc.message:
                raise self._missing_index(idx, exc) from None
            raise

    def _page(
        self,
        expr: _Expr,
        params: dict[str, Any],
        limit: int,
        start: dict[str, AttributeValue] | None,
        key_names: tuple[str, ...],
    ) -> Page:
        """Fill one page: expired items are filtered out, so a page may need more than
        one request; one item beyond ``limit`` is read to know whether more follow."""
        params["FilterExpression"] = expr.live()
        expr.apply(params)
        found: list[dict[str, AttributeValue]] = []
        while True:
            params["Limit"] = limit + 1 - len(found)
            if start is not None:
                params["ExclusiveStartKey"] = start
            answer = self._aws.call("query", **params)
            found.extend(answer.get("Items", ()))
            start = answer.get("LastEvaluatedKey")
            if len(found) > limit or start is None:
                break
        more = len(found) > limit
        found = found[:limit]
        cursor = encode_cursor({n: found[-1][n] for n in key_names}) if more else None
        return Page(items=[decode_item(raw) for raw in found], cursor=cursor)

    # --- batches ------------------------------------------------------------------------

    def batch_get(self, ns: str, collection: str, keys: Sequence[Key]) -> list[Item]:
        unique = list(dict.fromkeys((k.pk, k.sk) for k in keys))
        consistent = self._settings.consistent_reads
        found: dict[tuple[str, str], dict[str, AttributeValue]] = {}
        # Each request is a step of the call's one retry budget; the core does not
        # retry the call again.
        retry = self._retry.budget()
        for chunk in _chunks(unique, _BATCH_GET_KEYS):
            pending = [key_attributes(ns, collection, Key(pk=pk, sk=sk)) for pk, sk in chunk]

            def attempt(total: int = len(pending)) -> None:
                nonlocal pending
                answer = self._aws.call(
                    "batch_get_item",
                    RequestItems={self._table: {"Keys": pending, "ConsistentRead": consistent}},
                )
                for raw in answer.get("Responses", {}).get(self._table, ()):
                    found[(raw[PK]["S"], raw[SK]["S"])] = raw
                pending = answer.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
                if pending:
                    raise Throttled(
                        f"DynamoDB left {len(pending)} of {total} keys unread (UnprocessedKeys)",
                        provider=PROVIDER,
                        code="UnprocessedKeys",
                    )

            retry.call(attempt)
        now = time.time()
        items = []
        for k in keys:
            raw = found.get((partition_key(ns, collection, k.pk), sort_key(k.sk)))
            if raw is not None and not expired(raw, now):
                items.append(decode_item(raw))
        return items

    def batch_put(self, ns: str, collection: str, items: Sequence[Mapping[str, Any]]) -> None:
        # A batch may not name one key twice: the last write of a key wins, as it would
        # one put at a time.
        latest = {(item["pk"], item.get("sk", "")): item for item in items}
        requests = []
        for (pk, sk), item in latest.items():
            fields = {n: v for n, v in item.items() if n not in ("pk", "sk")}
            stored = self._stored(ns, collection, pk, sk, fields, new_version(), None)
            requests.append({"PutRequest": {"Item": stored}})
        self._batch_write(requests)

    def _batch_write(self, requests: Sequence[dict[str, Any]]) -> None:
        """Write ``PutRequest``s 25 at a time, each chunk retried while items remain."""
        retry = self._retry.budget()
        for chunk in _chunks(requests, _BATCH_WRITE_ITEMS):
            pending = chunk

            def attempt(total: int = len(chunk)) -> None:
                nonlocal pending
                answer = self._aws.call("batch_write_item", RequestItems={self._table: pending})
                pending = answer.get("UnprocessedItems", {}).get(self._table, [])
                if pending:
                    raise Throttled(
                        f"DynamoDB left {len(pending)} of {total} items unwritten "
                        "(UnprocessedItems)",
                        provider=PROVIDER,
                        code="UnprocessedItems",
                    )

            retry.call(attempt)

    # --- export -------------------------------------------------------------------------

    def scan_namespace(self, ns: str, *, cursor: str | None = None, limit: int = 100) -> ScanPage:
        """A table scan filtered to ``ns``: the table is the tenant's, the filter keeps a
        shared table safe. A page ends where DynamoDB's last request ended."""
        expr = _Expr(time.time())
        prefix = expr.value({"S": f"{ns}{SEP}"})
        params: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": f"begins_with({expr.name(PK)}, {prefix}) AND {expr.live()}",
            "ConsistentRead": self._settings.consistent_reads,
        }
        expr.apply(params)
        start = decode_cursor(cursor, frozenset({PK, SK})) if cursor is not None else None
        entries: list[tuple[str, Item]] = []
        while True:
            params["Limit"] = limit - len(entries)
            if start is not None:
                params["ExclusiveStartKey"] = start
            answer = self._aws.call("scan", **params)
            for raw in answer.get("Items", ()):
                owner, collection, _ = raw[PK]["S"].split(SEP, 2)
                if owner == ns:
                    entries.append((collection, decode_item(raw)))
            start = answer.get("LastEvaluatedKey")
            if start is None or len(entries) >= limit:
                break
        next_cursor = encode_cursor({PK: start[PK], SK: start[SK]}) if start else None
        return ScanPage(entries=entries, cursor=next_cursor)

    def restore(self, ns: str, collection: str, items: Sequence[Item]) -> None:
        now = time.time()
        latest = {(i.pk, i.sk): i for i in items if i.expires_at is None or i.expires_at > now}
        requests = [
            {
                "PutRequest": {
                    "Item": self._stored(
                        ns, collection, i.pk, i.sk, i.data, new_version(), i.expires_at
                    )
                }
            }
            for i in latest.values()
        ]
        self._batch_write(requests)

    # --- transactions -------------------------------------------------------------------

    def transact_write(self, ns: str, ops: Sequence[TxOp]) -> None:
        now = time.time()
        request = [self._transact_item(ns, op, now) for op in ops]
        with self._aws.translating():
            try:
                self._client.transact_write_items(TransactItems=request)
            except ClientError as exc:
                if _code(exc) == "TransactionCanceledException":
                    raise _canceled(exc, ops) from None
                raise

    def _transact_item(self, ns: str, op: TxOp, now: float) -> dict[str, Any]:
        expr = _Expr(now)
        body: dict[str, Any] = {"TableName": self._table}
        match op:
            case TxPut():
                pk, sk = op.item["pk"], op.item.get("sk", "")
                fields = {n: v for n, v in op.item.items() if n not in ("pk", "sk")}
                body["Item"] = self._stored(
                    ns, op.collection, pk, sk, fields, new_version(), expiry(now, op.ttl)
                )
                kind = "Put"
            case TxUpdate():
                body = self._update_params(
                    ns,
                    op.collection,
                    op.key,
                    set_=dict(op.set),
                    increment=dict(op.increment),
                    remove=op.remove,
                    condition=op.condition,
                    upsert=op.upsert,
                    expires_at=None,
                    now=now,
                )
                return {"Update": body}
            case TxDelete():
                body["Key"] = key_attributes(ns, op.collection, op.key)
                kind = "Delete"
            case TxCheck():
                body["Key"] = key_attributes(ns, op.collection, op.key)
                kind = "ConditionCheck"
        if op.condition is not None:
            body["ConditionExpression"] = expr.condition(op.condition)
            expr.apply(body)
        return {kind: body}

    # --- schema -------------------------------------------------------------------------

    def ensure_schema(self, schema: Schema) -> None:
        """Create the table, its indexes and its TTL setting where missing. Idempotent.

        The table is created on demand (pay per request); each declared index becomes
        a global secondary index, added one at a time as DynamoDB requires.
        """
        self._add_schema(schema)
        wanted = [index for per in self._indexes.values() for index in per.values()]
        table = self._describe()
        if table is None:
            try:
                self._aws.call(
                    "create_table",
                    TableName=self._table,
                    BillingMode="PAY_PER_REQUEST",
                    KeySchema=_key_schema(PK, SK),
                    AttributeDefinitions=_attributes(
                        [PK, SK] + [a for i in wanted for a in (i.pk_attr, i.sk_attr)]
                    ),
                    **(
                        {"GlobalSecondaryIndexes": [_gsi(i, None) for i in wanted]}
                        if wanted
                        else {}
                    ),
                )
            except TenantkitError as exc:
                if exc.code != "ResourceInUseException":  # created meanwhile: fine
                    raise
            table = self._wait(lambda t: t["TableStatus"] == "ACTIVE", "the table")
        self._check_keys(table)
        existing = {g["IndexName"] for g in table.get("GlobalSecondaryIndexes", ())}
        throughput = _index_throughput(table)
        for index in wanted:
            if index.gsi in existing:
                continue
            self._aws.call(
                "update_table",
                TableName=self._table,
                AttributeDefinitions=_attributes([index.pk_attr, index.sk_attr]),
                GlobalSecondaryIndexUpdates=[{"Create": _gsi(index, throughput)}],
            )
            self._wait(functools.partial(_index_active, name=index.gsi), f"index {index.gsi!r}")
        ttl = self._aws.call("describe_time_to_live", TableName=self._table)
        if ttl.get("TimeToLiveDescription", {}).get("TimeToLiveStatus") == "DISABLED":
            self._aws.call(
                "update_time_to_live",
                TableName=self._table,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": EXPIRES},
            )

    def close(self) -> None:
        self._aws.close()

    # --- helpers ------------------------------------------------------------------------

    def _add_schema(self, schema: Schema) -> None:
        for spec in schema.indexes:
            self._indexes.setdefault(spec.collection, {})[spec.name] = Index.of(spec)

    def _stored(
        self,
        ns: str,
        collection: str,
        pk: str,
        sk: str,
        fields: Mapping[str, Any],
        version: str,
        expires_at: int | None,
    ) -> dict[str, AttributeValue]:
        stored = encode_fields(fields)
        stored[PK] = {"S": partition_key(ns, collection, pk)}
        stored[SK] = {"S": sort_key(sk)}
        stored[VERSION] = {"S": version}
        if expires_at is not None:
            stored[EXPIRES] = {"N": str(expires_at)}
        for index in self._indexes.get(collection, {}).values():
            stored.update(index.attributes(ns, pk, sk, fields))
        return stored

    def _update_params(
        self,
        ns: str,
        collection: str,
        key: Key,
        *,
        set_: dict[str, Any],
        increment: dict[str, int | float],
        remove: Sequence[str],
        condition: Condition | None,
        upsert: bool,
        expires_at: int | None,
        now: float,
    ) -> dict[str, Any]:
        expr = _Expr(now)
        sets = [f"{expr.name(n)} = {expr.value(encode(v, n))}" for n, v in set_.items()]
        adds = [f"{expr.name(n)} {expr.value(encode(v, n))}" for n, v in increment.items()]
        removes = [expr.name(n) for n in remove]
        sets.append(f"{expr.name(VERSION)} = {expr.value({'S': new_version()})}")
        if expires_at is not None:
            sets.append(f"{expr.name(EXPIRES)} = {expr.value({'N': str(expires_at)})}")
        for index in self._indexes.get(collection, {}).values():
            field, sort_field = index.spec.partition_field, index.spec.sort_field
            if field in set_ and isinstance(set_[field], str):
                value = {"S": index.partition_value(ns, set_[field])}
                sets.append(f"{expr.name(index.pk_attr)} = {expr.value(value)}")
            elif field in set_ or field in increment or field in remove:
                removes.append(expr.name(index.pk_attr))
            if sort_field is None:  # the sort key only breaks ties: set once, never changed
                isk = expr.name(index.sk_attr)
                value = {"S": index.sort_value("", key.pk, key.sk)}
                sets.append(f"{isk} = if_not_exists({isk}, {expr.value(value)})")
            elif sort_field in set_ and isinstance(set_[sort_field], str):
                value = {"S": index.sort_value(set_[sort_field], key.pk, key.sk)}
                sets.append(f"{expr.name(index.sk_attr)} = {expr.value(value)}")
            elif sort_field in set_ or sort_field in increment or sort_field in remove:
                removes.append(expr.name(index.sk_attr))
        clauses = [f"SET {', '.join(sets)}"]
        if adds:
            clauses.append(f"ADD {', '.join(adds)}")
        if removes:
            clauses.append(f"REMOVE {', '.join(removes)}")
        pk = expr.name(PK)
        if upsert:
            required = f"(attribute_not_exists({pk}) OR {expr.live()})"
        else:
            required = f"attribute_exists({pk}) AND {expr.live()}"
        if condition is not None:
            required += f" AND {expr.condition(condition)}"
        if increment:
            # ADD to a non-number fails the whole request with a message naming no field;
            # checked as a condition instead, the item that failed it comes back.
            number = expr.value({"S": "N"})
            for name in increment:
                field = expr.name(name)
                required += (
                    f" AND (attribute_not_exists({field}) OR attribute_type({field}, {number}))"
                )
        params: dict[str, Any] = {
            "TableName": self._table,
            "Key": key_attributes(ns, collection, key),
            "UpdateExpression": " ".join(clauses),
            "ConditionExpression": required,
        }
        expr.apply(params)
        return params

    def _delete_expired(
        self, ns: str, collection: str, key: Key, old: Mapping[str, AttributeValue]
    ) -> None:
        expr = _Expr(time.time())
        params: dict[str, Any] = {
            "TableName": self._table,
            "Key": key_attributes(ns, collection, key),
            "ConditionExpression": f"{expr.name(VERSION)} = {expr.value(old[VERSION])}",
        }
        expr.apply(params)
        with contextlib.suppress(ConditionFailed):  # replaced meanwhile: fine
            self._aws.call("delete_item", **params)

    def _refine(self, error: TenantkitError) -> TenantkitError:
        if error.code == "ResourceNotFoundException":
            where = f"{self._settings.region}"
            if self._settings.endpoint_url:
                where += f" at {self._settings.endpoint_url}"
            return ConfigurationError(
                f"DynamoDB table {self._table!r} does not exist in {where}: create it with "
                "ensure_schema() ('tenantkit check --ensure-schema')",
                provider=PROVIDER,
                status=error.status,
                code=error.code,
                request_id=error.request_id,
            )
        return error

    def _missing_index(self, index: Index, exc: TenantkitError) -> ConfigurationError:
        return ConfigurationError(
            f"DynamoDB table {self._table!r} has no index {index.gsi!r}: declare it in the "
            "schema and run ensure_schema() ('tenantkit check --ensure-schema')",
            provider=PROVIDER,
            code=exc.code,
            request_id=exc.request_id,
        )

    def _describe(self) -> dict[str, Any] | None:
        try:
            table: dict[str, Any] = self._aws.call("describe_table", TableName=self._table)["Table"]
        except ConfigurationError as exc:
            if exc.code == "ResourceNotFoundException":
                return None
            raise
        return table

    def _wait(self, ready: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        deadline = time.monotonic() + self._schema_timeout
        delay = 0.05
        while True:
            table = self._describe()
            if table is not None and ready(table):
                return table
            if time.monotonic() > deadline:
                raise Timeout(
                    f"{what} of DynamoDB table {self._table!r} did not become active within "
                    f"{self._schema_timeout:.0f} s",
                    provider=PROVIDER,
                )
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _check_keys(self, table: Mapping[str, Any]) -> None:
        keys = {k["AttributeName"]: k["KeyType"] for k in table.get("KeySchema", ())}
        if keys != {PK: "HASH", SK: "RANGE"}:
            raise ConfigurationError(
                f"DynamoDB table {self._table!r} has key schema {keys}, not tenantkit's "
                f"({PK} HASH, {SK} RANGE): give the tenant a table of its own",
                provider=PROVIDER,
            )


# --- expressions ----------------------------------------------------------------------


class _Expr:
    """Placeholders for one request's expressions (names ``#n0``, values ``:v0``)."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.names: dict[str, str] = {}
        self.values: dict[str, AttributeValue] = {}
        self._placeholders: dict[str, str] = {}
        self._now: str | None = None

    def name(self, attribute: str) -> str:
        placeholder = self._placeholders.get(attribute)
        if placeholder is None:
            placeholder = self._placeholders[attribute] = f"#n{len(self.names)}"
            self.names[placeholder] = attribute
        return placeholder

    def value(self, value: AttributeValue) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value
        return placeholder

    def live(self) -> str:
        """True for an item that has not expired (or has no expiry)."""
        exp = self.name(EXPIRES)
        return f"(attribute_not_exists({exp}) OR {exp} > {self._now_value()})"

    def condition(self, condition: Condition) -> str:
        match condition:
            case IfAbsent():
                pk, exp = self.name(PK), self.name(EXPIRES)
                return f"(attribute_not_exists({pk}) OR {exp} <= {self._now_value()})"
            case IfExists():
                return f"(attribute_exists({self.name(PK)}) AND {self.live()})"
            case IfVersion():
                version = self.value({"S": condition.version})
                return f"({self.name(VERSION)} = {version} AND {self.live()})"
        raise InvalidRequest(f"unknown condition {condition!r}")  # pragma: no cover

    def apply(self, params: dict[str, Any]) -> None:
        if self.names:
            params["ExpressionAttributeNames"] = self.names
        if self.values:
            params["ExpressionAttributeValues"] = self.values

    def _now_value(self) -> str:
        if self._now is None:
            self._now = self.value({"N": str(int(self.now))})
        return self._now


def _table_sort_condition(expr: _Expr, sort: SortKey) -> str | None:
    """The key condition on ``_sk``: ``None`` when nothing can match, ``""`` when all do.

    Sort keys are stored as they are, except ``""`` as ``"\\0"``, which sorts first as
    ``""`` does (no key holds NUL), so every comparison keeps its meaning.
    """
    v = sort.value
    if sort.op == "lt" and not v:
        return None
    if sort.op in ("begins_with", "gte") and not v:
        return ""
    sk = expr.name(SK)
    value = expr.value({"S": sort_key(v)})
    match sort.op:
        case "eq":
            return f"{sk} = {value}"
        case "lt":
            return f"{sk} < {value}"
        case "lte":
            return f"{sk} <= {value}"
        case "gt":
            return f"{sk} > {value}"
        case "gte":
            return f"{sk} >= {value}"
        case "begins_with":
            return f"begins_with({sk}, {value})"
        case "between":
            upper = sort.upper if sort.upper is not None else v
            if v > upper:
                return None
            return f"{sk} BETWEEN {value} AND {expr.value({'S': sort_key(upper)})}"
    raise InvalidRequest(f"unknown sort condition {sort.op!r}")  # pragma: no cover


def _index_sort_condition(expr: _Expr, attribute: str, sort: SortKey) -> str | None:
    """The key condition on an index sort key ``"{sort}\\0{pk}\\0{sk}"``.

    Returns ``None`` when nothing can match and ``""`` when everything does. A value
    ``v`` compares as: ``s < v`` exactly when ``s\\0...`` < ``v``, and ``s <= v``
    exactly when ``s\\0...`` < ``v\\x01`` (no key holds NUL).
    """
    v = sort.value
    if v == "" and sort.op in ("begins_with", "gte"):
        return ""
    if v == "" and sort.op == "lt":
        return None
    isk = expr.name(attribute)

    def val(text: str) -> str:
        return expr.value({"S": text})

    match sort.op:
        case "eq":
            return f"begins_with({isk}, {val(v + chr(0))})"
        case "begins_with":
            return f"begins_with({isk}, {val(v)})"
        case "lt":
            return f"{isk} < {val(v)}"
        case "lte":
            return f"{isk} < {val(v + chr(1))}"
        case "gt":
            return f"{isk} >= {val(v + chr(1))}"
        case "gte":
            return f"{isk} >= {val(v)}"
        case "between":
            upper = sort.upper if sort.upper is not None else v
            if v > upper:
                return None
            if not v:
                return f"{isk} < {val(upper + chr(1))}"
            return f"{isk} BETWEEN {val(v)} AND {val(upper + chr(1))}"
    raise InvalidRequest(f"unknown sort condition {sort.op!r}")  # pragma: no cover


# --- small helpers --------------------------------------------------------------------


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _not_found(collection: str, key: Key) -> NotFound:
    return NotFound(f"no item at {key.pk!r}/{key.sk!r} in {collection!r}", provider=PROVIDER)


def _canceled(exc: ClientError, ops: Sequence[TxOp]) -> TenantkitError:
    """The cancellation reasons, one per operation, as a :class:`TransactionCanceled`."""
    raw: Sequence[Mapping[str, Any]] = exc.response.get("CancellationReasons") or ()
    reasons: list[str | None] = []
    described = []
    for i, op in enumerate(ops):
        reason = raw[i] if i < len(raw) else {}
        code = reason.get("Code")
        if code in (None, "None"):
            reasons.append(None)
            continue
        reasons.append(str(code))
        text = f"operation {i} ({op.op} in {op.collection!r}): {code}"
        if reason.get("Message"):
            text += f" ({reason['Message']})"
        described.append(text)
    meta = exc.response.get("ResponseMetadata", {})
    failed = {r for r in reasons if r is not None}
    if failed and failed <= _RETRYABLE_REASONS:
        return Throttled(
            f"DynamoDB canceled the transaction under load: {'; '.join(described)}",
            provider=PROVIDER,
            code="TransactionCanceledException",
            request_id=meta.get("RequestId"),
        )
    return TransactionCanceled(
        f"transaction canceled: {'; '.join(described) or 'no reason given'}",
        reasons=reasons,
        provider=PROVIDER,
        status=meta.get("HTTPStatusCode"),
        code="TransactionCanceledException",
        request_id=meta.get("RequestId"),
    )


def _chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _key_schema(hash_key: str, range_key: str) -> list[dict[str, str]]:
    return [
        {"AttributeName": hash_key, "KeyType": "HASH"},
        {"AttributeName": range_key, "KeyType": "RANGE"},
    ]


def _attributes(names: Sequence[str]) -> list[dict[str, str]]:
    return [{"AttributeName": name, "AttributeType": "S"} for name in dict.fromkeys(names)]


def _gsi(index: Index, throughput: dict[str, int] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "IndexName": index.gsi,
        "KeySchema": _key_schema(index.pk_attr, index.sk_attr),
        "Projection": {"ProjectionType": "ALL"},
    }
    if throughput is not None:
        spec["ProvisionedThroughput"] = throughput
    return spec


def _index_throughput(table: Mapping[str, Any]) -> dict[str, int] | None:
    """A new index on a provisioned table gets the table's own capacity."""
    if table.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST":
        return None
    provisioned = table.get("ProvisionedThroughput", {})
    read, write = provisioned.get("ReadCapacityUnits"), provisioned.get("WriteCapacityUnits")
    if not read or not write:
        return None
    return {"ReadCapacityUnits": read, "WriteCapacityUnits": write}


def _index_active(table: Mapping[str, Any], name: str) -> bool:
    for gsi in table.get("GlobalSecondaryIndexes", ()):
        if gsi["IndexName"] == name:
            return bool(table["TableStatus"] == "ACTIVE" and gsi.get("IndexStatus") == "ACTIVE")
    return False
