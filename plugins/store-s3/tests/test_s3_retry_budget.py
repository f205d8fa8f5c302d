"""Attempts under sustained throttling: one put makes at most the policy's attempts per
request, starts one multipart upload, and gives up within the policy's deadline.

Throttling is injected with S3's documented error (HTTP 503, ``SlowDown``,
https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tenantkit import RetryPolicy, TenantStorage
from tenantkit.errors import Throttled
from tenantkit_store_s3.store import MIN_PART_SIZE, S3Store
from testharness.aws_faults import AwsFaults
from testharness.clock import FakeClock

PART = MIN_PART_SIZE


class Requests:
    """Counts the requests of some operations, and the attempts at each part."""

    def __init__(self, store: S3Store, *operations: str) -> None:
        self.calls: Counter[str] = Counter()
        self.parts: Counter[int] = Counter()
        for operation in operations:
            store._client.meta.events.register(
                f"before-parameter-build.s3.{operation}", self._seen(operation)
            )

    def _seen(self, operation: str) -> Callable[..., None]:
        def seen(params: dict[str, Any], **_: Any) -> None:
            self.calls[operation] += 1
            if "PartNumber" in params:
                self.parts[params["PartNumber"]] += 1

        return seen


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _setup(
    make_store: Callable[..., S3Store],
    scoped: Callable[..., TenantStorage],
    policy: RetryPolicy,
    **options: Any,
) -> tuple[S3Store, TenantStorage, Requests]:
    store = make_store(retry=policy, **options)  # the resolver hands both one policy
    counted = Requests(store, "CreateMultipartUpload", "UploadPart", "PutObject")
    return store, scoped(store, retry=policy), counted


@pytest.mark.parametrize("body", ["bytes", "stream"])
def test_a_multipart_put_starts_one_upload_and_tries_each_part_at_most_max_attempts(
    make_store: Callable[..., S3Store],
    scoped: Callable[..., TenantStorage],
    aws_faults: AwsFaults,
    clock: FakeClock,
    s3: Any,
    bucket: str,
    body: str,
) -> None:
    policy = RetryPolicy(max_attempts=4, sleep=clock.sleep, clock=clock)
    store, tenant, counted = _setup(make_store, scoped, policy, max_concurrency=1)
    aws_faults.fail(store._client, "UploadPart", status=503, code="SlowDown")
    data = os.urandom(4 * PART)
    chunks = (data[i : i + 65536] for i in range(0, len(data), 65536))
    with pytest.raises(Throttled) as caught:
        tenant.put("big.bin", data if body == "bytes" else chunks)
    assert caught.value.retryable
    # Was 16 UploadPart calls and 4 multipart uploads for the bytes body.
    assert counted.calls["CreateMultipartUpload"] == 1
    assert counted.calls["UploadPart"] == 4
    assert clock.elapsed <= policy.max_total
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []  # aborted


def test_parts_in_flight_each_keep_to_the_policys_attempts(
    make_store: Callable[..., S3Store],
    scoped: Callable[..., TenantStorage],
    aws_faults: AwsFaults,
    clock: FakeClock,
) -> None:
    policy = RetryPolicy(max_attempts=4, sleep=clock.sleep, clock=clock)
    store, tenant, counted = _setup(make_store, scoped, policy, max_concurrency=4)
    aws_faults.fail(store._client, "UploadPart", status=503, code="SlowDown")
    with pytest.raises(Throttled):
        tenant.put("big.bin", os.urandom(4 * PART))
    assert counted.calls["CreateMultipartUpload"] == 1
    assert max(counted.parts.values()) <= policy.max_attempts
    assert sum(counted.parts.values()) <= 4 * policy.max_attempts


def test_a_single_put_makes_the_policys_attempts(
    make_store: Callable[..., S3Store],
    scoped: Callable[..., TenantStorage],
    aws_faults: AwsFaults,
    clock: FakeClock,
) -> None:
    policy = RetryPolicy(max_attempts=4, sleep=clock.sleep, clock=clock)
    store, tenant, counted = _setup(make_store, scoped, policy)
    aws_faults.fail(store._client, "PutObject", status=503, code="SlowDown")
    with pytest.raises(Throttled):
        tenant.put("small.bin", b"x" * 100)
    assert counted.calls["PutObject"] == 4


def test_retry_after_is_honoured_and_the_deadline_kept(
    make_store: Callable[..., S3Store],
    scoped: Callable[..., TenantStorage],
    aws_faults: AwsFaults,
    clock: FakeClock,
) -> None:
    policy = RetryPolicy(max_attempts=10, max_total=7.0, sleep=clock.sleep, clock=clock)
    store, tenant, counted = _setup(make_store, scoped, policy, max_concurrency=1)
    aws_faults.fail(
        store._client, "UploadPart", status=503, code="SlowDown", headers={"Retry-After": "3"}
    )
    with pytest.raises(Throttled) as caught:
        tenant.put("big.bin", os.urandom(2 * PART))
    assert caught.value.retry_after == 3.0
    assert len(clock.slept) == 2
    assert all(wait >= 3.0 for wait in clock.slept)
    assert counted.calls["UploadPart"] == 3  # at 0, 3 and 6 s; 9 s is past the budget
    assert clock.elapsed <= policy.max_total


def test_a_part_that_fails_for_a_while_is_retried_and_the_upload_completes(
    make_store: Callable[..., S3Store],
    scoped: Callable[..., TenantStorage],
    aws_faults: AwsFaults,
    clock: FakeClock,
) -> None:
    policy = RetryPolicy(max_attempts=4, sleep=clock.sleep, clock=clock)
    store, tenant, counted = _setup(make_store, scoped, policy)
    aws_faults.fail(store._client, "UploadPart", status=503, code="SlowDown", times=3)
    data = os.urandom(3 * PART + 7)
    info = tenant.put("big.bin", iter([data]))
    assert info.size == len(data)
    assert tenant.get("big.bin") == data
    assert counted.calls["CreateMultipartUpload"] == 1
    assert counted.calls["UploadPart"] == 4 + 3
