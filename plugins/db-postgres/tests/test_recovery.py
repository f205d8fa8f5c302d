"""Broken connections are recovered without the application seeing an error.

A pooled connection the server has cut is discarded before use; a connection cut
under a statement is replaced and the statement repeated once, only when repeating
it is safe. The wrappers here never retry (``NO_RETRY``), so what passes is the
provider's own recovery.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from psycopg import sql

from tenantkit import IfAbsent, IfVersion, Key, TxPut, TxUpdate, errors
from tenantkit.retry import NO_RETRY, RetryPolicy

if TYPE_CHECKING:
    from testharness.postgres import PostgresServer

    from .conftest import MakeDatabase, Scope

pytestmark = pytest.mark.timeout(60)


def _backends(admin: psycopg.Connection[Any]) -> list[int]:
    rows = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'tenantkit'"
        " AND datname = current_database() ORDER BY pid"
    ).fetchall()
    return [pid for (pid,) in rows]


def _terminate(admin: psycopg.Connection[Any], pids: list[int]) -> None:
    for pid in pids:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


def _wait_for_lock_waiter(admin: psycopg.Connection[Any]) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        row = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'tenantkit'"
            " AND wait_event_type = 'Lock'"
        ).fetchone()
        if row is not None:
            return int(row[0])
        time.sleep(0.02)
    raise AssertionError("the call never waited for the lock")


def test_connections_killed_while_pooled_are_replaced_before_use(
    make_db: MakeDatabase, scope: Scope, admin: psycopg.Connection[Any]
) -> None:
    db = make_db(pool_size=2)
    tenant = scope(db, retry=NO_RETRY)
    first = tenant.put("notes", {"pk": "p", "n": 1})
    before = _backends(admin)
    assert len(before) == 1

    _terminate(admin, before)
    # Not safe to repeat, and still fine: the dead connection is never used.
    second = tenant.put("notes", {"pk": "p", "n": 2}, condition=IfVersion(version=first.version))
    assert tenant.update("notes", "p", increment={"n": 1}).data == {"n": 3}
    tenant.transact_write([TxUpdate(collection="notes", key=Key(pk="p"), increment={"n": 1})])
    assert tenant.get("notes", "p").data == {"n": 4}  # type: ignore[union-attr]
    assert second.version != first.version
    after = _backends(admin)
    assert 1 <= len(after) <= 2  # the pool may also have replaced the dead one
    assert not set(after) & set(before)


def test_a_read_cut_mid_statement_is_repeated_on_a_fresh_connection(
    make_db: MakeDatabase, scope: Scope, admin: psycopg.Connection[Any], schema_name: str
) -> None:
    tenant = scope(make_db(), retry=NO_RETRY)
    tenant.put("notes", {"pk": "p", "text": "still here"})
    outcome: dict[str, Any] = {}

    def read() -> None:
        try:
            outcome["item"] = tenant.get("notes", "p")
        except Exception as exc:  # reported below
            outcome["error"] = exc

    with admin.transaction():
        admin.execute(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                sql.Identifier(schema_name, "tenantkit_items")
            )
        )
        reader = threading.Thread(target=read)
        reader.start()
        victim = _wait_for_lock_waiter(admin)
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (victim,))
        time.sleep(0.2)  # the repeated read waits for the lock too
    reader.join(10)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["item"].data == {"text": "still here"}
    assert victim not in _backends(admin)


def test_a_write_cut_mid_statement_is_not_repeated(
    make_db: MakeDatabase, scope: Scope, admin: psycopg.Connection[Any], schema_name: str
) -> None:
    tenant = scope(make_db(), retry=NO_RETRY)
    tenant.get("notes", "warm-up")
    outcome: dict[str, Any] = {}

    def write() -> None:
        try:
            outcome["item"] = tenant.put("notes", {"pk": "p"}, condition=IfAbsent())
        except Exception as exc:  # reported below
            outcome["error"] = exc

    with admin.transaction():
        admin.execute(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                sql.Identifier(schema_name, "tenantkit_items")
            )
        )
        writer = threading.Thread(target=write)
        writer.start()
        victim = _wait_for_lock_waiter(admin)
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (victim,))
        writer.join(10)
    error = outcome.get("error")
    assert isinstance(error, errors.OutcomeUnknown), outcome
    assert not error.retryable  # a caller must not repeat it blindly
    assert "may or may not have been applied" in str(error)
    assert tenant.get("notes", "p") is None  # it never ran: the lock held it back
    assert tenant.put("notes", {"pk": "p"}, condition=IfAbsent()).pk == "p"


# --- outcome unknown: the core repeats only what is idempotent -------------------------

_RETRYING = RetryPolicy(max_attempts=4, initial_delay=0.0, sleep=lambda _: None)


def _cut_after_sending(
    admin: psycopg.Connection[Any], schema_name: str, call: Callable[[], Any]
) -> tuple[dict[str, Any], int]:
    """Run ``call`` while its table is locked, terminate the connection its statement
    was sent on, then release the lock once the call has either failed or sent its
    statement again on another connection. Returns the outcome and the number of
    times the statement was seen waiting."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = call()
        except Exception as exc:  # reported to the test
            outcome["error"] = exc

    with admin.transaction():
        admin.execute(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                sql.Identifier(schema_name, "tenantkit_items")
            )
        )
        worker = threading.Thread(target=run)
        worker.start()
        victim = _wait_for_lock_waiter(admin)
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (victim,))
        waits = 1
        deadline = time.monotonic() + 10
        while worker.is_alive() and time.monotonic() < deadline:
            admin.execute("SELECT pg_stat_clear_snapshot()")  # the view is cached per transaction
            row = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'tenantkit'"
                " AND wait_event_type = 'Lock' AND pid <> %s",
                (victim,),
            ).fetchone()
            if row is not None:
                waits += 1  # sent again, on a fresh connection: let it through
                break
            time.sleep(0.02)
    worker.join(10)
    assert not worker.is_alive()
    return outcome, waits


