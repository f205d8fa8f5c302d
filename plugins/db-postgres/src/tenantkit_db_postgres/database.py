"""The ``postgres`` database provider: tenantkit items as JSONB rows in PostgreSQL."""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import psycopg
from psycopg.types.json import Jsonb

from tenantkit import errors
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
    new_version,
)
from tenantkit.registry import ProviderContext
from tenantkit_db_postgres._connections import Conn, Connections, Params
from tenantkit_db_postgres._errors import PROVIDER, translate
from tenantkit_db_postgres._migrations import Migrator
from tenantkit_db_postgres._statements import Statements
from tenantkit_db_postgres.settings import PostgresSettings

__all__ = ["PostgresDatabase"]

JSON = Any

CONDITION_FAILED = "ConditionalCheckFailed"
"""The per-operation reason of a transaction whose condition did not hold."""

SWEEP_EVERY = 256
"""Every this many writes, remove up to :data:`SWEEP_LIMIT` expired items of the tenant."""
SWEEP_LIMIT = 100

_MAX_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)


class PostgresDatabase(Database):
    """Items in one PostgreSQL table, one row per item (see the package README).

    Connections come from a small pool per instance (``pool_size``, default 2) that
    stays open across warm Lambda invocations and is closed by :meth:`close`. The
    tables and declared indexes are created by :meth:`ensure_schema`, which the
    first call also runs (a single cheap query once they exist).
    """

    capabilities: ClassVar[frozenset[DbCapability]] = frozenset(DbCapability)

    def __init__(self, settings: PostgresSettings, context: ProviderContext) -> None:
        self._settings = settings
        self._context = context
        self._sql = Statements(settings.schema_name)
        self._conns = Connections(settings, name=f"tenantkit-{context.tenant_id}")
        self._migrator = Migrator(self._sql)
        self._ready = False
        self._ready_lock = threading.Lock()
        self._writes = itertools.count(1)
        self._sweep_every = SWEEP_EVERY

    def __repr__(self) -> str:
        return f"PostgresDatabase(tenant_id={self._context.tenant_id!r})"

    # --- schema and lifecycle ---------------------------------------------------------

    def ensure_schema(self, schema: Schema) -> None:
        """Create the tables and the declared indexes that are missing.

        Idempotent and safe when many processes call it at once: changes are made in
        one transaction under an advisory lock, and recorded in
        ``tenantkit_migrations``. When everything exists it costs one query.
        """
        self._conns.run(
            lambda conn: self._migrator.ensure(conn, schema.indexes),
            safe=True,
            context="ensure_schema",
        )

    def close(self) -> None:
        self._conns.close()

    def _prepare(self) -> None:
        if self._ready:
            return
        with self._ready_lock:
            if not self._ready:
                self.ensure_schema(self._context.schema)
                self._ready = True

    # --- single items -----------------------------------------------------------------

    def get(self, ns: str, collection: str, key: Key, *, consistent: bool = False) -> Item | None:
        if not self._ready:
            self._prepare()
        params = {"ns": ns, "collection": collection, "pk": key.pk, "sk": key.sk}
        context = f"get {collection}"
        row = self._conns.fetchone(self._sql.get, params, safe=True, context=context)
        if row is None:
            return None
        document, live, version = row
        if not live:
            purge = {**params, "version": version}
            self._conns.run(
                lambda conn: conn.execute(self._sql.purge_expired_item, purge),
                safe=True,
                context=context,
            )
            return None
        return _load(document)

    def put(
        self,
        ns: str,
        collection: str,
        item: Mapping[str, JSON],
        *,
        condition: Condition | None = None,
        ttl: float | None = None,
    ) -> Item:
        if not self._ready:
            self._prepare()
        statement, params, pk, sk, data, version = self._write_item(
            ns, collection, item, condition, ttl
        )
        row = self._conns.fetchone(statement, params, safe=False, context=f"put {collection}")
        if row is None:
            raise _condition_failed("put", collection, condition)
        self._after_write(ns)
        return _build({"pk": pk, "sk": sk, "data": data, "version": version, "expires_at": row[0]})

    def _write_item(
        self,
        ns: str,
        collection: str,
        item: Mapping[str, JSON],
        condition: Condition | None,
        ttl: float | None,
    ) -> tuple[bytes, Params, str, str, dict[str, JSON], str]:
        """The statement writing ``item`` and its parameters, with the pk, sk, data and
        version it writes."""
        data = dict(item)
        pk, sk = str(data.pop("pk")), str(data.pop("sk", ""))
        version = new_version()
        params: Params
        if condition is None or isinstance(condition, IfAbsent):
            statement = self._sql.insert[condition is not None, ttl is not None]
            params = (ns, collection, pk, sk, Jsonb(data), version)
            if ttl is not None:
                params += (ttl,)
        else:
            statement = self._sql.replace[isinstance(condition, IfVersion), ttl is not None]
            params = {
                "ns": ns,
                "collection": collection,
                "pk": pk,
                "sk": sk,
                "data": Jsonb(data),
                "version": version,
                "ttl": ttl,
            }
            if isinstance(condition, IfVersion):
                params["expected"] = condition.version
        return statement, params, pk, sk, data, version

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
        self._prepare()
        version = new_version()
        params = {
            **_key_params(ns, collection, key),
            **_change_params(set, increment, remove),
            "version": version,
            "ttl": ttl,
        }
        statement: bytes | None
        match condition:
            case None:
                statement = self._sql.upsert if upsert else self._sql.update
            case IfAbsent():
                statement = self._sql.upsert_if_absent if upsert else None
            case IfExists():
                statement = self._sql.update
            case IfVersion(version=expected):
                statement = self._sql.update_if_version
                params["expected"] = expected

        def run(conn: Conn) -> Item:
            if statement is None:
                # Absent is required but there is no upsert: nothing can be written.
                exists = conn.execute(self._sql.exists, params).fetchone()
                if exists is not None and exists[0]:
                    raise _condition_failed("update", collection, condition)
                raise _not_found(collection, key)
            try:
                row = conn.execute(statement, params).fetchone()
            except psycopg.errors.InvalidParameterValue as exc:
                if increment and "numeric" in str(exc):
                    raise errors.InvalidRequest(
                        f"increment {', '.join(sorted(increment))}: "
                        "the field holds something other than a number",
                        provider=PROVIDER,
                        code=exc.sqlstate,
                    ) from None
                raise
            if row is None:
                if condition is None:
                    raise _not_found(collection, key)
                raise _condition_failed("update", collection, condition)
            return _load(row[0])

        item = self._conns.run(run, safe=False, context=f"update {collection}")
        self._after_write(ns)
        return item

    def delete(
        self, ns: str, collection: str, key: Key, *, condition: Condition | None = None
    ) -> bool:
        self._prepare()
        params = _key_params(ns, collection, key)

        def run(conn: Conn) -> bool:
            match condition:
                case None:
                    row = conn.execute(self._sql.delete, params).fetchone()
                    return bool(row is not None and row[0])
                case IfAbsent():
                    row = conn.execute(self._sql.exists, params).fetchone()
                    if row is not None and row[0]:
                        raise _condition_failed("delete", collection, condition)
                    return False
                case IfExists():
                    statement = self._sql.delete_if_exists
                case IfVersion(version=expected):
                    statement = self._sql.delete_if_version
                    params["expected"] = expected
            if conn.execute(statement, params).fetchone() is None:
                raise _condition_failed("delete", collection, condition)
            return True

        return self._conns.run(run, safe=False, context=f"delete {collection}")

    # --- queries ----------------------------------------------------------------------

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
        self._prepare()
        params: dict[str, Any] = {"ns": ns, "collection": collection, "pk": pk}
        upper = _sort_params(sort, params)
        if cursor is not None:
            (params["after_sk"],) = _open_cursor(cursor, 1)
        params["limit"] = limit + 1
        statement = self._sql.query(
            sort.op if sort else None, descending=descending, after=cursor is not None, upper=upper
        )

        def run(conn: Conn) -> Page:
            rows = conn.execute(statement, params).fetchall()
            items = [_load(row[0]) for row in rows[:limit]]
            more = len(rows) > limit
            return Page(items=items, cursor=_cursor([items[-1].sk]) if more else None)

        return self._conns.run(run, safe=True, context=f"query {collection}")

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
        self._prepare()
        params: dict[str, Any] = {"ns": ns, "value": value}
        upper = _sort_params(sort, params)
        width = 3 if index.sort_field is not None else 2
        if cursor is not None:
            bounds = _open_cursor(cursor, width)
            if width == 3:
                params["after_sort"] = bounds.pop(0)
            params["after_pk"], params["after_sk"] = bounds
        params["limit"] = limit + 1
        statement = self._sql.query_index(
            index,
            sort.op if sort else None,
            descending=descending,
            after=cursor is not None,
            upper=upper,
        )

        def run(conn: Conn) -> Page:
            rows = conn.execute(statement, params).fetchall()
            items = [_load(row[0]) for row in rows[:limit]]
            if len(rows) <= limit:
                return Page(items=items)
            last = items[-1]
            bound = [last.pk, last.sk]
            if index.sort_field is not None:
                bound.insert(0, last.data[index.sort_field])
            return Page(items=items, cursor=_cursor(bound))

        return self._conns.run(run, safe=True, context=f"query_index {index.name}")

    # --- batches ----------------------------------------------------------------------

    def batch_get(self, ns: str, collection: str, keys: Sequence[Key]) -> list[Item]:
        self._prepare()
        if not keys:
            return []
        params = {
            "ns": ns,
            "collection": collection,
            "pks": [k.pk for k in keys],
            "sks": [k.sk for k in keys],
        }

        def run(conn: Conn) -> list[Item]:
            loaded = (_load(row[0]) for row in conn.execute(self._sql.batch_get, params))
            found = {(item.pk, item.sk): item for item in loaded}
            ordered: list[Item] = []
            seen: set[tuple[str, str]] = set()
            for k in keys:
                pair = (k.pk, k.sk)
                if pair in found and pair not in seen:
                    seen.add(pair)
                    ordered.append(found[pair])
            return ordered

        return self._conns.run(run, safe=True, context=f"batch_get {collection}")

    def batch_put(self, ns: str, collection: str, items: Sequence[Mapping[str, JSON]]) -> None:
        self._prepare()
        if not items:
            return
        latest: dict[tuple[str, str], dict[str, JSON]] = {}
        for item in items:
            data = dict(item)
            pk, sk = str(data.pop("pk")), str(data.pop("sk", ""))
            latest.pop((pk, sk), None)  # the last write of a key wins, in its own position
            latest[(pk, sk)] = data
        params = {
            "ns": ns,
            "collection": collection,
            "pks": [pk for pk, _ in latest],
            "sks": [sk for _, sk in latest],
            "datas": [Jsonb(d) for d in latest.values()],
            "versions": [new_version() for _ in latest],
        }

        self._conns.run(
            lambda conn: conn.execute(self._sql.batch_put, params),
            safe=False,
            context=f"batch_put {collection}",
        )
        self._after_write(ns)

    # --- export -----------------------------------------------------------------------

    def scan_namespace(self, ns: str, *, cursor: str | None = None, limit: int = 100) -> ScanPage:
        self._prepare()
        params: dict[str, Any] = {"ns": ns, "limit": limit + 1}
        if cursor is not None:
            bound = _open_cursor(cursor, 3)
            params["after_collection"], params["after_pk"], params["after_sk"] = bound
        statement = self._sql.scan(after=cursor is not None)

        def run(conn: Conn) -> ScanPage:
            rows = conn.execute(statement, params).fetchall()
            entries = [(row[0], _load(row[1])) for row in rows[:limit]]
            if len(rows) <= limit:
                return ScanPage(entries=entries)
            collection, last = entries[-1]
            return ScanPage(entries=entries, cursor=_cursor([collection, last.pk, last.sk]))

        return self._conns.run(run, safe=True, context="scan_namespace")

    def restore(self, ns: str, collection: str, items: Sequence[Item]) -> None:
        self._prepare()
        now = time.time()
        latest: dict[tuple[str, str], Item] = {}
        for item in items:
            if item.expires_at is None or item.expires_at > now:
                latest.pop((item.pk, item.sk), None)
                latest[(item.pk, item.sk)] = item
        if not latest:
            return
        params = {
            "ns": ns,
            "collection": collection,
            "pks": [i.pk for i in latest.values()],
            "sks": [i.sk for i in latest.values()],
            "datas": [Jsonb(i.data) for i in latest.values()],
            "versions": [new_version() for _ in latest],
            "exps": [i.expires_at for i in latest.values()],
        }
        self._conns.run(
            lambda conn: conn.execute(self._sql.restore, params),
            safe=True,
            context=f"restore {collection}",
        )
        self._after_write(ns)

    # --- transactions -----------------------------------------------------------------

    def transact_write(self, ns: str, ops: Sequence[TxOp]) -> None:
        self._prepare()
        if not ops:
            return
        _check_distinct(ops)
        plans = [self._plan(ns, op) for op in ops]

        def run(conn: Conn) -> None:
            committing = False
            try:
                with conn.transaction():
                    self._apply(conn, plans)
                    committing = True
            except psycopg.Error as exc:
                if not committing:
                    raise  # rolled back: the connection layer may retry the whole attempt
                error = translate(exc, context="transact_write")
                if isinstance(error, errors.ConnectionFailed):
                    error = errors.OutcomeUnknown(
                        f"{error.message}; the transaction may or may not have been applied",
                        provider=PROVIDER,
                        code=error.code,
                    )
                raise error from None

        self._conns.run(run, safe=True, context="transact_write")
        self._after_write(ns)

    def _apply(self, conn: Conn, plans: list[tuple[bytes, Params, str]]) -> None:
        """Run the planned statements inside a transaction; raise to roll back."""
        reasons: list[str | None] = [None] * len(plans)
        placeholders: list[Params] = []
        for i, (statement, params, mode) in enumerate(plans):
            try:
                row = conn.execute(statement, params).fetchone()
            except psycopg.errors.InvalidParameterValue as exc:
                reasons[i] = "ValidationError"
                raise errors.TransactionCanceled(
                    f"transaction canceled: operation {i} is invalid: {exc.diag.message_primary}",
                    reasons=reasons,
                    provider=PROVIDER,
                    code=exc.sqlstate,
                ) from None
            match mode:
                case "condition" if row is None:
                    reasons[i] = CONDITION_FAILED
                case "must-exist" if row is None:
                    reasons[i] = "NotFound"
                case "placeholder":
                    if row is None:
                        reasons[i] = CONDITION_FAILED
                    elif row[0]:
                        placeholders.append(params)
                case "absent-no-upsert":
                    reasons[i] = CONDITION_FAILED if row is not None and row[0] else "NotFound"
        if any(reasons):
            failed = ", ".join(str(i) for i, r in enumerate(reasons) if r)
            raise errors.TransactionCanceled(
                f"transaction canceled: operation(s) {failed} did not hold",
                reasons=reasons,
                provider=PROVIDER,
            )
        for params in placeholders:
            conn.execute(self._sql.release_placeholder, params)

    def _plan(self, ns: str, op: TxOp) -> tuple[bytes, Params, str]:
        """The statement for one transaction operation, its parameters, and how to read
        its answer: ``condition`` (no row: the condition failed), ``must-exist`` (no row: no
        item), ``placeholder`` (see ``lock_if_absent``), ``absent-no-upsert`` or ``any``."""
        s = self._sql
        match op:
            case TxPut():
                statement, params, *_ = self._write_item(
                    ns, op.collection, op.item, op.condition, op.ttl
                )
                return statement, params, "condition"
            case TxUpdate():
                params = {
                    **_key_params(ns, op.collection, op.key),
                    **_change_params(op.set, op.increment, op.remove),
                    "version": new_version(),
                    "ttl": None,
                }
                match op.condition:
                    case None:
                        if op.upsert:
                            return s.upsert, params, "condition"
                        return s.update, params, "must-exist"
                    case IfAbsent():
                        if op.upsert:
                            return s.upsert_if_absent, params, "condition"
                        return s.exists, params, "absent-no-upsert"
                    case IfExists():
                        return s.update, params, "condition"
                    case IfVersion(version=expected):
                        return s.update_if_version, {**params, "expected": expected}, "condition"
            case TxDelete():
                params = _key_params(ns, op.collection, op.key)
                match op.condition:
                    case None:
                        return s.delete, params, "any"
                    case IfAbsent():
                        return s.lock_if_absent, params, "placeholder"
                    case IfExists():
                        return s.delete_if_exists, params, "condition"
                    case IfVersion(version=expected):
                        return s.delete_if_version, {**params, "expected": expected}, "condition"
            case TxCheck():
                params = _key_params(ns, op.collection, op.key)
                match op.condition:
                    case IfAbsent():
                        return s.lock_if_absent, params, "placeholder"
                    case IfExists():
                        return s.lock_if_exists, params, "condition"
                    case IfVersion(version=expected):
                        return s.lock_if_version, {**params, "expected": expected}, "condition"
        raise errors.InvalidRequest(f"not a transaction operation: {op!r}", provider=PROVIDER)

    # --- expiry -----------------------------------------------------------------------

    def _after_write(self, ns: str) -> None:
        """Every :data:`SWEEP_EVERY` writes, sweep ``ns`` once the write is done (on a
        connection of its own: a failure there can never repeat the write)."""
        if next(self._writes) % self._sweep_every == 0:
            self._conns.run(lambda conn: self._sweep(conn, ns), safe=True, context="sweep")

    def _sweep(self, conn: Conn, ns: str) -> int:
        """Remove up to :data:`SWEEP_LIMIT` expired items of ``ns``; return how many."""
        cur = conn.execute(self._sql.sweep_expired, {"ns": ns, "limit": SWEEP_LIMIT})
        return cur.rowcount


