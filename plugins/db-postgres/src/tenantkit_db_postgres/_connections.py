"""The tenant's connection pool, with dead-connection recovery and error translation.

One :class:`Connections` per provider instance wraps a ``psycopg_pool.ConnectionPool``
(``min_size=0``: nothing is opened before the first call; at most ``pool_size``
connections, kept open between warm Lambda invocations). It adds four things:

* **Cheap reuse between calls.** A connection taken from the pool stays with this
  instance for up to :data:`LEASE` seconds, reused by the calls that follow without
  going through the pool's checkout and return; then it goes back to the pool, whose
  policies (``max_idle``, lifetime, replacement of broken connections) apply as usual.
  A background thread hands back the ones left unused, and a call waiting for a
  connection always gets a kept one first, so ``pool_size`` still bounds everything.
* **A free liveness check at checkout.** An idle PostgreSQL connection has nothing to
  read; if its socket is readable, the server has sent a FATAL message or closed it
  (``pg_terminate_backend``, a restart, an idle timeout). Such a connection is
  discarded before any statement is sent, so even writes that are unsafe to repeat
  never meet a connection that died while idle.
* **One repeat on a fresh connection** when a connection breaks under a statement
  the caller marks as safe to repeat (reads, and transactions rolled back before
  their commit). A write cut after it was sent raises
  :class:`~tenantkit.errors.OutcomeUnknown`: it may or may not have been applied, and
  the core's wrapper repeats it only when the call is idempotent.
* **Connection errors that reach the caller.** The pool connects in a background
  worker and would keep a waiting caller until its timeout; failures are recorded
  here and the caller gets the translated error (authentication, unknown database...)
  as soon as an attempt made after its call began has failed.
"""

from __future__ import annotations

import math
import select
import threading
import weakref
from collections import deque
from collections.abc import Callable
from time import monotonic
from typing import Any, ClassVar, TypeVar, cast

import psycopg
import psycopg_pool
from psycopg.pq import TransactionStatus
from psycopg.rows import TupleRow

from tenantkit import errors
from tenantkit_db_postgres._errors import PROVIDER, is_broken_connection, translate
from tenantkit_db_postgres._iam import IamTokenSource
from tenantkit_db_postgres.settings import PostgresSettings

T = TypeVar("T")

Conn = psycopg.Connection[TupleRow]

Params = tuple[Any, ...] | dict[str, Any]
"""A statement's parameters: positional or named."""

LEASE = 1.0
"""Seconds a connection taken from the pool stays with its :class:`Connections` between
calls before it goes back to the pool."""

_WAIT_SLICE = 0.1
"""How often a caller waiting for a connection looks for a recorded connect failure."""

_IDLE = TransactionStatus.IDLE

_Readable = Callable[[int], list[Any]]
"""``readable(0)``: the connection's socket events, empty while it has nothing to read."""

