"""psycopg and pool errors translated into tenantkit's taxonomy.

Server errors are classified by SQLSTATE. Connection failures carry no SQLSTATE
(libpq reports them as text), so those fall back to the server's message, the last
resort the taxonomy allows. Authentication failures get a fixed message: nothing
the server or libpq said about a login reaches the caller.
"""

from __future__ import annotations

import re

import psycopg
import psycopg_pool

from tenantkit import errors

PROVIDER = "postgres"

# SQLSTATEs that mean the statement did not run and the session is gone.
_SESSION_ENDED = frozenset({"57P01", "57P02", "57P03"})

_RETRYABLE_CONFLICT = {
    "40001": "serialization failure",
    "40P01": "deadlock detected",
    "23505": "unique violation from a concurrent write",
}

_AUTH_TEXT = re.compile(
    r"password authentication failed|authentication failed|no password supplied"
    r"|role \"[^\"]*\" does not exist|SCRAM|password must be",
    re.IGNORECASE,
)
_UNKNOWN_DATABASE = re.compile(r"database \"(?P<name>[^\"]*)\" does not exist")
_TOO_MANY = re.compile(
    r"too many connections|sorry, too many clients|remaining connection slots are reserved",
    re.IGNORECASE,
)
_STARTING = re.compile(
    r"the database system is (starting up|shutting down|in recovery mode|not yet accepting)",
    re.IGNORECASE,
)


def is_broken_connection(exc: BaseException, conn: psycopg.Connection[object] | None) -> bool:
    """Whether ``exc`` means the connection died (as opposed to the statement failing)."""
    if conn is not None and (conn.broken or conn.closed):
        return True
    if isinstance(exc, psycopg.Error):
        state = exc.sqlstate
        if state is None:
            return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
        return state.startswith("08") or state in _SESSION_ENDED
    return False


def translate(exc: BaseException, *, context: str = "") -> errors.TenantkitError:
    """The tenantkit error for a psycopg, psycopg_pool or socket failure."""
    if isinstance(exc, errors.TenantkitError):
        return exc
    where = f"{context}: " if context else ""
    if isinstance(exc, psycopg_pool.PoolTimeout):
        return errors.Timeout(
            f"{where}no database connection became free in time", provider=PROVIDER
        )
    if isinstance(exc, psycopg_pool.TooManyRequests):
        return errors.Throttled(
            f"{where}too many requests waiting for a connection", provider=PROVIDER
        )
    if isinstance(exc, psycopg_pool.PoolClosed):
        return errors.ConnectionFailed(f"{where}the connection pool is closed", provider=PROVIDER)
    if not isinstance(exc, psycopg.Error):
        if isinstance(exc, OSError):
            return errors.ConnectionFailed(f"{where}{type(exc).__name__}", provider=PROVIDER)
        return errors.ProviderError(
            f"{where}unexpected {type(exc).__name__}: {exc}", provider=PROVIDER
        )
    state = exc.sqlstate
    if state is None:
        return _translate_text(exc, where)
    return _translate_state(exc, state, where)


def _server_text(exc: psycopg.Error) -> str:
    primary = exc.diag.message_primary
    return primary if primary else type(exc).__name__


def _translate_state(exc: psycopg.Error, state: str, where: str) -> errors.TenantkitError:
    text = _server_text(exc)
    group = state[:2]
    kind: type[errors.TenantkitError]
    if state in _RETRYABLE_CONFLICT:
        kind, message = errors.ProviderUnavailable, f"{_RETRYABLE_CONFLICT[state]}; retry it"
    elif state == "55P03":
        kind, message = errors.Timeout, f"lock wait timed out: {text}"
    elif state == "57014":
        kind, message = errors.Timeout, f"statement canceled: {text}"
    elif state == "53300":
        kind, message = errors.Throttled, f"too many connections: {text}"
    elif group in ("53", "58", "XX"):
        kind, message = errors.ProviderUnavailable, f"server failure: {text}"
    elif group == "08" or state in _SESSION_ENDED or state == "25P03":
        kind, message = errors.ConnectionFailed, f"connection lost: {text}"
    elif group == "28":
        kind, message = errors.AuthenticationError, "the database rejected the login"
    elif state == "42501":
        kind, message = errors.PermissionDenied, f"permission denied: {text}"
    elif state == "3D000":
        kind, message = errors.ConfigurationError, f"unknown database: {text}"
    elif state == "3F000":
        kind, message = errors.ConfigurationError, f"unknown schema: {text}"
    elif state == "42P01":
        kind, message = errors.ConfigurationError, f"{text}: run ensure_schema() first"
    elif state == "22P05" and "\\u0000" in (exc.diag.message_detail or ""):
        kind, message = errors.InvalidRequest, "JSON strings cannot contain NUL characters"
    elif group in ("22", "23") or state == "54000":
        kind, message = errors.InvalidRequest, text
    else:
        kind, message = errors.ProviderError, text
    return kind(f"{where}{message}", provider=PROVIDER, code=state)


def _translate_text(exc: psycopg.Error, where: str) -> errors.TenantkitError:
    text = str(exc)
    kind: type[errors.TenantkitError]
    if _AUTH_TEXT.search(text):
        kind = errors.AuthenticationError
        message = "the database rejected the login (check the user and password or IAM token)"
    elif "no pg_hba.conf entry" in text:
        kind = errors.PermissionDenied
        message = "the server does not accept this user from this host (pg_hba.conf)"
    elif match := _UNKNOWN_DATABASE.search(text):
        kind, message = errors.ConfigurationError, f"unknown database {match.group('name')!r}"
    elif _TOO_MANY.search(text):
        kind, message = errors.Throttled, "too many connections to the server"
    elif isinstance(exc, psycopg.DataError) and "NUL" in text:
        kind, message = errors.InvalidRequest, "PostgreSQL text cannot contain NUL characters"
    elif "timeout expired" in text:
        kind, message = errors.Timeout, "connecting to the database timed out"
    elif match := _STARTING.search(text):
        kind, message = errors.ConnectionFailed, match.group(0)
    elif isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        kind, message = errors.ConnectionFailed, f"connection failed: {_first_line(text)}"
    else:
        kind, message = errors.ProviderError, f"{type(exc).__name__}: {_first_line(text)}"
    return kind(f"{where}{message}", provider=PROVIDER)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
