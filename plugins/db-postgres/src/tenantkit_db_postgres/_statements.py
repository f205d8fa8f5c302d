"""Every SQL statement the provider runs, composed with :mod:`psycopg.sql`.

Identifiers (schema, tables, index names) are :class:`psycopg.sql.Identifier`; the
few constants that DDL cannot take as parameters (an index's collection and field
names) are :class:`psycopg.sql.Literal`, which the index queries repeat so the
planner matches the index. Everything else, every key, value and item, is a bound
parameter. Statements are composed once per provider instance and kept as bytes.
Parameters are named (``%(pk)s``), except in :attr:`Statements.insert`, the most
frequent write, whose positional ones cost less to pass.

The data lives in one table; the tenant (``ns``) and the collection are columns, so
collection names are data, never identifiers::

    tenantkit_items(ns, collection, pk, sk, data jsonb, version, expires_at timestamptz)
    primary key (ns, collection, pk, sk), all four text columns COLLATE "C"
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from functools import cached_property
from typing import Literal, LiteralString, TypeVar

from psycopg import sql

from tenantkit.db import IndexSpec

ITEMS = "tenantkit_items"
MIGRATIONS = "tenantkit_migrations"

_K = TypeVar("_K", bound=Hashable)

SortOp = Literal["eq", "lt", "lte", "gt", "gte", "begins_with", "between"]

_LIVE = sql.SQL("(t.expires_at IS NULL OR t.expires_at > statement_timestamp())")
_KEY = sql.SQL(
    "t.ns = %(ns)s AND t.collection = %(collection)s AND t.pk = %(pk)s AND t.sk = %(sk)s"
)
_EXPIRY = sql.SQL("statement_timestamp() + make_interval(secs => %(ttl)s::float8)")
_EXPIRY_POSITIONAL = sql.SQL("statement_timestamp() + make_interval(secs => %s::float8)")
_IF_VERSION = sql.SQL(" AND t.version = %(expected)s")
_EPOCH = sql.SQL("ceil(extract(epoch FROM t.expires_at))::bigint")
_ITEM = sql.SQL(
    "json_build_object('pk', t.pk, 'sk', t.sk, 'data', t.data, 'version', t.version,"
    " 'expires_at', {})::text"
).format(_EPOCH)
"""The item as the JSON document of a :class:`tenantkit.Item`, validated in one step."""

_SORT = {
    "eq": "= %(sort_value)s",
    "lt": "< %(sort_value)s",
    "lte": "<= %(sort_value)s",
    "gt": "> %(sort_value)s",
    "gte": ">= %(sort_value)s",
    "between": "BETWEEN %(sort_value)s AND %(sort_upper)s",
}


def _render(query: sql.Composable) -> bytes:
    return query.as_bytes(None)


class _Composed(dict[_K, bytes]):
    """Statements composed on first use; then ``composed[variant]`` is a dict lookup."""

    def __init__(self, compose: Callable[[_K], bytes]) -> None:
        super().__init__()
        self._compose = compose

    def __missing__(self, variant: _K) -> bytes:
        self[variant] = statement = self._compose(variant)
        return statement


def _update_data(base: sql.Composable) -> sql.Composed:
    """``base`` with fields removed, set and incremented, all from parameters."""
    return sql.SQL(
        "(({base} - %(remove)s::text[]) || %(set)s::jsonb || COALESCE(("
        "SELECT jsonb_object_agg(i.name, COALESCE(({base} -> i.name)::numeric, 0)"
        " + i.amount::numeric)"
        " FROM unnest(%(inc_names)s::text[], %(inc_amounts)s::text[]) AS i(name, amount)"
        "), '{{}}'::jsonb))"
    ).format(base=base)


class Statements:
    """The statements for one schema (``None``: the connection's search path)."""

    def __init__(self, schema_name: str | None) -> None:
        def qualified(table: str) -> sql.Composable:
            if schema_name is None:
                return sql.Identifier(table)
            return sql.Identifier(schema_name, table)

        self.schema_name = schema_name
        self.items = qualified(ITEMS)
        self.migrations = qualified(MIGRATIONS)
        self.insert = _Composed(self._insert)
        """``insert[if_absent, ttl]``: write a whole item (``if_absent``: unless a live one
        is there), ``RETURNING`` its expiry (no row: the condition failed). Positional
        parameters: ns, collection, pk, sk, data, version, and with ``ttl`` the seconds
        the item lives (without, it never expires: no expiry expression at all)."""
        self.replace = _Composed(self._replace)
        """``replace[if_version, ttl]``: overwrite a live item (``if_version``: at version
        ``%(expected)s``), ``RETURNING`` its expiry (no row: the condition failed)."""
        self._query_cache: dict[tuple[SortOp | None, bool, bool, bool], bytes] = {}
        self._index_cache: dict[tuple[IndexSpec, SortOp | None, bool, bool, bool], bytes] = {}

    def _fmt(self, template: LiteralString, **parts: sql.Composable) -> bytes:
        return _render(sql.SQL(template).format(items=self.items, **parts))

    # --- single items -----------------------------------------------------------------

    @cached_property
    def get(self) -> bytes:
        return self._fmt(
            "SELECT {item}, {live}, t.version FROM {items} AS t WHERE {key}",
            item=_ITEM,
            live=_LIVE,
            key=_KEY,
        )

    @cached_property
    def purge_expired_item(self) -> bytes:
        return self._fmt(
            "DELETE FROM {items} AS t WHERE {key} AND t.version = %(version)s AND NOT {live}",
            key=_KEY,
            live=_LIVE,
        )

    def _insert(self, variant: tuple[bool, bool]) -> bytes:
        if_absent, ttl = variant
        on_conflict = sql.SQL(" WHERE NOT {}").format(_LIVE) if if_absent else sql.SQL("")
        return self._fmt(
            "INSERT INTO {items} AS t (ns, collection, pk, sk, data, version, expires_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, {expiry})"
            " ON CONFLICT (ns, collection, pk, sk) DO UPDATE SET data = EXCLUDED.data,"
            " version = EXCLUDED.version, expires_at = EXCLUDED.expires_at"
            "{on_conflict} RETURNING {epoch}",
            expiry=_EXPIRY_POSITIONAL if ttl else sql.SQL("NULL"),
            on_conflict=on_conflict,
            epoch=_EPOCH,
        )

    def _replace(self, variant: tuple[bool, bool]) -> bytes:
        if_version, ttl = variant
        return self._fmt(
            "UPDATE {items} AS t SET data = %(data)s, version = %(version)s,"
            " expires_at = {expiry} WHERE {key} AND {live}{extra} RETURNING {epoch}",
            expiry=_EXPIRY if ttl else sql.SQL("NULL"),
            key=_KEY,
            live=_LIVE,
            extra=_IF_VERSION if if_version else sql.SQL(""),
            epoch=_EPOCH,
        )

    def _update(self, extra: sql.Composable) -> bytes:
        return self._fmt(
            "UPDATE {items} AS t SET data = {data}, version = %(version)s,"
            " expires_at = COALESCE({expiry}, t.expires_at)"
            " WHERE {key} AND {live}{extra} RETURNING {item}",
            extra=extra,
            data=_update_data(sql.SQL("t.data")),
            expiry=_EXPIRY,
            key=_KEY,
            live=_LIVE,
            item=_ITEM,
        )

    @cached_property
    def update(self) -> bytes:
        return self._update(sql.SQL(""))

    @cached_property
    def update_if_version(self) -> bytes:
        return self._update(_IF_VERSION)

    def _upsert(self, on_conflict: sql.Composable) -> bytes:
        return self._fmt(
            "INSERT INTO {items} AS t (ns, collection, pk, sk, data, version, expires_at)"
            " VALUES (%(ns)s, %(collection)s, %(pk)s, %(sk)s, {fresh}, %(version)s, {expiry})"
            " ON CONFLICT (ns, collection, pk, sk) DO UPDATE SET"
            " data = CASE WHEN {live} THEN {changed} ELSE EXCLUDED.data END,"
            " version = EXCLUDED.version,"
            " expires_at = CASE WHEN {live} THEN COALESCE({expiry}, t.expires_at)"
            " ELSE EXCLUDED.expires_at END{on_conflict} RETURNING {item}",
            on_conflict=on_conflict,
            fresh=_update_data(sql.SQL("'{}'::jsonb")),
            changed=_update_data(sql.SQL("t.data")),
            expiry=_EXPIRY,
            live=_LIVE,
            item=_ITEM,
        )

    @cached_property
    def upsert(self) -> bytes:
        return self._upsert(sql.SQL(""))

    @cached_property
    def upsert_if_absent(self) -> bytes:
        return self._upsert(sql.SQL(" WHERE NOT {}").format(_LIVE))

    @cached_property
    def delete(self) -> bytes:
        return self._fmt(
            "DELETE FROM {items} AS t WHERE {key} RETURNING {live}", key=_KEY, live=_LIVE
        )

    @cached_property
    def delete_if_exists(self) -> bytes:
        return self._fmt(
            "DELETE FROM {items} AS t WHERE {key} AND {live} RETURNING true", key=_KEY, live=_LIVE
        )

    @cached_property
    def delete_if_version(self) -> bytes:
        return self._fmt(
            "DELETE FROM {items} AS t WHERE {key} AND {live} AND t.version = %(expected)s"
            " RETURNING true",
            key=_KEY,
            live=_LIVE,
        )

    @cached_property
    def exists(self) -> bytes:
        return self._fmt(
            "SELECT EXISTS (SELECT 1 FROM {items} AS t WHERE {key} AND {live})",
            key=_KEY,
            live=_LIVE,
        )

    # --- transaction checks -----------------------------------------------------------

    @cached_property
    def lock_if_exists(self) -> bytes:
        return self._fmt(
            "SELECT 1 FROM {items} AS t WHERE {key} AND {live} FOR SHARE", key=_KEY, live=_LIVE
        )

    @cached_property
    def lock_if_version(self) -> bytes:
        return self._fmt(
            "SELECT 1 FROM {items} AS t WHERE {key} AND {live} AND t.version = %(expected)s"
            " FOR SHARE",
            key=_KEY,
            live=_LIVE,
        )

    @cached_property
    def lock_if_absent(self) -> bytes:
        """Claim an absent key until commit: an expired placeholder row (or the expired
        row already there) holds the key's unique-index entry, so a concurrent insert
        waits for this transaction instead of slipping in after the check."""
        return self._fmt(
            "INSERT INTO {items} AS t (ns, collection, pk, sk, data, version, expires_at)"
            " VALUES (%(ns)s, %(collection)s, %(pk)s, %(sk)s, '{{}}'::jsonb, '', '-infinity')"
            " ON CONFLICT (ns, collection, pk, sk) DO UPDATE SET version = t.version"
            " WHERE NOT {live} RETURNING (t.version = '')",
            live=_LIVE,
        )

    @cached_property
    def release_placeholder(self) -> bytes:
        return self._fmt("DELETE FROM {items} AS t WHERE {key} AND t.version = ''", key=_KEY)

    # --- many items -------------------------------------------------------------------

    @cached_property
    def batch_get(self) -> bytes:
        return self._fmt(
            "SELECT {item} FROM {items} AS t"
            " JOIN unnest(%(pks)s::text[], %(sks)s::text[]) AS k(pk, sk)"
            " ON t.pk = k.pk AND t.sk = k.sk"
            " WHERE t.ns = %(ns)s AND t.collection = %(collection)s AND {live}",
            item=_ITEM,
            live=_LIVE,
        )

    @cached_property
    def batch_put(self) -> bytes:
        return self._fmt(
            "INSERT INTO {items} AS t (ns, collection, pk, sk, data, version, expires_at)"
            " SELECT %(ns)s, %(collection)s, u.pk, u.sk, u.data, u.version, NULL"
            " FROM unnest(%(pks)s::text[], %(sks)s::text[], %(datas)s::jsonb[],"
            " %(versions)s::text[]) AS u(pk, sk, data, version)"
            " ON CONFLICT (ns, collection, pk, sk) DO UPDATE SET data = EXCLUDED.data,"
            " version = EXCLUDED.version, expires_at = EXCLUDED.expires_at"
        )

    @cached_property
    def restore(self) -> bytes:
        """``batch_put`` with each item's expiry (epoch seconds, or NULL) kept."""
        return self._fmt(
            "INSERT INTO {items} AS t (ns, collection, pk, sk, data, version, expires_at)"
            " SELECT %(ns)s, %(collection)s, u.pk, u.sk, u.data, u.version, to_timestamp(u.exp)"
            " FROM unnest(%(pks)s::text[], %(sks)s::text[], %(datas)s::jsonb[],"
            " %(versions)s::text[], %(exps)s::bigint[]) AS u(pk, sk, data, version, exp)"
            " ON CONFLICT (ns, collection, pk, sk) DO UPDATE SET data = EXCLUDED.data,"
            " version = EXCLUDED.version, expires_at = EXCLUDED.expires_at"
        )

    def scan(self, *, after: bool) -> bytes:
        """Live items of ``%(ns)s`` in primary-key order; ``after``: past the row
        ``(%(after_collection)s, %(after_pk)s, %(after_sk)s)``."""
        bound = sql.SQL(
            " AND (t.collection, t.pk, t.sk) > (%(after_collection)s, %(after_pk)s, %(after_sk)s)"
            if after
            else ""
        )
        return self._fmt(
            "SELECT t.collection, {item} FROM {items} AS t WHERE t.ns = %(ns)s AND {live}{bound}"
            " ORDER BY t.collection, t.pk, t.sk LIMIT %(limit)s",
            item=_ITEM,
            live=_LIVE,
            bound=bound,
        )

    @cached_property
    def sweep_expired(self) -> bytes:
        return self._fmt(
            "DELETE FROM {items} AS t WHERE t.ctid = ANY(ARRAY("
            "SELECT s.ctid FROM {items} AS s WHERE s.ns = %(ns)s"
            " AND s.expires_at <= statement_timestamp() LIMIT %(limit)s FOR UPDATE SKIP LOCKED))"
        )

    def query(self, op: SortOp | None, *, descending: bool, after: bool, upper: bool) -> bytes:
        """Items of one partition. ``after``: continue past ``%(after_sk)s``; ``upper``:
        a ``begins_with`` prefix has an exclusive upper bound ``%(sort_upper)s``."""
        cache_key = (op, descending, after, upper)
        if (found := self._query_cache.get(cache_key)) is not None:
            return found
        conditions: list[sql.Composable] = [_KEY_PARTITION, _LIVE]
        conditions += _sort_conditions(sql.SQL("t.sk"), op, upper)
        if after:
            conditions.append(
                sql.SQL("t.sk < %(after_sk)s" if descending else "t.sk > %(after_sk)s")
            )
        order = sql.SQL("DESC" if descending else "ASC")
        query = sql.SQL(
            "SELECT {item} FROM {items} AS t WHERE {conditions}"
            " ORDER BY t.sk {order} LIMIT %(limit)s"
        ).format(
            item=_ITEM,
            items=self.items,
            conditions=sql.SQL(" AND ").join(conditions),
            order=order,
        )
        rendered = self._query_cache[cache_key] = _render(query)
        return rendered

    # --- secondary indexes ------------------------------------------------------------

    def query_index(
        self, spec: IndexSpec, op: SortOp | None, *, descending: bool, after: bool, upper: bool
    ) -> bytes:
        """Items whose indexed field equals ``%(value)s``, in index order. ``after``:
        continue past the row ``(%(after_sort)s, %(after_pk)s, %(after_sk)s)``."""
        cache_key = (spec, op, descending, after, upper)
        if (found := self._index_cache.get(cache_key)) is not None:
            return found
        ix = _IndexExpressions(spec)
        conditions: list[sql.Composable] = [
            sql.SQL("t.ns = %(ns)s"),
            *ix.predicate,
            sql.SQL("{} = %(value)s").format(ix.partition),
            _LIVE,
        ]
        order_by: list[sql.Composable] = [sql.SQL("t.pk"), sql.SQL("t.sk")]
        after_row: list[sql.Composable] = [sql.SQL("%(after_pk)s"), sql.SQL("%(after_sk)s")]
        if ix.sort is not None:
            conditions += _sort_conditions(ix.sort, op, upper)
            order_by.insert(0, ix.sort)
            after_row.insert(0, sql.SQL("%(after_sort)s"))
        if after:
            conditions.append(
                sql.SQL("({}) {} ({})").format(
                    sql.SQL(", ").join(order_by),
                    sql.SQL("<" if descending else ">"),
                    sql.SQL(", ").join(after_row),
                )
            )
        direction = sql.SQL(" DESC" if descending else " ASC")
        query = sql.SQL(
            "SELECT {item} FROM {items} AS t WHERE {conditions} ORDER BY {order} LIMIT %(limit)s"
        ).format(
            item=_ITEM,
            items=self.items,
            conditions=sql.SQL(" AND ").join(conditions),
            order=sql.SQL(", ").join(sql.Composed([o, direction]) for o in order_by),
        )
        rendered = self._index_cache[cache_key] = _render(query)
        return rendered

    def create_index(self, spec: IndexSpec) -> bytes:
        """The partial expression index serving :meth:`query_index` for ``spec``."""
        ix = _IndexExpressions(spec, table=None)
        columns: list[sql.Composable] = [sql.SQL("ns"), sql.SQL("({})").format(ix.partition)]
        if ix.sort is not None:
            columns.append(sql.SQL("({})").format(ix.sort))
        columns += [sql.SQL("pk"), sql.SQL("sk")]
        return _render(
            sql.SQL(
                "CREATE INDEX IF NOT EXISTS {name} ON {items} ({columns}) WHERE {where}"
            ).format(
                name=sql.Identifier(ix.name),
                items=self.items,
                columns=sql.SQL(", ").join(columns),
                where=sql.SQL(" AND ").join(ix.predicate),
            )
        )


_KEY_PARTITION = sql.SQL("t.ns = %(ns)s AND t.collection = %(collection)s AND t.pk = %(pk)s")


def _sort_conditions(expr: sql.Composable, op: SortOp | None, upper: bool) -> list[sql.Composable]:
    if op is None:
        return []
    if op == "begins_with":
        found: list[sql.Composable] = [sql.SQL("{} >= %(sort_value)s").format(expr)]
        if upper:
            found.append(sql.SQL("{} < %(sort_upper)s").format(expr))
        return found
    return [sql.SQL("{} " + _SORT[op]).format(expr)]


def index_name(spec: IndexSpec) -> str:
    """The SQL name of a declared index: stable, short, and safe whatever the spec holds."""
    digest = hashlib.sha256(
        "\x1f".join(
            [spec.collection, spec.name, spec.partition_field, spec.sort_field or ""]
        ).encode()
    ).hexdigest()[:20]
    return f"tenantkit_ix_{digest}"


class _IndexExpressions:
    """The expressions and partial-index predicate of one declared index. ``table`` is
    the alias columns are qualified with (``None`` in DDL)."""

    def __init__(self, spec: IndexSpec, *, table: str | None = "t") -> None:
        def column(name: str) -> sql.Identifier:
            return sql.Identifier(table, name) if table else sql.Identifier(name)

        def text_field(field: str) -> sql.Composed:
            return sql.SQL('({} ->> {}) COLLATE "C"').format(column("data"), sql.Literal(field))

        def is_string(field: str) -> sql.Composed:
            return sql.SQL("jsonb_typeof({} -> {}) = 'string'").format(
                column("data"), sql.Literal(field)
            )

        self.name = index_name(spec)
        self.partition = text_field(spec.partition_field)
        self.sort = text_field(spec.sort_field) if spec.sort_field is not None else None
        self.predicate: list[sql.Composable] = [
            sql.SQL("{} = {}").format(column("collection"), sql.Literal(spec.collection)),
            is_string(spec.partition_field),
        ]
        if spec.sort_field is not None:
            self.predicate.append(is_string(spec.sort_field))
