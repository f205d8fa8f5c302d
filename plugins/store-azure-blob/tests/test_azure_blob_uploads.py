"""Block uploads on azurite: blocks in flight are bounded, a failed block is retried
alone under the core's policy (streams only), and a failure leaves the old object."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from tenantkit import RetryPolicy
from tenantkit.errors import ConditionFailed, Throttled
from tenantkit_store_azure_blob.store import AzureBlobStore

BLOCK = 64 * 1024


class Watch(httpx.BaseTransport):
    """Wraps the store's transport: counts Put Block requests in flight and can answer
    the first ones with the service's 503 ServerBusy."""

    def __init__(self, inner: httpx.BaseTransport, *, fail_blocks: int = 0) -> None:
        self.inner = inner
        self.fail_blocks = fail_blocks
        self.in_flight = 0
        self.most = 0
        self.blocks = 0
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.params.get("comp") != "block":
            return self.inner.handle_request(request)
        with self.lock:
            self.blocks += 1
            if self.fail_blocks:
                self.fail_blocks -= 1
                return httpx.Response(
                    503,
                    content=b"<Error><Code>ServerBusy</Code><Message>busy</Message></Error>",
                    headers={"x-ms-error-code": "ServerBusy"},
                )
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        try:
            return self.inner.handle_request(request)
        finally:
            with self.lock:
                self.in_flight -= 1


def _watched(store: AzureBlobStore, **options: int) -> Watch:
    client = store._http.client
    watch = Watch(client._transport, **options)
    client._transport = watch
    return watch


def _stream(size: int, piece: int = 10_000) -> Iterator[bytes]:
    sent = 0
    while sent < size:
        n = min(piece, size - sent)
        yield bytes((sent + i) % 251 for i in range(n))
        sent += n


def _expected(size: int) -> bytes:
    return bytes(i % 251 for i in range(size))


def test_blocks_in_flight_are_bounded(make_store: Callable[..., AzureBlobStore]) -> None:
    store = make_store(block_size=BLOCK, concurrency=3)
    watch = _watched(store)
    size = 20 * BLOCK + 123
    info = store.put("acme/big.bin", _stream(size), content_type="application/x-big")
    assert info.size == size
    assert watch.blocks == 21
    assert 1 <= watch.most <= 3
    assert store.get("acme/big.bin") == _expected(size)
    assert store.head("acme/big.bin").content_type == "application/x-big"


def test_a_failed_block_of_a_stream_is_retried_alone(
    make_store: Callable[..., AzureBlobStore],
) -> None:
    store = make_store(block_size=BLOCK, concurrency=2)
    watch = _watched(store, fail_blocks=2)
    size = 5 * BLOCK
    store.put("acme/retried.bin", _stream(size))
    assert watch.blocks == 5 + 2
    assert store.get("acme/retried.bin") == _expected(size)


def test_bytes_bodies_are_not_retried_per_block(
    make_store: Callable[..., AzureBlobStore],
) -> None:
    store = make_store(block_size=BLOCK)
    _watched(store, fail_blocks=1)
    with pytest.raises(Throttled):
        store.put("acme/bytes.bin", _expected(3 * BLOCK))  # the core retries the whole call


def test_a_failed_upload_leaves_the_old_object(
    make_store: Callable[..., AzureBlobStore],
) -> None:
    no_wait = RetryPolicy(max_attempts=2, initial_delay=0, max_delay=0, sleep=lambda _: None)
    store = make_store(block_size=BLOCK, retry=no_wait)
    store.put("acme/kept.bin", b"original")
    _watched(store, fail_blocks=100)
    with pytest.raises(Throttled):
        store.put("acme/kept.bin", _stream(4 * BLOCK))
    assert store.get("acme/kept.bin") == b"original"


def test_a_body_that_raises_leaves_the_old_object(
    make_store: Callable[..., AzureBlobStore],
) -> None:
    store = make_store(block_size=BLOCK)
    store.put("acme/kept.bin", b"original")

    def broken() -> Iterator[bytes]:
        yield b"x" * (3 * BLOCK)
        raise OSError("the upload source broke")

    with pytest.raises(OSError, match="source broke"):
        store.put("acme/kept.bin", broken())
    assert store.get("acme/kept.bin") == b"original"


def test_concurrent_uploads_to_one_key_do_not_mix_blocks(
    make_store: Callable[..., AzureBlobStore],
) -> None:
    store = make_store(block_size=BLOCK)
    bodies = [bytes([n]) * (4 * BLOCK) for n in (1, 2)]
    outcomes: list[object] = []

    def upload(body: bytes) -> None:
        try:
            outcomes.append(store.put("acme/race.bin", iter([body])).size)
        except ConditionFailed as exc:  # the other upload committed first
            outcomes.append(exc)

    threads = [threading.Thread(target=upload, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 4 * BLOCK in outcomes
    assert len(outcomes) == 2
    assert store.get("acme/race.bin") in bodies
