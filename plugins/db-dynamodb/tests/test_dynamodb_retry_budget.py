"""Attempts under sustained throttling: one call makes at most the policy's attempts.

The batch loops retry each request with the deployment's policy (``context.retry``);
the tenant-scoped wrapper does not retry those calls again. Throttling is injected
with DynamoDB's documented error (HTTP 400, ``ProvisionedThroughputExceededException``,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenantkit import Key, RetryPolicy, TenantDatabase
from tenantkit.errors import Throttled
from tenantkit_db_dynamodb.database import DynamoDBDatabase
from testharness.aws_faults import AwsFaults, Fault
from testharness.clock import FakeClock

THROTTLED = "ProvisionedThroughputExceededException"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _policy(clock: FakeClock, **fields: float) -> RetryPolicy:
    values: dict[str, float] = {"max_attempts": 4, "initial_delay": 0.2, "max_total": 20.0}
    values.update(fields)
    return RetryPolicy(
        max_attempts=int(values["max_attempts"]),
        initial_delay=values["initial_delay"],
        max_total=values["max_total"],
        sleep=clock.sleep,
        clock=clock,
    )


def _tenant(
    make_database: Callable[..., DynamoDBDatabase],
    scoped: Callable[..., TenantDatabase],
    policy: RetryPolicy,
) -> tuple[DynamoDBDatabase, TenantDatabase]:
    # The resolver hands the provider and the wrapper the same policy.
    db = make_database(retry=policy)
    return db, scoped(db, retry=policy)


@pytest.mark.parametrize(
    ("operation", "call"),
    [
        (
            "BatchWriteItem",
            lambda t: t.batch_put("notes", [{"pk": f"k{i:03}"} for i in range(100)]),
        ),
        ("BatchGetItem", lambda t: t.batch_get("notes", [Key(pk=f"k{i}") for i in range(100)])),
        ("PutItem", lambda t: t.put("notes", {"pk": "one"})),
    ],
)
def test_one_call_makes_at_most_the_policys_attempts(
    make_database: Callable[..., DynamoDBDatabase],
    scoped: Callable[..., TenantDatabase],
    aws_faults: AwsFaults,
    clock: FakeClock,
    operation: str,
    call: Callable[[TenantDatabase], object],
) -> None:
    policy = _policy(clock)
    db, tenant = _tenant(make_database, scoped, policy)
    fault = aws_faults.fail(db._client, operation, status=400, code=THROTTLED)
    with pytest.raises(Throttled) as caught:
        call(tenant)
    assert caught.value.retryable
    assert caught.value.code == THROTTLED
    assert fault.calls == policy.max_attempts  # was 16 for either batch of 100 (4 x 4)
    assert clock.elapsed <= policy.max_total


def test_retry_after_is_honoured_and_the_deadline_kept(
    make_database: Callable[..., DynamoDBDatabase],
    scoped: Callable[..., TenantDatabase],
    aws_faults: AwsFaults,
    clock: FakeClock,
) -> None:
    policy = _policy(clock, max_attempts=10, max_total=7.0)
    db, tenant = _tenant(make_database, scoped, policy)
    fault = aws_faults.fail(
        db._client, "BatchWriteItem", status=400, code=THROTTLED, headers={"Retry-After": "3"}
    )
    with pytest.raises(Throttled) as caught:
        tenant.batch_put("notes", [{"pk": f"k{i:03}"} for i in range(60)])
    assert caught.value.retry_after == 3.0
    assert all(wait >= 3.0 for wait in clock.slept)
    # At 0, 3 and 6 s; a fourth attempt would start at 9 s, past the 7 s budget.
    assert fault.calls == 3
    assert clock.elapsed <= policy.max_total


def test_every_chunk_of_one_call_shares_the_deadline(
    make_database: Callable[..., DynamoDBDatabase],
    scoped: Callable[..., TenantDatabase],
    clock: FakeClock,
) -> None:
    policy = _policy(clock, max_attempts=3, max_total=5.0)
    db, tenant = _tenant(make_database, scoped, policy)
    throttled = Fault(400, THROTTLED, "slow down", "json", None, headers={"Retry-After": "1"})
    requests: list[int] = []

    def twice_then_through(request: Any, **_: Any) -> Any:
        requests.append(1)
        return None if len(requests) % 3 == 0 else throttled(request)

    db._client.meta.events.register_first("before-send.dynamodb.BatchWriteItem", twice_then_through)
    with pytest.raises(Throttled):
        tenant.batch_put("notes", [{"pk": f"k{i:03}"} for i in range(100)])
    # Each chunk of 25 needs three requests and 2 s of waiting; the four chunks share
    # one 5 s budget, so the call gives up in the third chunk instead of taking 8 s.
    assert len(requests) == 8
    assert clock.elapsed <= policy.max_total