# --- helpers ------------------------------------------------------------------------------


def _key_params(ns: str, collection: str, key: Key) -> dict[str, Any]:
    return {"ns": ns, "collection": collection, "pk": key.pk, "sk": key.sk}


def _change_params(
    set_: Mapping[str, JSON] | None,
    increment: Mapping[str, int | float] | None,
    remove: Sequence[str],
) -> dict[str, Any]:
    inc = dict(increment or {})
    return {
        "set": Jsonb(dict(set_ or {})),
        "remove": list(remove),
        "inc_names": list(inc),
        "inc_amounts": [
            repr(float(v)) if isinstance(v, float) else str(int(v)) for v in inc.values()
        ],
    }


# Item's own validator: what Item(...) and Item.model_validate_json run, without the
# wrappers' per-call cost (about a microsecond an item, on the hot path of every read).
_build: Callable[[dict[str, Any]], Item] = Item.__pydantic_validator__.validate_python
"""An item from its fields."""
_load: Callable[[str], Item] = Item.__pydantic_validator__.validate_json
"""An item from the JSON document the statements return (parsed and validated by
pydantic in one pass, without an intermediate dict)."""


def _sort_params(sort: SortKey | None, params: dict[str, Any]) -> bool:
    """Put the sort condition's bounds in ``params``; return whether an exclusive upper
    bound applies (a ``begins_with`` prefix that has a successor)."""
    if sort is None:
        return False
    params["sort_value"] = sort.value
    if sort.op == "between":
        params["sort_upper"] = sort.upper
    if sort.op == "begins_with":
        successor = _prefix_successor(sort.value)
        if successor is not None:
            params["sort_upper"] = successor
            return True
    return False


