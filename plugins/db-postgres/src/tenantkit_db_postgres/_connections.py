"""The tenant's connection pool, with dead-connection recovery and error translation.

One :class:`Connections` per provider instance wraps a ``psycopg_pool.ConnectionPool``
(``min_size=0``: nothing is opened before the first call; at most ``pool_size``
connections, kept open between warm Lambda invocations). It adds three things:

* **A free liveness check at checkout.** An idle PostgreSQL connection has nothing to
  read; if its socket is readable, the server has sent a FATAL message or closed it
  (``pg_terminate_backend``, a restart, an idle timeout). Such a connection is
  discarded before any statement is sent, so even writes that are unsafe to repeat
  never meet a connection that died while pooled.
* **One retry on a fresh connection** when a connection breaks under a statement,
  only for operations the caller marks as safe to repeat.
* **Connection errors that reach the caller.** The pool connects in a background
  worker and would keep a waiting caller until its timeout; failures are recorded
  here and the caller gets the translated error (authentication, unknown database...)
  as soon as an attempt made after its call began has failed.
"""

from __future__ import annotations

import math
import select
import threading
from collections.abc import Callable
from time import monotonic
from typing import Any, ClassVar, TypeVar, cast

import psycopg
import psycopg_pool
from psycopg.rows import TupleRow

from tenantkit import errors
from tenantkit_db_postgres._errors import PROVIDER, is_broken_connection, translate
from tenantkit_db_postgres._iam import IamTokenSource
from tenantkit_db_postgres.settings import PostgresSettings

T = TypeVar("T")

Conn = psycopg.Connection[TupleRow]

_WAIT_SLICE = 0.1
"""How often a caller waiting for a connection looks for a recorded connect failure."""


class _Failures:
    """The outcome of the pool's latest connection attempts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self._at = 0.0

    def record(self, error: BaseException) -> None:
        with self._lock:
            self._error, self._at = error, monotonic()

    def since(self, started: float) -> BaseException | None:
        with self._lock:
            return self._error if self._error is not None and self._at >= started else None


class _RecordingConnection(psycopg.Connection[TupleRow]):
    """A connection class that reports failed connection attempts to its pool's owner."""

    _failures: ClassVar[_Failures]

    @classmethod
    def connect(cls, conninfo: str = "", **kwargs: Any) -> Any:
        try:
            return super().connect(conninfo, **kwargs)
        except Exception as exc:
            cls._failures.record(exc)
            raise


class _Broken(Exception):
    """A connection broke under a statement; ``error`` is what psycopg raised."""

    def __init__(self, error: psycopg.Error) -> None:
        super().__init__(str(error))
        self.error = error