_Lease = tuple[Conn, _Readable, float]
"""A connection taken from the pool, its liveness probe, and when it must go back."""


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
        # Leases not in use, most recently returned last. Only atomic deque operations
        # touch it (append, pop, popleft: thread-safe), so the hot path takes no lock.
        self._kept: deque[_Lease] = deque()
        self._lock = threading.Lock()  # guards _waiting, _opened and _closed changes
        self._waiting = 0
        self._opened = False
        self._closed = False
        self._stop_returning = threading.Event()

    def __repr__(self) -> str:
        return f"Connections(pool={self._pool.name!r}, max_size={self._pool.max_size})"

    # --- running work -----------------------------------------------------------------

    def run(self, fn: Callable[[Conn], T], *, safe: bool, context: str = "") -> T:
        """``fn(conn)`` on a live connection; retried once on a fresh one if it broke
        and ``safe``. psycopg errors come out translated into tenantkit's taxonomy."""
        lease = self._take(context)
        try:
            return fn(lease[0])
        except psycopg.Error as exc:
            _raise_unless_repeatable(exc, lease[0], safe=safe, context=context)
        finally:
            self._give(lease)
        # The connection broke under a statement that is safe to repeat: once more.
        lease = self._take(context)
        try:
            return fn(lease[0])
        except psycopg.Error as exc:
            raise translate(exc, context=context) from None
        finally:
            self._give(lease)

    def fetchone(
        self, statement: bytes, params: Params, *, safe: bool, context: str = ""
    ) -> TupleRow | None:
        """The first row of one statement, run like :meth:`run` runs a function (the
        most frequent call, without a function to make and call)."""
        lease = self._take(context)
        try:
            return lease[0].execute(statement, params).fetchone()
        except psycopg.Error as exc:
            _raise_unless_repeatable(exc, lease[0], safe=safe, context=context)
        finally:
            self._give(lease)
        lease = self._take(context)
        try:
            return lease[0].execute(statement, params).fetchone()
        except psycopg.Error as exc:
            raise translate(exc, context=context) from None
        finally:
            self._give(lease)

    # --- checkout and return ----------------------------------------------------------

    def _take(self, context: str) -> _Lease:
        """A live connection: the last one kept if there is one, else from the pool."""
        try:
            lease = self._kept.pop()
        except IndexError:
            return self._checkout(context)
        # Kept connections were idle when given and nothing closes them while kept, so
        # only the server can have ended them: a readable socket says it did.
        if lease[1](0):
            self._discard(lease[0])
            return self._checkout(context)
        return lease

    def _give(self, lease: _Lease) -> None:
        """Keep an idle connection for the next call while its lease lasts; otherwise
        (or if it is broken or inside a transaction) give it back to the pool."""
        if lease[0].pgconn.transaction_status == _IDLE and monotonic() < lease[2]:
            self._kept.append(lease)
            # Appended first, checked second: a caller that started waiting for a
            # connection (or close()) either finds it or is seen here and served.
            if self._waiting or self._closed:
                self._return_kept()
        else:
            self._pool.putconn(lease[0])

    def _return_kept(self) -> None:
        """Give every kept connection back to the pool."""
        while True:
            try:
                lease = self._kept.pop()
            except IndexError:
                return
            self._pool.putconn(lease[0])

    def _return_expired(self) -> None:
        """Give the kept connections whose lease is over back to the pool."""
        now = monotonic()
        for lease in list(self._kept):  # a copy: other threads take and give meanwhile
            if lease[2] <= now:
                try:
                    self._kept.remove(lease)
                except ValueError:
                    continue  # taken by a call in the meantime
                self._pool.putconn(lease[0])

    def _checkout(self, context: str) -> _Lease:
        self._open()
        started = monotonic()
        deadline = started + self._timeout
        with self._lock:
            self._waiting += 1
        try:
            # Each pass either returns a live connection or discards a dead one; the pool
            # holds at most max_size, so max_size + 1 passes reach a new connection.
            for _ in range(self._pool.max_size + 1):
                lease = self._wait_for_connection(started, deadline, context)
                if lease is not None:
                    return lease
        finally:
            with self._lock:
                self._waiting -= 1
        raise errors.ConnectionFailed(
            f"{context}: no live database connection", provider=PROVIDER
        )  # pragma: no cover - the loop always reaches a new connection

    def _wait_for_connection(self, started: float, deadline: float, context: str) -> _Lease | None:
        """A kept connection or one from the pool; ``None`` if it was dead (discarded)."""
        while True:
            try:
                kept = self._kept.pop()
            except IndexError:
                remaining = deadline - monotonic()
                if remaining <= 0:
                    raise errors.Timeout(
                        f"{context}: no database connection within {self._timeout:g} s",
                        provider=PROVIDER,
                    ) from None
                try:
                    conn = self._pool.getconn(timeout=min(_WAIT_SLICE, remaining))
                except psycopg_pool.PoolTimeout:
                    failure = self._failures.since(started)
                    if failure is not None:
                        raise translate(failure, context=context) from None
                    continue
                lease = _lease(conn)
            else:
                conn = kept[0]
                lease = None if kept[1](0) else kept
            if lease is None:
                self._discard(conn)
            return lease

    def _discard(self, conn: Conn) -> None:
        conn.close()
        self._pool.putconn(conn)

    def _open(self) -> None:
        if self._opened:
            return
        with self._lock:
            if self._closed:
                raise errors.ProviderError(
                    "this postgres database was closed; resolve the tenant again",
                    provider=PROVIDER,
                )
            if self._opened:
                return
            self._pool.open(wait=False)
            threading.Thread(
                target=_return_unused,
                args=(weakref.ref(self), self._stop_returning),
                name=f"{self._pool.name}-returns",
                daemon=True,
            ).start()
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
        with self._lock:
            self._closed = True
            opened, self._opened = self._opened, False
        self._stop_returning.set()
        if opened:
            self._return_kept()
            self._pool.close(timeout=5.0)


def _return_unused(ref: weakref.ref[Connections], stop: threading.Event) -> None:
    """Every :data:`LEASE` seconds, give leases that are over back to the pool (the
    thread holds no reference that would keep its :class:`Connections` alive)."""
    while not stop.wait(LEASE):
        conns = ref()
        if conns is None:
            return
        conns._return_expired()
        del conns


def _lease(conn: Conn) -> _Lease | None:
    """A connection fresh from the pool with its liveness probe, or ``None`` if the
    connection looks dead (checked without a round trip)."""
    if conn.closed:
        return None
    try:
        readable = _probe(conn.pgconn.socket)
        if readable(0):
            return None
    except (OSError, ValueError, psycopg.Error):
        return None
    return conn, readable, monotonic() + LEASE


def _probe(fd: int) -> _Readable:
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return poller.poll

    def readable(timeout: int) -> list[Any]:  # pragma: no cover - platforms without poll()
        return select.select([fd], [], [], timeout)[0]

    return readable  # pragma: no cover


def _raise_unless_repeatable(error: psycopg.Error, conn: Conn, *, safe: bool, context: str) -> None:
    """Raise the caller's error for ``error``, unless the connection broke under a
    statement that is ``safe`` to repeat on another."""
    if not is_broken_connection(error, conn):
        raise translate(error, context=context) from None
    if not safe:
        raise _unknown_outcome(error, context) from None


def _unknown_outcome(error: psycopg.Error, context: str) -> errors.TenantkitError:
    translated = translate(error, context=context)
    if isinstance(translated, errors.ConnectionFailed):
        return errors.OutcomeUnknown(
            f"{translated.message}; the write may or may not have been applied",
            provider=PROVIDER,
            code=translated.code,
        )
    return translated
