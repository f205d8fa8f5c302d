"""The embedded ``sqlite`` database provider, on the standard library's :mod:`sqlite3`.

It serves local development, the demo, the local control plane and the conformance
kit's self-test, and supports every optional capability (transactions, batches,
secondary indexes and TTL).

Settings (the ``db`` section of a tenant secret)::

    {"provider": "sqlite", "path": "var/app.db", "busy_timeout_ms": 5000}

``path``
    The database file, created when missing (its directory must exist), or
    ``":memory:"`` (the default) for a database that lives as long as the instance.
``busy_timeout_ms``
    How long a write waits for another process holding the file's write lock
    before failing with :class:`~tenantkit.errors.Timeout` (default 5,000 ms).

Table layout: one table holds the items of every namespace and collection::

    CREATE TABLE tenantkit_items (
        ns         TEXT NOT NULL,  -- the tenant id: a column of its own, never a key prefix
        collection TEXT NOT NULL,
        pk         TEXT NOT NULL,
        sk         TEXT NOT NULL,
        data       TEXT NOT NULL,  -- the item's fields as a JSON object, without pk and sk
        version    TEXT NOT NULL,
        expires_at INTEGER,        -- Unix epoch seconds; NULL lives forever
        PRIMARY KEY (ns, collection, pk, sk)
    ) WITHOUT ROWID

Text compares with sqlite's ``BINARY`` collation, byte order of UTF-8, which is
Unicode code point order. A partial index on ``expires_at`` serves the sweep of
expired rows. :meth:`SqliteDatabase.ensure_schema` adds one partial expression
index per declared :class:`~tenantkit.db.IndexSpec`, on
``(ns, json_extract(data, '$.<partition field>'), json_extract(data, '$.<sort field>'), pk, sk)``
for the items of its collection whose indexed fields are strings. The indexes of
the context's schema are created with the table, and an index query creates its
index on first use if it is missing; queries name their index (``INDEXED BY``).

Expiry: an item written with ``ttl`` gets ``expires_at = ceil(now + ttl)`` and is
filtered out of every read once that second has come. Expired rows are removed
lazily: a write to the key replaces or deletes them, and writes sweep the table
for expired rows at most once a minute.

Threads: an instance holds one connection (``check_same_thread=False``) guarded by
a lock, and runs each call as one statement or one ``BEGIN IMMEDIATE``
transaction, so calls from several threads are serialized and every write is
atomic, also against other processes sharing the file (which is in WAL mode).
sqlite admits one writer at a time in any case, and an in-memory database exists
only inside its one connection.

Transactions: :meth:`SqliteDatabase.transact_write` touches each item at most
once (as DynamoDB requires). Cancellation reasons are ``"ConditionalCheckFailed"``
(a condition did not hold, or an update without ``upsert`` found no item) and
``"ValidationError"`` (an increment of a field that is not a number).
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from pydantic import Field

from tenantkit.db import (
    JSON,
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
from tenantkit.errors import (
    ConditionFailed,
    InvalidCursor,
    InvalidRequest,
    NotFound,
    ProviderError,
    Timeout,
    TransactionCanceled,
)
from tenantkit.hookspecs import hookimpl
from tenantkit.identifiers import check_collection, check_field_name
from tenantkit.registry import ProviderContext, Register
from tenantkit.settings import ProviderSettings

__all__ = ["SqliteDatabase", "SqliteSettings", "register_db_providers"]

_PROVIDER = "sqlite"
_TABLE = "tenantkit_items"
_COLUMNS = "pk, sk, data, version, expires_at"
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
_GET_SQL = (
    "SELECT pk, sk, data, version, expires_at FROM tenantkit_items "
    "WHERE ns = ? AND collection = ? AND pk = ? AND sk = ?"
)
_STORE_SQL = (
    "INSERT OR REPLACE INTO tenantkit_items (ns, collection, pk, sk, data, version, expires_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_DELETE_SQL = "DELETE FROM tenantkit_items WHERE ns = ? AND collection = ? AND pk = ? AND sk = ?"
_SWEEP_SQL = (
    "DELETE FROM tenantkit_items WHERE (ns, collection, pk, sk) IN ("
    "SELECT ns, collection, pk, sk FROM tenantkit_items "
    "WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)"
)
_SWEEP_INTERVAL = 60.0
_SWEEP_BATCH = 500
_DEFAULT_BUSY_TIMEOUT_MS = 5000
_LAST_EXPIRY = 253_402_300_799  # 9999-12-31T23:59:59Z
_CONDITION_FAILED = "ConditionalCheckFailed"
_VALIDATION_ERROR = "ValidationError"

_clock = time.time


class SqliteSettings(ProviderSettings):
    """Settings of the ``sqlite`` provider. Every field is operator-owned."""

    path: str = Field(
        default=":memory:", min_length=1, description='The database file, or ``":memory:"``.'
    )
    busy_timeout_ms: int | None = Field(
        default=None,
        ge=0,
        le=600_000,
        description="How long a write waits for another process's lock (default 5,000 ms).",
    )


class SqliteDatabase(Database):
    """A :class:`tenantkit.Database` in one sqlite file (or in memory).

    Args:
        settings: where the database lives.
        context: what the core says about the tenant; the indexes of its schema
            are created at once (as :meth:`ensure_schema` does).
    """

    capabilities = frozenset(DbCapability)

    def __init__(self, settings: SqliteSettings, context: ProviderContext | None = None) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._last_sweep = 0.0
        self._indexes: set[str] = set()
        busy_ms = settings.busy_timeout_ms
        timeout = (_DEFAULT_BUSY_TIMEOUT_MS if busy_ms is None else busy_ms) / 1000
        try:
            conn = sqlite3.connect(
                settings.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise _translate(exc, f"cannot open sqlite database {settings.path!r}") from None
        self._conn: sqlite3.Connection | None = conn
        try:
            with self._locked() as c:
                if settings.path != ":memory:":
                    c.execute("PRAGMA journal_mode=WAL")
                    c.execute("PRAGMA synchronous=NORMAL")
                c.execute(
                    f"CREATE TABLE IF NOT EXISTS {_TABLE} ("
                    "ns TEXT NOT NULL, collection TEXT NOT NULL, pk TEXT NOT NULL, "
                    "sk TEXT NOT NULL, data TEXT NOT NULL, version TEXT NOT NULL, "
                    "expires_at INTEGER, PRIMARY KEY (ns, collection, pk, sk)) WITHOUT ROWID"
                )
                c.execute(
                    f"CREATE INDEX IF NOT EXISTS {_TABLE}_expiry ON {_TABLE} (expires_at) "
                    "WHERE expires_at IS NOT NULL"
                )
            if context is not None:
                self.ensure_schema(context.schema)
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"SqliteDatabase(path={self._settings.path!r})"

    # --- connection handling ----------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        """The connection, held exclusively; sqlite errors become tenantkit errors."""
        with self._lock:
            if self._conn is None:
                raise ProviderError("the sqlite database is closed", provider=_PROVIDER)
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise _translate(exc, "sqlite call failed") from None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any error."""
        with self._locked() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                self._sweep(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _sweep(self, conn: sqlite3.Connection) -> None:
        now = _clock()
        if now - self._last_sweep < _SWEEP_INTERVAL:
            return
        self._last_sweep = now
        conn.execute(_SWEEP_SQL, (now, _SWEEP_BATCH))

    def close(self) -> None:
        """Close the connection; later calls raise :class:`ProviderError`. Idempotent."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def ensure_schema(self, schema: Schema) -> None:
        """Create a partial expression index for each declared secondary index."""
        specs = [_IndexSql(spec) for spec in schema.indexes]
        with self._locked() as conn:
            for ix in specs:
                self._create_index(conn, ix)

    def _create_index(self, conn: sqlite3.Connection, ix: _IndexSql) -> None:
        if ix.index_name not in self._indexes:
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS {ix.index_name} ON {_TABLE} "
                f"(ns, {ix.columns}, pk, sk) WHERE {ix.membership}"
            )
            self._indexes.add(ix.index_name)

    # --- single items -----------------------------------------------------------------

    def get(self, ns: str, collection: str, key: Key, *, consistent: bool = False) -> Item | None:
        with self._locked() as conn:
            return _load(conn, ns, collection, key, _clock())

    def put(
        self,
        ns: str,
        collection: str,
        item: Mapping[str, JSON],
        *,
        condition: Condition | None = None,
        ttl: float | None = None,
    ) -> Item:
        key = Key(pk=item["pk"], sk=item.get("sk", ""))
        now = _clock()
        with self._write() as conn:
            current = _load(conn, ns, collection, key, now)
            _check(condition, current, collection, key)
            new = _put_item(item, key, ttl, now)
            _store(conn, ns, collection, new)
        return new

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
        now = _clock()
        with self._write() as conn:
            current = _load(conn, ns, collection, key, now)
            _check(condition, current, collection, key)
            if current is None and not upsert:
                raise NotFound(f"no item {_where(collection, key)} to update", provider=_PROVIDER)
            new = _updated_item(current, key, set or {}, increment or {}, remove, ttl, now)
            _store(conn, ns, collection, new)
        return new

    def delete(
        self, ns: str, collection: str, key: Key, *, condition: Condition | None = None
    ) -> bool:
        now = _clock()
        with self._write() as conn:
            current = _load(conn, ns, collection, key, now)
            _check(condition, current, collection, key)
            conn.execute(_DELETE_SQL, (ns, collection, key.pk, key.sk))
        return current is not None

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
        where = ["ns = ?", "collection = ?", "pk = ?", _LIVE]
        params: list[Any] = [ns, collection, pk, _clock()]
        if sort is not None:
            _sort_condition("sk", sort, where, params)
        if cursor is not None:
            (after,) = _open_cursor(cursor, 1)
            where.append(f"sk {'<' if descending else '>'} ?")
            params.append(after)
        order = "DESC" if descending else "ASC"
        # Only fixed fragments are spliced in; every value is a bound parameter.
        sql = (
            f"SELECT {_COLUMNS} FROM {_TABLE} WHERE {' AND '.join(where)} "  # noqa: S608
            f"ORDER BY sk {order} LIMIT ?"
        )
        with self._locked() as conn:
            rows = conn.execute(sql, [*params, limit + 1]).fetchall()
        items = [_item(row) for row in rows[:limit]]
        more = len(rows) > limit
        return Page(items=items, cursor=_cursor([items[-1].sk]) if more else None)

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
        ix = _IndexSql(index)
        where = ["ns = ?", f"{ix.partition} = ?", ix.membership, _LIVE]
        params: list[Any] = [ns, value, _clock()]
        if sort is not None:
            if ix.sort is None:
                raise InvalidRequest(
                    f"index {index.name!r} has no sort field to apply a condition to",
                    provider=_PROVIDER,
                )
            _sort_condition(ix.sort, sort, where, params)
        order_by = [ix.sort, "pk", "sk"] if ix.sort else ["pk", "sk"]
        if cursor is not None:
            after = _open_cursor(cursor, len(order_by))
            columns, marks = ", ".join(order_by), ", ".join("?" * len(order_by))
            where.append(f"({columns}) {'<' if descending else '>'} ({marks})")
            params.extend(after)
        direction = " DESC" if descending else ""
        # Fixed fragments and checked identifiers (see _IndexSql); values are bound.
        sql = (
            f"SELECT {_COLUMNS} FROM {_TABLE} INDEXED BY {ix.index_name} "  # noqa: S608
            f"WHERE {' AND '.join(where)} "
            f"ORDER BY {', '.join(c + direction for c in order_by)} LIMIT ?"
        )
        with self._locked() as conn:
            # Without statistics the planner may prefer the primary key; name the index
            # (created on first use when ensure_schema did not declare it).
            self._create_index(conn, ix)
            rows = conn.execute(sql, [*params, limit + 1]).fetchall()
        items = [_item(row) for row in rows[:limit]]
        if len(rows) <= limit:
            return Page(items=items)
        last = items[-1]
        position = [last.pk, last.sk]
        if index.sort_field is not None:
            position.insert(0, last.data[index.sort_field])
        return Page(items=items, cursor=_cursor(position))

    def scan_namespace(self, ns: str, *, cursor: str | None = None, limit: int = 100) -> ScanPage:
        """Live items of ``ns`` in (collection, pk, sk) order, one primary-key range read."""
        where = ["ns = ?", _LIVE]
        params: list[Any] = [ns, _clock()]
        if cursor is not None:
            where.append("(collection, pk, sk) > (?, ?, ?)")
            params.extend(_open_cursor(cursor, 3))
        # Only fixed fragments are spliced in; every value is a bound parameter.
        sql = (
            f"SELECT collection, {_COLUMNS} FROM {_TABLE} "  # noqa: S608
            f"WHERE {' AND '.join(where)} ORDER BY collection, pk, sk LIMIT ?"
        )
        with self._locked() as conn:
            rows = conn.execute(sql, [*params, limit + 1]).fetchall()
        entries = [(row[0], _item(row[1:])) for row in rows[:limit]]
        if len(rows) <= limit:
            return ScanPage(entries=entries)
        collection, last = entries[-1]
        return ScanPage(entries=entries, cursor=_cursor([collection, last.pk, last.sk]))

    def restore(self, ns: str, collection: str, items: Sequence[Item]) -> None:
        now = _clock()
        with self._write() as conn:
            for item in items:
                if item.expires_at is not None and item.expires_at <= now:
                    continue
                _store(conn, ns, collection, item.model_copy(update={"version": new_version()}))

    # --- batches and transactions -----------------------------------------------------

    def batch_get(self, ns: str, collection: str, keys: Sequence[Key]) -> list[Item]:
        if not keys:
            return []
        wanted = ", ".join("(?, ?)" for _ in keys)
        params: list[Any] = [ns, collection, _clock()]
        for k in keys:
            params.extend((k.pk, k.sk))
        sql = (
            f"SELECT {_COLUMNS} FROM {_TABLE} WHERE ns = ? AND collection = ? "  # noqa: S608
            f"AND {_LIVE} AND (pk, sk) IN (VALUES {wanted})"
        )
        with self._locked() as conn:
            found = {(row[0], row[1]): _item(row) for row in conn.execute(sql, params)}
        return [found[k.pk, k.sk] for k in keys if (k.pk, k.sk) in found]

    def batch_put(self, ns: str, collection: str, items: Sequence[Mapping[str, JSON]]) -> None:
        if not items:
            return
        now = _clock()
        with self._write() as conn:
            for item in items:
                key = Key(pk=item["pk"], sk=item.get("sk", ""))
                _store(conn, ns, collection, _put_item(item, key, None, now))

    def transact_write(self, ns: str, ops: Sequence[TxOp]) -> None:
        targets = [(op.collection, _op_key(op)) for op in ops]
        if len(set(targets)) != len(targets):
            twice = next(t for i, t in enumerate(targets) if t in targets[:i])
            raise InvalidRequest(
                f"a transaction may touch each item once; {_where(*twice)} appears twice",
                provider=_PROVIDER,
            )
        now = _clock()
        with self._write() as conn:
            reasons: list[str | None] = []
            details: list[str] = []
            for index, (op, (collection, key)) in enumerate(zip(ops, targets, strict=True)):
                current = _load(conn, ns, collection, key, now)
                try:
                    _apply(conn, ns, op, key, current, now)
                    reasons.append(None)
                except (ConditionFailed, NotFound) as exc:
                    reasons.append(_CONDITION_FAILED)
                    details.append(f"operation {index}: {exc.message}")
                except InvalidRequest as exc:
                    reasons.append(_VALIDATION_ERROR)
                    details.append(f"operation {index}: {exc.message}")
            if details:
                raise TransactionCanceled(
                    f"transaction canceled: {'; '.join(details)}",
                    reasons=reasons,
                    provider=_PROVIDER,
                )


# --- plugin registration ----------------------------------------------------------------


@hookimpl
def register_db_providers(register: Register) -> None:
    """Register the ``sqlite`` provider."""
    register(
        _PROVIDER,
        SqliteDatabase,
        SqliteSettings,
        description="embedded sqlite database (local development, tests, demo)",
    )


# --- helpers ----------------------------------------------------------------------------


def _translate(exc: sqlite3.Error, what: str) -> ProviderError:
    code = getattr(exc, "sqlite_errorname", None)
    message = f"{what}: {type(exc).__name__}: {exc}"
    if code in ("SQLITE_BUSY", "SQLITE_LOCKED") or "locked" in str(exc):
        return Timeout(message, provider=_PROVIDER, code=code)
    if isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc):
        return ProviderError("the sqlite database is closed", provider=_PROVIDER)
    return ProviderError(message, provider=_PROVIDER, code=code)


def _where(collection: str, key: Key) -> str:
    return f"{collection}[pk={key.pk!r}, sk={key.sk!r}]"


def _item(row: Sequence[Any]) -> Item:
    pk, sk, data, version, expires_at = row
    return Item(pk=pk, sk=sk, data=json.loads(data), version=version, expires_at=expires_at)


def _load(conn: sqlite3.Connection, ns: str, collection: str, key: Key, now: float) -> Item | None:
    row = conn.execute(_GET_SQL, (ns, collection, key.pk, key.sk)).fetchone()
    if row is None:
        return None
    item = _item(row)
    if item.expires_at is not None and item.expires_at <= now:
        return None
    return item


def _store(conn: sqlite3.Connection, ns: str, collection: str, item: Item) -> None:
    try:
        data = json.dumps(item.data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        conn.execute(
            _STORE_SQL, (ns, collection, item.pk, item.sk, data, item.version, item.expires_at)
        )
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        raise InvalidRequest(
            f"item {_where(collection, item.key)} is not storable JSON: {exc}",
            provider=_PROVIDER,
        ) from None


def _check(condition: Condition | None, current: Item | None, collection: str, key: Key) -> None:
    match condition:
        case None:
            return
        case IfAbsent():
            ok = current is None
            what = "already exists"
        case IfExists():
            ok = current is not None
            what = "does not exist"
        case IfVersion(version=version):
            ok = current is not None and current.version == version
            what = "does not exist" if current is None else "has another version"
        case _:
            raise InvalidRequest(f"not a condition: {condition!r}", provider=_PROVIDER)
    if not ok:
        raise ConditionFailed(
            f"condition {condition.type} failed: item {_where(collection, key)} {what}",
            provider=_PROVIDER,
        )


def _expiry(now: float, ttl: float) -> int:
    expires_at = math.ceil(now + ttl)
    if expires_at > _LAST_EXPIRY:
        raise InvalidRequest(f"ttl {ttl} reaches past the year 9999", provider=_PROVIDER)
    return expires_at


def _put_item(item: Mapping[str, JSON], key: Key, ttl: float | None, now: float) -> Item:
    data = {name: value for name, value in item.items() if name not in ("pk", "sk")}
    expires_at = _expiry(now, ttl) if ttl is not None else None
    return Item(pk=key.pk, sk=key.sk, data=data, version=new_version(), expires_at=expires_at)


def _updated_item(
    current: Item | None,
    key: Key,
    set_: Mapping[str, JSON],
    increment: Mapping[str, int | float],
    remove: Sequence[str],
    ttl: float | None,
    now: float,
) -> Item:
    data = dict(current.data) if current is not None else {}
    data.update(set_)
    for name, amount in increment.items():
        data[name] = _add(data.get(name, 0), amount, name)
    for name in remove:
        data.pop(name, None)
    if ttl is not None:
        expires_at: int | None = _expiry(now, ttl)
    else:
        expires_at = current.expires_at if current is not None else None
    return Item(pk=key.pk, sk=key.sk, data=data, version=new_version(), expires_at=expires_at)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _add(value: JSON, amount: int | float, name: str) -> int | float:
    if not _is_number(amount):
        raise InvalidRequest(f"increment {name}: amount must be a number", provider=_PROVIDER)
    if not _is_number(value):
        raise InvalidRequest(
            f"increment {name}: the field holds {type(value).__name__}, not a number",
            provider=_PROVIDER,
        )
    total: int | float = value + amount
    return total


def _op_key(op: TxOp) -> Key:
    if isinstance(op, TxPut):
        return Key(pk=op.item["pk"], sk=op.item.get("sk", ""))
    return op.key


def _apply(
    conn: sqlite3.Connection, ns: str, op: TxOp, key: Key, current: Item | None, now: float
) -> None:
    """Check one transaction operation against the current item and write its effect."""
    _check(op.condition, current, op.collection, key)
    match op:
        case TxPut():
            _store(conn, ns, op.collection, _put_item(op.item, key, op.ttl, now))
        case TxUpdate():
            if current is None and not op.upsert:
                raise NotFound(f"no item {_where(op.collection, key)} to update")
            new = _updated_item(current, key, op.set, op.increment, op.remove, None, now)
            _store(conn, ns, op.collection, new)
        case TxDelete():
            conn.execute(_DELETE_SQL, (ns, op.collection, key.pk, key.sk))
        case TxCheck():
            pass


def _sort_condition(column: str, sort: SortKey, where: list[str], params: list[Any]) -> None:
    match sort.op:
        case "eq" | "lt" | "lte" | "gt" | "gte":
            symbol = {"eq": "=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}[sort.op]
            where.append(f"{column} {symbol} ?")
            params.append(sort.value)
        case "between":
            upper = sort.upper if sort.upper is not None else sort.value
            where.append(f"{column} BETWEEN ? AND ?")
            params.extend((sort.value, upper))
        case "begins_with":
            where.append(f"{column} >= ?")
            params.append(sort.value)
            bound = _prefix_bound(sort.value)
            if bound is not None:
                where.append(f"{column} < ?")
                params.append(bound)


def _prefix_bound(prefix: str) -> str | None:
    """The least string greater than every string starting with ``prefix`` (code points)."""
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if 0xD800 <= code <= 0xDFFF:
            code = 0xE000
        if code <= 0x10FFFF:
            return "".join(chars) + chr(code)
    return None


def _cursor(position: list[Any]) -> str:
    return json.dumps(position, ensure_ascii=False, separators=(",", ":"))


def _open_cursor(cursor: str, size: int) -> list[str]:
    try:
        position = json.loads(cursor)
    except ValueError:
        position = None
    if (
        not isinstance(position, list)
        or len(position) != size
        or not all(isinstance(part, str) for part in position)
    ):
        raise InvalidCursor("malformed sqlite cursor", provider=_PROVIDER)
    return position


class _IndexSql:
    """The SQL expressions of one secondary index.

    Names are checked against the identifier formats before they are spliced into
    SQL, and the query repeats the partial index's ``WHERE`` terms verbatim so that
    sqlite's planner can use it.
    """

    def __init__(self, spec: IndexSpec) -> None:
        collection = check_collection(spec.collection)
        partition = check_field_name(spec.partition_field, where="index partition field")
        self.partition = f"json_extract(data, '$.{partition}')"
        terms = [f"collection = '{collection}'", f"json_type(data, '$.{partition}') = 'text'"]
        self.sort: str | None = None
        if spec.sort_field is not None:
            sort = check_field_name(spec.sort_field, where="index sort field")
            self.sort = f"json_extract(data, '$.{sort}')"
            terms.append(f"json_type(data, '$.{sort}') = 'text'")
        self.membership = " AND ".join(terms)
        self.columns = self.partition if self.sort is None else f"{self.partition}, {self.sort}"
        digest = hashlib.sha256(
            json.dumps([collection, spec.name, spec.partition_field, spec.sort_field]).encode()
        ).hexdigest()[:16]
        self.index_name = f"{_TABLE}_ix_{collection}_{digest}"