def _prefix_successor(prefix: str) -> str | None:
    """The least string above every string starting with ``prefix`` (by code point)."""
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if code in _SURROGATES:
            code = _SURROGATES.stop
        if code <= _MAX_CODE_POINT:
            return "".join(chars) + chr(code)
    return None


def _cursor(bound: list[str]) -> str:
    raw = json.dumps(bound, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _open_cursor(cursor: str, width: int) -> list[str]:
    try:
        bound = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        bound = None
    if not (
        isinstance(bound, list) and len(bound) == width and all(isinstance(b, str) for b in bound)
    ):
        raise errors.InvalidCursor("malformed cursor", provider=PROVIDER)
    return bound


def _check_distinct(ops: Sequence[TxOp]) -> None:
    seen: dict[tuple[str, str, str], int] = {}
    for i, op in enumerate(ops):
        if isinstance(op, TxPut):
            key = (op.collection, str(op.item["pk"]), str(op.item.get("sk", "")))
        else:
            key = (op.collection, op.key.pk, op.key.sk)
        if key in seen:
            raise errors.InvalidRequest(
                f"operations {seen[key]} and {i} of the transaction target the same item",
                provider=PROVIDER,
            )
        seen[key] = i


def _condition_failed(
    what: str, collection: str, condition: Condition | None
) -> errors.ConditionFailed:
    kind = condition.type if condition is not None else "condition"
    return errors.ConditionFailed(
        f"{what} {collection}: {kind} condition failed", provider=PROVIDER
    )


def _not_found(collection: str, key: Key) -> errors.NotFound:
    return errors.NotFound(
        f"update {collection}: no item at {key.pk!r}/{key.sk!r}", provider=PROVIDER
    )