@pytest.mark.parametrize("write", ["increment", "conditional_put", "conditional_update"])
def test_an_unknown_outcome_is_not_repeated_for_a_call_that_is_not_idempotent(
    make_db: MakeDatabase,
    scope: Scope,
    admin: psycopg.Connection[Any],
    schema_name: str,
    write: str,
) -> None:
    tenant = scope(make_db(), retry=_RETRYING)
    first = tenant.put("notes", {"pk": "c", "n": 1})
    calls: dict[str, Callable[[], Any]] = {
        "increment": lambda: tenant.update("notes", "c", increment={"n": 1}),
        "conditional_put": lambda: tenant.put("notes", {"pk": "new"}, condition=IfAbsent()),
        "conditional_update": lambda: tenant.update(
            "notes", "c", set={"n": 5}, condition=IfVersion(version=first.version)
        ),
    }
    outcome, waits = _cut_after_sending(admin, schema_name, calls[write])
    assert isinstance(outcome.get("error"), errors.OutcomeUnknown), outcome
    assert waits == 1  # sent once, never again
    assert tenant.get("notes", "c").data == {"n": 1}  # type: ignore[union-attr]
    assert tenant.get("notes", "new") is None


@pytest.mark.parametrize("write", ["put", "set", "delete", "batch_put"])
def test_an_unknown_outcome_is_repeated_for_an_idempotent_call(
    make_db: MakeDatabase,
    scope: Scope,
    admin: psycopg.Connection[Any],
    schema_name: str,
    write: str,
) -> None:
    tenant = scope(make_db(), retry=_RETRYING)
    tenant.put("notes", {"pk": "i", "n": 1})
    calls: dict[str, Callable[[], Any]] = {
        "put": lambda: tenant.put("notes", {"pk": "i", "n": 7}),
        "set": lambda: tenant.update("notes", "i", set={"n": 7}),
        "delete": lambda: tenant.delete("notes", "i"),
        "batch_put": lambda: tenant.batch_put("notes", [{"pk": "i", "n": 7}]),
    }
    outcome, waits = _cut_after_sending(admin, schema_name, calls[write])
    assert "error" not in outcome, outcome.get("error")
    assert waits == 2  # cut once, sent again by the core's retry
    after = tenant.get("notes", "i")
    assert (after.data if after else None) == (None if write == "delete" else {"n": 7})


def test_a_transaction_cut_before_its_commit_is_repeated_it_was_rolled_back(
    make_db: MakeDatabase, scope: Scope, admin: psycopg.Connection[Any], schema_name: str
) -> None:
    tenant = scope(make_db(), retry=NO_RETRY)
    tenant.put("notes", {"pk": "c", "n": 1})
    outcome, waits = _cut_after_sending(
        admin,
        schema_name,
        lambda: tenant.transact_write(
            [TxUpdate(collection="notes", key=Key(pk="c"), increment={"n": 1})]
        ),
    )
    assert "error" not in outcome, outcome.get("error")
    assert waits == 2  # repeated by the provider: nothing of it had been applied
    assert tenant.get("notes", "c").data == {"n": 2}  # type: ignore[union-attr]


def test_without_retries_the_idempotent_write_reports_the_unknown_outcome(
    make_db: MakeDatabase, scope: Scope, admin: psycopg.Connection[Any], schema_name: str
) -> None:
    tenant = scope(make_db(), retry=NO_RETRY)
    tenant.get("notes", "warm-up")
    outcome, waits = _cut_after_sending(
        admin, schema_name, lambda: tenant.put("notes", {"pk": "p", "n": 1})
    )
    assert isinstance(outcome.get("error"), errors.OutcomeUnknown), outcome
    assert waits == 1


def test_the_next_call_after_a_server_restart_succeeds(
    make_db: MakeDatabase,
    scope: Scope,
    postgres_server: PostgresServer,
    admin: psycopg.Connection[Any],
) -> None:
    tenant = scope(make_db(pool_size=2), retry=NO_RETRY)
    tenant.put("notes", {"pk": "p", "n": 1})
    tenant.get("notes", "p")
    assert len(_backends(admin)) == 1
    admin.close()  # the restart cuts it too

    postgres_server.restart()

    assert tenant.get("notes", "p").data == {"n": 1}  # type: ignore[union-attr]
    tenant.put("notes", {"pk": "q"}, condition=IfAbsent())
    tenant.transact_write([TxPut(collection="notes", item={"pk": "r"}, condition=IfAbsent())])
    assert [i.pk for i in tenant.batch_get("notes", [("p", ""), ("q", ""), ("r", "")])] == [
        "p",
        "q",
        "r",
    ]
