"""Multipart uploads: parts of bounded size, sent a few at once, each retried on its
own, the upload aborted on any failure."""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tenantkit import RetryPolicy, TenantStorage
from tenantkit.errors import ProviderError, ProviderUnavailable
from tenantkit_store_s3.store import MIN_PART_SIZE, S3Store
from testharness.aws_faults import AwsFaults

PART = MIN_PART_SIZE


def _uploads(s3: Any, bucket: str) -> list[Any]:
    return list(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def _chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


class PartSizes:
    """Records every part the store sends (before botocore serializes it), in the
    order sent: parts go a few at once, so tests compare them sorted."""

    def __init__(self, store: S3Store) -> None:
        self.sizes: list[int] = []
        self.numbers: list[int] = []
        store._client.meta.events.register("before-parameter-build.s3.UploadPart", self._seen)

    def _seen(self, params: dict[str, Any], **_: Any) -> None:
        self.sizes.append(len(params["Body"]))
        self.numbers.append(params["PartNumber"])


def test_a_stream_goes_in_parts_of_the_configured_size(
    store: S3Store, scoped: Callable[..., TenantStorage], s3: Any, bucket: str
) -> None:
    body = os.urandom(2 * PART + 4321)
    parts = PartSizes(store)
    info = scoped(store).put("big.bin", _chunks(body), content_type="application/x-test")
    assert sorted(parts.sizes) == [4321, PART, PART]
    assert info.size == len(body)
    assert info.etag is not None
    assert info.etag.endswith("-3")
    assert scoped(store).get("big.bin") == body
    assert scoped(store).head("big.bin").content_type == "application/x-test"
    assert _uploads(s3, bucket) == []


def test_large_bytes_go_in_parts_and_small_streams_in_one_request(
    store: S3Store, scoped: Callable[..., TenantStorage]
) -> None:
    parts = PartSizes(store)
    body = os.urandom(PART + 1)
    scoped(store).put("bytes.bin", body)
    assert sorted(parts.sizes) == [1, PART]
    scoped(store).put("small.bin", _chunks(os.urandom(PART - 1)))
    assert len(parts.sizes) == 2
    assert scoped(store).get("bytes.bin") == body


def test_a_body_that_fails_midway_aborts_the_upload(
    tenant_store: TenantStorage, s3: Any, bucket: str
) -> None:
    def broken() -> Iterator[bytes]:
        yield from _chunks(os.urandom(2 * PART + 10))
        raise OSError("the client went away")

    with pytest.raises(ProviderError, match="the client went away"):
        tenant_store.put("broken.bin", broken())
    assert _uploads(s3, bucket) == []
    assert not tenant_store.exists("broken.bin")


def test_a_part_that_keeps_failing_aborts_the_upload(
    store: S3Store,
    scoped: Callable[..., TenantStorage],
    aws_faults: AwsFaults,
    s3: Any,
    bucket: str,
) -> None:
    fault = aws_faults.fail(store._client, "UploadPart", status=500, code="InternalError")
    parts = PartSizes(store)
    with pytest.raises(ProviderUnavailable) as caught:
        scoped(store).put("x.bin", _chunks(os.urandom(2 * PART)))
    assert caught.value.retryable
    # Each part was tried under the retry policy's four attempts at most, and the
    # wrapper did not start the upload again.
    assert max(Counter(parts.numbers).values()) <= 4
    assert fault.calls == len(parts.numbers) <= 8
    assert _uploads(s3, bucket) == []


def test_a_failed_completion_aborts_the_upload(
    store: S3Store,
    scoped: Callable[..., TenantStorage],
    aws_faults: AwsFaults,
    s3: Any,
    bucket: str,
) -> None:
    aws_faults.fail(store._client, "CompleteMultipartUpload", status=400, code="InvalidPart")
    with pytest.raises(ProviderError, match="InvalidPart"):
        scoped(store).put("x.bin", os.urandom(PART + 1))
    assert _uploads(s3, bucket) == []


def test_a_part_that_fails_once_is_retried_alone(
    make_store: Callable[..., S3Store],
    scoped: Callable[..., TenantStorage],
    aws_faults: AwsFaults,
) -> None:
    waits: list[float] = []
    store = make_store(retry=RetryPolicy(max_attempts=3, sleep=waits.append))
    parts = PartSizes(store)
    fault = aws_faults.fail(store._client, "UploadPart", status=503, code="SlowDown", times=1)
    body = os.urandom(2 * PART + 1)
    scoped(store).put("retried.bin", _chunks(body))
    assert fault.calls == 1
    assert len(waits) == 1
    # Three parts (PART, PART, 1 byte): whichever met the fault went twice, the others once.
    assert sorted(Counter(parts.numbers).values()) == [1, 1, 2]
    assert set(parts.sizes) == {PART, 1}
    assert scoped(store).get("retried.bin") == body


def test_an_abort_that_fails_is_logged_and_the_first_error_kept(
    store: S3Store,
    scoped: Callable[..., TenantStorage],
    aws_faults: AwsFaults,
    caplog: pytest.LogCaptureFixture,
    s3: Any,
    bucket: str,
) -> None:
    aws_faults.fail(store._client, "UploadPart", status=400, code="EntityTooLarge")
    aws_faults.fail(store._client, "AbortMultipartUpload", status=500, code="InternalError")
    caplog.set_level(logging.WARNING, logger="tenantkit_store_s3")
    with pytest.raises(ProviderError, match="EntityTooLarge"):
        scoped(store).put("x.bin", os.urandom(PART + 1))
    assert "could not abort multipart upload of acme/x.bin" in caplog.text
    for upload in _uploads(s3, bucket):
        s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
