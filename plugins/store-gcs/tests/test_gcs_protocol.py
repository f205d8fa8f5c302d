"""The parts of the JSON API protocol fake-gcs-server does not exercise, with respx
answering in the documented formats: error mapping
(https://cloud.google.com/storage/docs/json_api/v1/status-codes), the resumable upload's
``308`` answers and status queries
(https://cloud.google.com/storage/docs/performing-resumable-uploads#chunked-upload,
https://cloud.google.com/storage/docs/performing-resumable-uploads#status-check), and
the rewrite loop on ``rewriteToken``
(https://cloud.google.com/storage/docs/json_api/v1/objects/rewrite)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from tenantkit import ProviderContext, RetryPolicy, TenantStorage
from tenantkit.cursors import CursorSigner
from tenantkit.errors import (
    ConditionFailed,
    ConfigurationError,
    InvalidRequest,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from tenantkit_store_gcs import GCSSettings
from tenantkit_store_gcs.store import CHUNK_GRANULE, GCSStore

from .conftest import ACCESS_TOKEN, FAST_RETRY, TOKEN_URL, ServiceAccountKey, token_answer

BASE = "https://storage.googleapis.com"
OBJECTS = f"{BASE}/storage/v1/b/acme-files/o"
UPLOAD = f"{BASE}/upload/storage/v1/b/acme-files/o"
SESSION = f"{UPLOAD}?uploadType=resumable&name=acme%2Fbig&upload_id=ADPycdtSESSION"


def _error(status: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"domain": "global", "reason": reason, "message": message}],
        }
    }


def _resource(name: str, size: int) -> dict[str, Any]:
    return {"kind": "storage#object", "name": name, "size": str(size), "etag": "CKih16GjycICEAE="}


@pytest.fixture
def api(service_account_key: ServiceAccountKey) -> Iterator[tuple[GCSStore, respx.MockRouter]]:
    settings = GCSSettings(bucket="acme-files", service_account_key=service_account_key.text)
    with respx.mock(assert_all_mocked=True) as router:
        router.post(TOKEN_URL).respond(200, json=token_answer())
        store = GCSStore(
            settings,
            ProviderContext(tenant_id="acme", provider="gcs", retry=FAST_RETRY),
            chunk_size=CHUNK_GRANULE,
        )
        yield store, router
        store.close()


def _scoped(store: GCSStore, retry: RetryPolicy = FAST_RETRY) -> TenantStorage:
    return TenantStorage(
        store,
        tenant_id="acme",
        provider="gcs",
        capabilities=frozenset(str(c) for c in store.capabilities),
        signer=CursorSigner(b"k" * 32),
        retry=retry,
    )


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason", "error", "retryable"),
    [
        (429, "rateLimitExceeded", RateLimited, True),
        (503, "backendError", ProviderUnavailable, True),
        (500, "internalError", ProviderUnavailable, True),
        (412, "conditionNotMet", ConditionFailed, False),
        (403, "forbidden", PermissionDenied, False),
        (416, "invalidRange", InvalidRequest, False),
    ],
)
def test_errors_map_to_the_taxonomy(
    api: tuple[GCSStore, respx.MockRouter],
    status: int,
    reason: str,
    error: type[ProviderError],
    retryable: bool,
) -> None:
    store, router = api
    router.get(f"{OBJECTS}/acme%2Fa.txt").respond(
        status,
        json=_error(status, reason, f"{reason} for {ACCESS_TOKEN[:6]}"),
        headers={"Retry-After": "2"} if status == 429 else {},
    )
    with pytest.raises(error) as caught:
        store.get("acme/a.txt")
    assert caught.value.provider == "gcs"
    assert caught.value.retryable is retryable
    assert ACCESS_TOKEN not in str(caught.value)
    if status == 429:
        assert caught.value.retry_after == 2.0
    if status == 403:
        assert str(caught.value).startswith("gcs denied permission (HTTP 403)")
        assert "forbidden for" not in str(caught.value)


def test_retryable_errors_are_retried_by_the_core(api: tuple[GCSStore, respx.MockRouter]) -> None:
    store, router = api
    media = router.get(f"{OBJECTS}/acme%2Fa.txt")
    media.side_effect = [
        httpx.Response(503, json=_error(503, "backendError", "Backend Error")),
        httpx.Response(429, json=_error(429, "rateLimitExceeded", "slow down")),
        httpx.Response(200, content=b"abc"),
    ]
    assert _scoped(store).get("a.txt") == b"abc"
    assert media.call_count == 3
    assert media.calls[0].request.url.params["alt"] == "media"


def test_a_missing_bucket_is_a_configuration_error(api: tuple[GCSStore, respx.MockRouter]) -> None:
    store, router = api
    router.get(OBJECTS).respond(
        404, json=_error(404, "notFound", "The specified bucket does not exist.")
    )
    with pytest.raises(ConfigurationError, match="acme-files"):
        store.list("acme/")


def test_deleting_a_missing_object_is_not_an_error(api: tuple[GCSStore, respx.MockRouter]) -> None:
    store, router = api
    route = router.delete(f"{OBJECTS}/acme%2Fgone").respond(
        404, json=_error(404, "notFound", "No such object: acme-files/acme/gone")
    )
    store.delete("acme/gone")
    assert route.call_count == 1


# --- resumable uploads ----------------------------------------------------------------


def _stream(size: int) -> Iterator[bytes]:
    data = bytes(range(256)) * (size // 256)
    for start in range(0, len(data), 100_000):
        yield data[start : start + 100_000]


def test_a_stream_goes_up_in_chunks(api: tuple[GCSStore, respx.MockRouter]) -> None:
    store, router = api
    start = router.post(UPLOAD, params={"uploadType": "resumable"}).respond(
        200, headers={"Location": SESSION}
    )
    total = 2 * CHUNK_GRANULE + 1024
    chunk = router.put(SESSION)
    chunk.side_effect = [
        httpx.Response(308, headers={"Range": f"bytes=0-{CHUNK_GRANULE - 1}"}),
        httpx.Response(308, headers={"Range": f"bytes=0-{2 * CHUNK_GRANULE - 1}"}),
        httpx.Response(200, json=_resource("acme/big", total)),
    ]
    info = store.put("acme/big", _stream(total), content_type="video/mp4", metadata={"a": "1"})
    assert info.size == total
    assert json.loads(start.calls[0].request.content) == {
        "name": "acme/big",
        "contentType": "video/mp4",
        "metadata": {"a": "1"},
    }
    ranges = [call.request.headers["content-range"] for call in chunk.calls]
    assert ranges == [
        f"bytes 0-{CHUNK_GRANULE - 1}/*",
        f"bytes {CHUNK_GRANULE}-{2 * CHUNK_GRANULE - 1}/*",
        f"bytes {2 * CHUNK_GRANULE}-{total - 1}/{total}",
    ]
    assert all(len(call.request.content) <= CHUNK_GRANULE for call in chunk.calls)


def test_a_failed_chunk_resumes_from_what_the_server_kept(
    api: tuple[GCSStore, respx.MockRouter],
) -> None:
    store, router = api
    router.post(UPLOAD, params={"uploadType": "resumable"}).respond(
        200, headers={"Location": SESSION}
    )
    total = 2 * CHUNK_GRANULE
    kept = CHUNK_GRANULE + 1000  # the server kept part of the second chunk
    chunk = router.put(SESSION)
    chunk.side_effect = [
        httpx.Response(308, headers={"Range": f"bytes=0-{CHUNK_GRANULE - 1}"}),
        httpx.Response(503, json=_error(503, "backendError", "Backend Error")),
        httpx.Response(308, headers={"Range": f"bytes=0-{kept - 1}"}),  # status check
        httpx.Response(200, json=_resource("acme/big", total)),
    ]
    assert store.put("acme/big", _stream(total)).size == total
    calls = [call.request for call in chunk.calls]
    assert calls[2].headers["content-range"] == f"bytes */{total}"
    assert calls[2].content == b""
    assert calls[3].headers["content-range"] == f"bytes {kept}-{total - 1}/{total}"
    assert len(calls[3].content) == total - kept


def test_an_upload_that_fails_is_cancelled(api: tuple[GCSStore, respx.MockRouter]) -> None:
    store, router = api
    router.post(UPLOAD, params={"uploadType": "resumable"}).respond(
        200, headers={"Location": SESSION}
    )
    router.put(SESSION).respond(308, headers={"Range": f"bytes=0-{CHUNK_GRANULE - 1}"})
    cancel = router.delete(SESSION).respond(499)

    def broken() -> Iterator[bytes]:
        yield b"x" * (3 * CHUNK_GRANULE)
        raise OSError("the client went away")

    with pytest.raises(OSError, match="went away"):
        store.put("acme/big", broken())
    assert cancel.call_count == 1


def test_a_session_url_outside_the_endpoint_is_refused(
    api: tuple[GCSStore, respx.MockRouter],
) -> None:
    store, router = api
    router.post(UPLOAD, params={"uploadType": "resumable"}).respond(
        200, headers={"Location": "https://collector.example/upload?upload_id=x"}
    )
    with pytest.raises(ProviderError, match="outside its endpoint"):
        store.put("acme/big", _stream(2 * CHUNK_GRANULE))


# --- copy -----------------------------------------------------------------------------

REWRITE = f"{OBJECTS}/acme%2Fsrc.bin/rewriteTo/b/acme-files/o/acme%2Fdst.bin"


def _rewrite(done: bool, token: str | None, size: int = 10 * 2**30) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "kind": "storage#rewriteResponse",
        "totalBytesRewritten": str(size if done else size // 2),
        "objectSize": str(size),
        "done": done,
    }
    if token:
        answer["rewriteToken"] = token
    if done:
        answer["resource"] = _resource("acme/dst.bin", size)
    return answer


def test_copy_loops_on_the_rewrite_token_retrying_each_call(
    api: tuple[GCSStore, respx.MockRouter],
) -> None:
    store, router = api
    rewrite = router.post(REWRITE)
    rewrite.side_effect = [
        httpx.Response(200, json=_rewrite(False, "TOKEN-1")),
        httpx.Response(503, json=_error(503, "backendError", "Backend Error")),
        httpx.Response(200, json=_rewrite(False, "TOKEN-2")),
        httpx.Response(200, json=_rewrite(True, None)),
    ]
    info = store.copy("acme/src.bin", "acme/dst.bin")
    assert info.key == "acme/dst.bin"
    assert info.size == 10 * 2**30
    tokens = [call.request.url.params.get("rewriteToken") for call in rewrite.calls]
    assert tokens == [None, "TOKEN-1", "TOKEN-1", "TOKEN-2"]


def test_the_core_does_not_retry_a_copy_again(api: tuple[GCSStore, respx.MockRouter]) -> None:
    store, router = api
    rewrite = router.post(REWRITE).respond(503, json=_error(503, "backendError", "down"))
    with pytest.raises(ProviderUnavailable):
        _scoped(store).copy("src.bin", "dst.bin")
    assert rewrite.call_count == FAST_RETRY.max_attempts


def test_a_chunk_is_sent_again_after_a_401_with_a_fresh_token(
    api: tuple[GCSStore, respx.MockRouter],
) -> None:
    store, router = api
    router.post(UPLOAD, params={"uploadType": "resumable"}).respond(
        200, headers={"Location": SESSION}
    )
    total = 2 * CHUNK_GRANULE
    chunk = router.put(SESSION)
    chunk.side_effect = [
        httpx.Response(401, json=_error(401, "authError", "Invalid Credentials")),
        httpx.Response(308, headers={"Range": f"bytes=0-{CHUNK_GRANULE - 1}"}),
        httpx.Response(200, json=_resource("acme/big", total)),
    ]
    assert store.put("acme/big", _stream(total)).size == total
    first, again = chunk.calls[0].request, chunk.calls[1].request
    assert again.content == first.content
    assert len(again.content) == CHUNK_GRANULE
    assert again.headers["content-range"] == first.headers["content-range"]
