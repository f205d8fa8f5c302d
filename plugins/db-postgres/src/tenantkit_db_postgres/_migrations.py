"""Schema migrations: the tables, then one index per declared :class:`IndexSpec`.

Each applied step is recorded by id in ``tenantkit_migrations``. :meth:`Migrator.ensure`
first reads which steps exist (one query); only when some are missing does it open a
transaction, take a transaction-scoped advisory lock (so concurrent cold starts apply
each step once, the others wait and then find it done), re-read, apply what is still
missing and record it. PostgreSQL DDL is transactional: a failed run leaves nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import cast

import psycopg
from psycopg import sql

from tenantkit import errors
from tenantkit.db import IndexSpec
from tenantkit_db_postgres._connections import Conn
from tenantkit_db_postgres._errors import PROVIDER
from tenantkit_db_postgres._statements import Statements, index_name

TABLES_STEP = "0001-items"


class Migrator:
    """Applies the migrations of one schema."""

    def __init__(self, statements: Statements) -> None:
        self._sql = statements
        target = statements.schema_name or ""
        digest = hashlib.sha256(f"tenantkit-migrations:{target}".encode()).digest()
        self._lock_key = int.from_bytes(digest[:8], "big", signed=True)

    def steps(self, indexes: Sequence[IndexSpec]) -> dict[str, list[bytes]]:
        """Every step id the schema needs, with its DDL statements, in order."""
        steps = {TABLES_STEP: self._tables()}
        for spec in indexes:
            steps[f"index:{index_name(spec)}"] = [self._sql.create_index(spec)]
        return steps

    def ensure(self, conn: Conn, indexes: Sequence[IndexSpec]) -> list[str]:
        """Apply the missing steps; return the ids applied by this call."""
        steps = self.steps(indexes)
        if not self._missing(conn, steps):
            return []
        applied: list[str] = []
        with conn.transaction():
            # Building an index may take long, and others wait here for the lock.
            conn.execute(
                "SELECT set_config('statement_timeout', '0', true),"
                " set_config('lock_timeout', '0', true)"
            )
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (id text PRIMARY KEY,"
                    " applied_at timestamptz NOT NULL DEFAULT now())"
                ).format(self._sql.migrations)
            )
            for step in self._missing(conn, steps):
                for statement in steps[step]:
                    conn.execute(statement)
                conn.execute(
                    sql.SQL("INSERT INTO {} (id) VALUES (%s)").format(self._sql.migrations),
                    (step,),
                )
                applied.append(step)
        return applied

    def _missing(self, conn: Conn, steps: dict[str, list[bytes]]) -> list[str]:
        query = sql.SQL(
            "SELECT current_setting('server_encoding'), ARRAY(SELECT id FROM {} WHERE id = ANY(%s))"
        ).format(self._sql.migrations)
        try:
            row = conn.execute(query, (list(steps),)).fetchone()
        except psycopg.errors.UndefinedTable:
            return list(steps)
        assert row is not None
        encoding, present = row
        if encoding != "UTF8":
            raise errors.ConfigurationError(
                f"the database encoding is {encoding}; tenantkit needs a UTF8 database",
                provider=PROVIDER,
            )
        done = set(cast(list[str], present))
        return [step for step in steps if step not in done]

    def _tables(self) -> list[bytes]:
        items = self._sql.items
        return [
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                ' ns text COLLATE "C" NOT NULL,'
                ' collection text COLLATE "C" NOT NULL,'
                ' pk text COLLATE "C" NOT NULL,'
                ' sk text COLLATE "C" NOT NULL,'
                " data jsonb NOT NULL,"
                " version text NOT NULL,"
                " expires_at timestamptz,"
                " PRIMARY KEY (ns, collection, pk, sk))"
            )
            .format(items)
            .as_bytes(None),
            sql.SQL(
                "CREATE INDEX IF NOT EXISTS {} ON {} (ns, expires_at) WHERE expires_at IS NOT NULL"
            )
            .format(sql.Identifier("tenantkit_items_expiry"), items)
            .as_bytes(None),
        ]
