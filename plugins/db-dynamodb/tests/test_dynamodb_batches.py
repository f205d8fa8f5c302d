"""Batches that DynamoDB only partly processes, and transactions it cancels."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tenantkit import (
    IfExists,
    IfVersion,
    Key,
    RetryPolicy,
    TenantDatabase,
    TxCheck,
    TxDelete,
    TxPut,
    TxUpdate,
)
from tenantkit.errors import InvalidRequest, Throttled, TransactionCanceled
from tenantkit_db_dynamodb.database import DynamoDBDatabase
from testharness.aws_faults import AwsFaults, aws_response


class PartialBatches:
    """Makes DynamoDB process only part of each batch, as it does under load.

    Before a BatchWriteItem (or BatchGetItem) leaves, the last ``n`` requests (the
    plan's next entry) are held back; after the answer, they are reported as
    ``UnprocessedItems`` (``UnprocessedKeys``), exactly as DynamoDB reports them. When
    all are held back, the request is answered without reaching the server.
    """

    def __init__(self, db: DynamoDBDatabase, operation: str, plan: list[int]) -> None:
        self.table = db._table
        self.plan = plan
        self.calls = 0
        self.sent: list[int] = []
        self._held: list[Any] = []
        self._write = operation == "BatchWriteItem"
        events = db._client.meta.events
        events.register(f"before-parameter-build.dynamodb.{operation}", self._before)
        events.register(f"before-send.dynamodb.{operation}", self._send)
        events.register(f"after-call.dynamodb.{operation}", self._after)

    def _before(self, params: dict[str, Any], **_: Any) -> None:
        self.calls += 1
        hold = self.plan.pop(0) if self.plan else 0
        table = params["RequestItems"][self.table]
        requests = table if self._write else table["Keys"]
        kept, self._held = requests[: len(requests) - hold], requests[len(requests) - hold :]
        self.sent.append(len(kept))
        if kept:  # else the request is answered in _send, never reaching the server
            if self._write:
                params["RequestItems"][self.table] = kept
            else:
                table["Keys"] = kept

    def _send(self, request: Any, **_: Any) -> Any:
        if self.sent[-1]:
            return None
        answer = {"Responses": {self.table: []}} if not self._write else {}
        body = json.dumps(answer).encode()
        return aws_response(request.url, 200, body, {"content-type": "application/x-amz-json-1.0"})

    def _after(self, parsed: dict[str, Any], **_: Any) -> None:
        if not self._held:
            return
        if self._write:
            parsed.setdefault("UnprocessedItems", {})[self.table] = self._held
        else:
            parsed.setdefault("UnprocessedKeys", {})[self.table] = {"Keys": self._held}


def _stored_keys(moto_client: Any, table: str) -> set[str]:
    items = moto_client.scan(TableName=table)["Items"]
    return {item["_pk"]["S"] for item in items}


def test_unprocessed_items_are_retried_with_backoff_until_written(
    make_database: Callable[..., DynamoDBDatabase], raw_table: tuple[Any, str]
) -> None:
    waits: list[float] = []
    db = make_database(retry=RetryPolicy(max_attempts=5, initial_delay=0.01, sleep=waits.append))
    client = raw_table[0]
    partial = PartialBatches(db, "BatchWriteItem", [10, 4, 0, 3])
    db.batch_put("acme", "notes", [{"pk": f"k{i:02}", "i": i} for i in range(60)])
    # Chunks of 25, 25 and 10: the first took three requests, the second two.
    assert partial.sent == [15, 6, 4, 22, 3, 10]
    assert len(waits) == 3
    assert _stored_keys(client, db._table) == {f"acme#notes#k{i:02}" for i in range(60)}


def test_unprocessed_items_past_the_budget_raise_a_retryable_error(
    make_database: Callable[..., DynamoDBDatabase],
    scoped: Callable[..., TenantDatabase],
    raw_table: tuple[Any, str],
) -> None:
    db = make_database()
    PartialBatches(db, "BatchWriteItem", [1] * 100)
    with pytest.raises(Throttled, match="1 of 25 items unwritten") as caught:
        db.batch_put("acme", "notes", [{"pk": f"k{i:02}"} for i in range(25)])
    assert caught.value.retryable
    assert caught.value.code == "UnprocessedItems"
    # What was written stays; what was not is reported, never silently dropped.
    assert len(_stored_keys(raw_table[0], db._table)) == 24
    with pytest.raises(Throttled):
        scoped(db).batch_put("notes", [{"pk": "x"}, {"pk": "y"}])


def test_unprocessed_keys_are_retried(
    make_database: Callable[..., DynamoDBDatabase], scoped: Callable[..., TenantDatabase]
) -> None:
    db = make_database()
    tenant = scoped(db)
    tenant.batch_put("notes", [{"pk": f"k{i}", "i": i} for i in range(30)])
    partial = PartialBatches(db, "BatchGetItem", [20, 7])
    found = tenant.batch_get("notes", [Key(pk=f"k{i}") for i in range(30)])
    assert [item["i"] for item in found] == list(range(30))
    assert partial.sent == [10, 13, 7]


def test_a_batch_naming_one_key_twice_keeps_the_last_write(tenant_db: TenantDatabase) -> None:
    tenant_db.batch_put("notes", [{"pk": "a", "v": 1}, {"pk": "b"}, {"pk": "a", "v": 2}])
    assert tenant_db.get("notes", "a")["v"] == 2  # type: ignore[index]
    assert len(tenant_db.batch_get("notes", [("a", ""), ("a", ""), ("b", "")])) == 3


def test_transaction_applies_every_operation(tenant_db: TenantDatabase) -> None:
    kept = tenant_db.put("notes", {"pk": "kept", "n": 1})
    tenant_db.put("notes", {"pk": "gone"})
    tenant_db.transact_write(
        [
            TxPut(collection="notes", item={"pk": "new", "owner": "bob", "title": "t"}, ttl=3600),
            TxUpdate(
                collection="notes",
                key=Key(pk="kept"),
                increment={"n": 2},
                condition=IfVersion(version=kept.version),
            ),
            TxUpdate(collection="other", key=Key(pk="up"), set={"a": 1}, upsert=True),
            TxDelete(collection="notes", key=Key(pk="gone"), condition=IfExists()),
        ]
    )
    assert tenant_db.get("notes", "new").expires_at is not None  # type: ignore[union-attr]
    assert tenant_db.get("notes", "kept")["n"] == 3  # type: ignore[index]
    assert tenant_db.get("other", "up")["a"] == 1  # type: ignore[index]
    assert tenant_db.get("notes", "gone") is None
    assert [i.pk for i in tenant_db.query_index("notes", "by_owner", "bob").items] == ["new"]


def test_transaction_cancellation_reports_each_failed_operation(
    tenant_db: TenantDatabase,
) -> None:
    stale = tenant_db.put("notes", {"pk": "kept", "n": 1})
    tenant_db.put("notes", {"pk": "kept", "n": 2})
    tenant_db.put("notes", {"pk": "other"})
    ops = [
        TxPut(collection="notes", item={"pk": "new"}),
        TxUpdate(
            collection="notes",
            key=Key(pk="kept"),
            set={"n": 9},
            condition=IfVersion(version=stale.version),
        ),
        TxCheck(collection="notes", key=Key(pk="other"), condition=IfExists()),
        TxDelete(collection="notes", key=Key(pk="missing"), condition=IfExists()),
        TxUpdate(collection="notes", key=Key(pk="missing2"), set={"a": 1}),
    ]
    with pytest.raises(TransactionCanceled) as caught:
        tenant_db.transact_write(ops)
    error = caught.value
    assert error.reasons == [
        None,
        "ConditionalCheckFailed",
        None,
        "ConditionalCheckFailed",
        "ConditionalCheckFailed",
    ]
    assert error.failed_indexes == [1, 3, 4]
    assert not error.retryable
    assert "operation 1 (update in 'notes'): ConditionalCheckFailed" in error.message
    assert "operation 3 (delete in 'notes')" in error.message
    assert tenant_db.get("notes", "new") is None  # all or nothing
    assert tenant_db.get("notes", "kept")["n"] == 2  # type: ignore[index]


def test_a_transaction_canceled_by_throttling_is_retryable(
    database: DynamoDBDatabase, aws_faults: AwsFaults
) -> None:
    aws_faults.fail(
        database._client,
        "TransactWriteItems",
        status=400,
        code="TransactionCanceledException",
        message="Transaction cancelled, please refer cancellation reasons for specific reasons",
        extra={
            "CancellationReasons": [
                {"Code": "None"},
                {"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity"},
            ]
        },
    )
    with pytest.raises(Throttled, match=r"operation 1 .*ThrottlingError") as caught:
        database.transact_write(
            "acme",
            [
                TxPut(collection="notes", item={"pk": "a"}),
                TxPut(collection="notes", item={"pk": "b"}),
            ],
        )
    assert caught.value.retryable


def test_two_operations_on_one_item_are_an_invalid_request(tenant_db: TenantDatabase) -> None:
    with pytest.raises(InvalidRequest):
        tenant_db.transact_write(
            [
                TxPut(collection="notes", item={"pk": "a"}),
                TxDelete(collection="notes", key=Key(pk="a")),
            ]
        )