class Connections:
    """Runs functions on a pooled connection (autocommit mode)."""

    def __init__(self, settings: PostgresSettings, *, name: str) -> None:
        self._settings = settings
        self._failures = _Failures()
        self._iam = (
            IamTokenSource(
                host=cast(str, settings.host),
                port=settings.port,
                user=cast(str, settings.user),
                region=settings.region,
            )
            if settings.iam_auth
            else None
        )
        connection_class = type(
            "TenantkitConnection", (_RecordingConnection,), {"_failures": self._failures}
        )
        self._timeout = settings.connect_timeout
        self._pool: psycopg_pool.ConnectionPool[Conn] = psycopg_pool.ConnectionPool(
            conninfo=settings.dsn.get_secret_value() if settings.dsn is not None else "",
            kwargs=self._connect_kwargs,
            connection_class=connection_class,
            min_size=0,
            max_size=settings.pool_size,
            open=False,
            configure=self._configure,
            name=name,
            timeout=settings.connect_timeout,
            max_idle=settings.max_idle,
            reconnect_timeout=settings.connect_timeout,
            num_workers=1,
        )
        self._opened = False
        self._closed = False
        self._open_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Connections(pool={self._pool.name!r}, max_size={self._pool.max_size})"

    # --- running work -----------------------------------------------------------------

    def run(self, fn: Callable[[Conn], T], *, safe: bool, context: str = "") -> T:
        """``fn(conn)`` on a live connection; retried once on a fresh one if it broke
        and ``safe``. psycopg errors come out translated into tenantkit's taxonomy."""
        try:
            return self._attempt(fn, context)
        except _Broken as broken:
            if not safe:
                raise _unknown_outcome(broken.error, context) from None
        try:
            return self._attempt(fn, context)
        except _Broken as broken:
            raise translate(broken.error, context=context) from None

    def _attempt(self, fn: Callable[[Conn], T], context: str) -> T:
        conn = self._checkout(context)
        try:
            return fn(conn)
        except psycopg.Error as exc:
            if is_broken_connection(exc, conn):
                raise _Broken(exc) from None
            raise translate(exc, context=context) from None
        finally:
            self._pool.putconn(conn)

    # --- checkout ---------------------------------------------------------------------

    def _checkout(self, context: str) -> Conn:
        self._open()
        started = monotonic()
        deadline = started + self._timeout
        # Each pass either returns a live connection or discards a dead one; the pool
        # holds at most max_size, so max_size + 1 passes reach a new connection.
        for _ in range(self._pool.max_size + 1):
            conn = self._getconn(started, deadline, context)
            if _alive(conn):
                return conn
            conn.close()
            self._pool.putconn(conn)
        raise errors.ConnectionFailed(
            f"{context}: no live database connection", provider=PROVIDER
        )  # pragma: no cover - the loop always reaches a new connection

    def _getconn(self, started: float, deadline: float, context: str) -> Conn:
        while True:
            remaining = deadline - monotonic()
            if remaining <= 0:
                raise errors.Timeout(
                    f"{context}: no database connection within {self._timeout:g} s",
                    provider=PROVIDER,
                )
            try:
                return self._pool.getconn(timeout=min(_WAIT_SLICE, remaining))
            except psycopg_pool.PoolTimeout:
                failure = self._failures.since(started)
                if failure is not None:
                    raise translate(failure, context=context) from None

    def _open(self) -> None:
        if self._opened:
            return
        with self._open_lock:
            if self._closed:
                raise errors.ProviderError(
                    "this postgres database was closed; resolve the tenant again",
                    provider=PROVIDER,
                )
            if not self._opened:
                self._pool.open(wait=False)
                self._opened = True

    # --- connecting -------------------------------------------------------------------

    def _connect_kwargs(self) -> dict[str, Any]:
        s = self._settings
        kwargs: dict[str, Any] = {
            "autocommit": True,
            "prepare_threshold": 5 if s.prepared_statements else None,
            "connect_timeout": max(2, math.ceil(s.connect_timeout)),
            "application_name": "tenantkit",
        }
        if s.dsn is None:
            kwargs.update(host=s.host, port=s.port, dbname=s.dbname, user=s.user)
        if s.sslmode is not None:
            kwargs["sslmode"] = s.sslmode
        elif s.iam_auth:
            kwargs["sslmode"] = "require"
        if s.sslrootcert is not None:
            kwargs["sslrootcert"] = s.sslrootcert
        if self._iam is not None:
            try:
                kwargs["password"] = self._iam.token()
            except Exception as exc:
                self._failures.record(exc)
                raise
        elif s.password is not None:
            kwargs["password"] = s.password.get_secret_value()
        return kwargs

    def _configure(self, conn: Conn) -> None:
        s = self._settings
        names, values = [], []
        for name, seconds in (
            ("statement_timeout", s.statement_timeout),
            ("lock_timeout", s.lock_timeout),
        ):
            if seconds is not None:
                names.append(name)
                values.append(str(max(1, round(seconds * 1000))))
        if names:
            conn.execute(
                "SELECT set_config(name, value, false) FROM unnest(%s::text[], %s::text[])"
                " AS s(name, value)",
                (names, values),
            )

    # --- closing ----------------------------------------------------------------------

    def close(self) -> None:
        """Close every connection and stop the pool's worker threads."""
        with self._open_lock:
            self._closed = True
            if self._opened:
                self._pool.close(timeout=5.0)
                self._opened = False


def _alive(conn: Conn) -> bool:
    """Whether an idle connection still looks usable, without a round trip."""
    if conn.closed or conn.broken:
        return False
    try:
        readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return False
    return not readable


def _unknown_outcome(error: psycopg.Error, context: str) -> errors.TenantkitError:
    translated = translate(error, context=context)
    if isinstance(translated, errors.ConnectionFailed):
        return errors.ConnectionFailed(
            f"{translated.message}; the write may or may not have been applied",
            provider=PROVIDER,
            code=translated.code,
        )
    return translated
