"""Failures map into tenantkit's taxonomy, typed, retryable where they are, and free of
credentials."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from psycopg import sql

from tenantkit import errors
from tenantkit.retry import NO_RETRY
from tenantkit_db_postgres._errors import translate

if TYPE_CHECKING:
    from testharness.postgres import PostgresServer

    from .conftest import MakeDatabase, Scope

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def role(admin: psycopg.Connection[Any], schema_name: str) -> Iterator[str]:
    """A login role (trusted over TCP) with the privileges the README lists for the
    application, on a schema whose tables the owner has already created."""
    name = f"app_{secrets.token_hex(4)}"
    ident, schema = sql.Identifier(name), sql.Identifier(schema_name)
    admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
    admin.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, ident))
    admin.execute(
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT, INSERT, UPDATE, DELETE"
            " ON TABLES TO {}"
        ).format(schema, ident)
    )
    yield name
    admin.execute(sql.SQL("DROP OWNED BY {}").format(ident))
    admin.execute(sql.SQL("DROP ROLE {}").format(ident))


def test_a_wrong_password_is_an_authentication_error_without_the_password(
    make_db: MakeDatabase,
    scope: Scope,
    postgres_server: PostgresServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    planted = "planted-Secret-" + secrets.token_hex(8)
    caplog.set_level(logging.DEBUG)
    db = make_db(
        dsn=None,
        host=postgres_server.host,
        port=postgres_server.port,
        dbname="tenantkit_postgres_tests",
        user=postgres_server.password_user,
        password=planted,
    )
    with pytest.raises(errors.AuthenticationError) as caught:
        scope(db, retry=NO_RETRY).get("notes", "p")
    error = caught.value
    assert not error.retryable
    assert error.provider == "postgres"
    for text in (str(error), repr(error), error.message, repr(db), caplog.text):
        assert planted not in text
    assert "rejected the login" in str(error)

    again = make_db(
        dsn=None,
        host=postgres_server.host,
        port=postgres_server.port,
        dbname="tenantkit_postgres_tests",
        user=postgres_server.password_user,
        password=postgres_server.password,
    )
    with pytest.raises(errors.PermissionDenied):  # logged in; no rights on the schema
        scope(again, retry=NO_RETRY).get("notes", "p")


def test_a_password_in_a_dsn_stays_out_of_errors(
    make_db: MakeDatabase, scope: Scope, postgres_server: PostgresServer
) -> None:
    planted = "dsn-Secret-" + secrets.token_hex(8)
    dsn = postgres_server.dsn_for(
        "tenantkit_postgres_tests", postgres_server.password_user, planted
    )
    db = make_db(dsn=dsn)
    with pytest.raises(errors.AuthenticationError) as caught:
        scope(db, retry=NO_RETRY).put("notes", {"pk": "p"})
    assert planted not in str(caught.value)
    assert planted not in repr(db._settings)


def test_an_unknown_database_is_a_configuration_error(
    make_db: MakeDatabase, scope: Scope, postgres_server: PostgresServer
) -> None:
    db = make_db(dsn=postgres_server.dsn_for("no_such_database"))
    with pytest.raises(errors.ConfigurationError, match="unknown database 'no_such_database'"):
        scope(db, retry=NO_RETRY).get("notes", "p")


def test_an_unknown_schema_is_a_configuration_error(make_db: MakeDatabase, scope: Scope) -> None:
    db = make_db(schema_name="no_such_schema")
    with pytest.raises(errors.ConfigurationError, match="no_such_schema"):
        scope(db, retry=NO_RETRY).get("notes", "p")


def test_too_many_connections_is_retryable_throttling(
    make_db: MakeDatabase,
    scope: Scope,
    postgres_server: PostgresServer,
    admin: psycopg.Connection[Any],
    role: str,
) -> None:
    admin.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT 0").format(sql.Identifier(role)))
    db = make_db(dsn=postgres_server.dsn_for("tenantkit_postgres_tests", role))
    with pytest.raises(errors.Throttled) as caught:
        scope(db, retry=NO_RETRY).get("notes", "p")
    assert caught.value.retryable


def test_the_documented_privileges_are_enough_once_the_schema_exists(
    make_db: MakeDatabase, scope: Scope, postgres_server: PostgresServer, role: str
) -> None:
    make_db().ensure_schema(make_db()._context.schema)  # by the schema's owner
    app = scope(make_db(dsn=postgres_server.dsn_for("tenantkit_postgres_tests", role)))
    app.put("notes", {"pk": "p", "n": 1, "owner": "bob", "created": "1"})
    assert app.update("notes", "p", increment={"n": 1}).data["n"] == 2
    assert [i.pk for i in app.query_index("notes", "by_owner", "bob").items] == ["p"]
    assert app.delete("notes", "p") is True


def test_creating_tables_without_the_right_is_permission_denied(
    make_db: MakeDatabase, scope: Scope, postgres_server: PostgresServer, role: str
) -> None:
    app = scope(make_db(dsn=postgres_server.dsn_for("tenantkit_postgres_tests", role)))
    with pytest.raises(errors.PermissionDenied, match="permission denied"):
        app.get("notes", "p")


def _lock_table(admin: psycopg.Connection[Any], schema_name: str) -> None:
    admin.execute(
        sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
            sql.Identifier(schema_name, "tenantkit_items")
        )
    )


def test_lock_and_statement_timeouts_are_retryable_timeouts(
    make_db: MakeDatabase, scope: Scope, admin: psycopg.Connection[Any], schema_name: str
) -> None:
    locking = scope(make_db(lock_timeout=0.2), retry=NO_RETRY)
    slow = scope(make_db(statement_timeout=0.2), retry=NO_RETRY)
    locking.put("notes", {"pk": "p"})
    slow.get("notes", "p")
    with admin.transaction():
        _lock_table(admin, schema_name)
        with pytest.raises(errors.Timeout, match="lock") as lock_wait:
            locking.update("notes", "p", set={"a": 1})
        with pytest.raises(errors.Timeout, match="canceled") as statement:
            slow.get("notes", "p")
    assert lock_wait.value.code == "55P03"
    assert statement.value.code == "57014"
    assert lock_wait.value.retryable
    assert statement.value.retryable


def _wait_for_lock_waiter(admin: psycopg.Connection[Any]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tenantkit'"
            " AND wait_event_type = 'Lock'"
        ).fetchone()
        if row is not None and row[0]:
            return
        time.sleep(0.02)
    raise AssertionError("the call never waited for the lock")


def test_an_exhausted_pool_is_a_timeout(
    make_db: MakeDatabase, scope: Scope, admin: psycopg.Connection[Any], schema_name: str
) -> None:
    tenant = scope(make_db(pool_size=1, connect_timeout=0.5), retry=NO_RETRY)
    tenant.put("notes", {"pk": "p"})
    blocked = threading.Thread(target=lambda: tenant.get("notes", "p"))
    with admin.transaction():
        _lock_table(admin, schema_name)
        blocked.start()
        _wait_for_lock_waiter(admin)  # the only connection now waits for the lock
        with pytest.raises(errors.Timeout, match="no database connection"):
            tenant.get("notes", "p")
    blocked.join(10)


def test_serialization_failures_and_deadlocks_are_retryable(pg_dsn: str) -> None:
    with (
        psycopg.connect(pg_dsn) as one,
        psycopg.connect(pg_dsn) as two,
        psycopg.connect(pg_dsn, autocommit=True) as setup,
    ):
        setup.execute("DROP TABLE IF EXISTS public.race")
        setup.execute("CREATE TABLE public.race (id int PRIMARY KEY, v int)")
        setup.execute("INSERT INTO public.race VALUES (1, 0), (2, 0)")
        one.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        two.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        one.execute("SELECT sum(v) FROM public.race")
        two.execute("SELECT sum(v) FROM public.race")
        one.execute("UPDATE public.race SET v = 1 WHERE id = 1")
        two.execute("UPDATE public.race SET v = 1 WHERE id = 2")
        one.commit()
        with pytest.raises(psycopg.errors.SerializationFailure) as caught:
            two.commit()
        two.rollback()
        setup.execute("DROP TABLE public.race")
    error = translate(caught.value)
    assert isinstance(error, errors.ProviderUnavailable)
    assert error.retryable
    assert error.code == "40001"


def test_unique_violations_from_concurrent_writes_are_retryable(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE u (id int PRIMARY KEY)")
        conn.execute("INSERT INTO u VALUES (1)")
        with pytest.raises(psycopg.errors.UniqueViolation) as caught:
            conn.execute("INSERT INTO u VALUES (1)")
    error = translate(caught.value)
    assert error.retryable
    assert error.code == "23505"


def test_a_server_that_is_not_there_is_a_retryable_connection_failure(
    make_db: MakeDatabase, scope: Scope
) -> None:
    from testharness._ports import free_port

    db = make_db(dsn=f"host=127.0.0.1 port={free_port()} dbname=x user=postgres")
    with pytest.raises(errors.ConnectionFailed) as caught:
        scope(db, retry=NO_RETRY).get("notes", "p")
    assert caught.value.retryable
