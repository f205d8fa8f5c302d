"""What is particular to the ``local`` provider: its file layout, root containment,
atomic writes, bounded memory, secrecy of the signing key and the presign server's
HTTP behaviour (ranges, HEAD, status codes)."""

from __future__ import annotations

import io
import logging
import os
import secrets
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest

from tenantkit.errors import (
    ConfigurationError,
    InvalidKey,
    InvalidRequest,
    ProviderError,
    TenantkitError,
)
from tenantkit.plugins import EntryPointIndex, Plugins
from tenantkit.providers.local_presign import PresignApp, serve
from tenantkit.providers.local_storage import LocalObjectStore, LocalStorageSettings
from tenantkit.storage import StorageCapability
from testharness._ports import free_port

MiB = 1024 * 1024
SIGNING_KEY = "PLANTED-signing-key-" + secrets.token_hex(16)


def _store(root: Path, base_url: str = "http://127.0.0.1:9/_storage") -> LocalObjectStore:
    return LocalObjectStore(
        LocalStorageSettings(root=root, base_url=base_url, signing_key=SIGNING_KEY)
    )


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return _store(tmp_path / "root")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[LocalObjectStore]:
    port = free_port()
    store = _store(tmp_path / "root", f"http://127.0.0.1:{port}")
    with serve(PresignApp(store), port=port):
        yield store


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, trust_env=False) as client:
        yield client


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# --- registration and settings ------------------------------------------------------


def test_registered_through_the_core_entry_point() -> None:
    spec = Plugins(EntryPointIndex(cache_dir=None)).get("storage", "local")
    assert spec.factory is LocalObjectStore
    assert spec.settings is LocalStorageSettings
    assert spec.capabilities == {StorageCapability.PRESIGN}
    assert spec.distribution == "tenantkit"


def test_settings_are_validated(tmp_path: Path) -> None:
    settings = LocalStorageSettings(root=tmp_path, signing_key=SIGNING_KEY)
    assert settings.base_url == "http://127.0.0.1:8000/_storage"
    custom = LocalStorageSettings(
        root=tmp_path, base_url="https://files.example/", signing_key=SIGNING_KEY
    )
    assert custom.base_url == "https://files.example"
    for bad in ({"base_url": "ftp://x"}, {"base_url": "http://x/?a=1"}, {"bucket": "x"}):
        with pytest.raises(pydantic.ValidationError):
            LocalStorageSettings(root=tmp_path, signing_key=SIGNING_KEY, **bad)
    with pytest.raises(pydantic.ValidationError) as caught:
        LocalStorageSettings(root=tmp_path, signing_key="short-PLANTED")
    assert "signing_key" in str(caught.value)
    assert "short-PLANTED" not in str(caught.value)


def test_root_is_created_and_must_be_a_directory(tmp_path: Path) -> None:
    _store(tmp_path / "new" / "nested")
    assert (tmp_path / "new" / "nested").is_dir()
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(ConfigurationError):
        _store(tmp_path / "file")


# --- layout and containment ---------------------------------------------------------


def test_keys_never_collide_with_each_other_or_internal_names(store: LocalObjectStore) -> None:
    keys = [
        "t/a",
        "t/a/b",
        "t/a/b/c",
        "t/o.a",
        "t/d.a",
        "t/t.x.tmp",
        "t/%61",
        "t/A",
        "t/a%2Fb",
        "t/...",
        "t/ü",
    ]
    for i, key in enumerate(keys):
        store.put(key, str(i).encode())
    for i, key in enumerate(keys):
        assert store.get(key) == str(i).encode()
    assert [o.key for o in store.list("t/").objects] == sorted(keys)
    listing = store.list("t/", delimiter="/")
    assert listing.prefixes == ["t/a/"]
    assert "t/a" in [o.key for o in listing.objects]


@pytest.mark.parametrize(
    "key",
    ["../escape", "t/../../escape", "/etc/passwd", "t//x", "t/./x", "t/..", "t\\..\\x", "t/\x00"],
    ids=repr,
)
def test_raw_provider_refuses_keys_that_could_escape(store: LocalObjectStore, key: str) -> None:
    for call in (
        lambda: store.put(key, b"x"),
        lambda: store.get(key),
        lambda: store.head(key),
        lambda: store.delete(key),
        lambda: store.copy("t/x", key),
        lambda: store.presign_get(key, expires_in=60),
    ):
        with pytest.raises(InvalidKey):
            call()
    with pytest.raises(InvalidKey):
        store.list(key if key.endswith("/") else key + "/")
    assert _files(store.root) == []


def test_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    store = _store(tmp_path / "root")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "o.secret").write_bytes(b"outside data")
    (store.root / "d.t").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidKey, match="outside the storage root"):
        store.put("t/planted", b"x")
    with pytest.raises(InvalidKey, match="outside the storage root"):
        store.get("t/secret")
    with pytest.raises(InvalidKey, match="outside the storage root"):
        store.list("t/")
    assert store.list("").objects == []
    assert store.list("", delimiter="/").prefixes == []
    assert sorted(p.name for p in outside.iterdir()) == ["o.secret"]


def test_segment_too_long_for_a_file_name_is_an_invalid_key(store: LocalObjectStore) -> None:
    store.put("t/" + "a" * 253, b"fits")
    with pytest.raises(InvalidKey, match="too long"):
        store.put("t/" + "a" * 254, b"too long")
    with pytest.raises(InvalidKey, match="too long"):
        store.put("t/" + "é" * 50, b"too long once encoded")


def test_range_semantics_follow_http(store: LocalObjectStore) -> None:
    store.put("t/ten", b"0123456789")
    store.put("t/empty", b"")
    assert store.get("t/ten", offset=9) == b"9"
    assert store.get("t/ten", offset=8, length=100) == b"89"
    assert store.get("t/empty") == b""
    for offset, length in ((10, None), (11, 1), (0, 0), (-1, None)):
        with pytest.raises(InvalidRequest):
            store.get("t/ten", offset=offset, length=length)
    with pytest.raises(InvalidRequest):
        store.get("t/empty", length=1)


def test_damaged_object_file_is_a_provider_error(store: LocalObjectStore) -> None:
    store.put("t/broken", b"payload")
    (store.root / "d.t" / "o.broken").write_bytes(b"no footer")
    with pytest.raises(ProviderError, match="damaged"):
        store.head("t/broken")
    with pytest.raises(ProviderError, match="damaged"):
        store.get("t/broken")


# --- atomic writes and tidy directories ---------------------------------------------


def test_failed_put_keeps_the_previous_object_and_leaves_no_file(
    store: LocalObjectStore,
) -> None:
    store.put("t/doc", b"version one", content_type="text/plain")

    def failing() -> Iterator[bytes]:
        yield b"partial "
        raise OSError("the client went away")

    with pytest.raises(ProviderError):
        store.put("t/doc", failing())
    with pytest.raises(ProviderError):
        store.put("t/new/dir/doc", failing())
    assert store.get("t/doc") == b"version one"
    assert store.head("t/doc").content_type == "text/plain"
    assert _files(store.root) == ["d.t", "d.t/o.doc"]


def test_reader_keeps_the_version_it_opened(store: LocalObjectStore) -> None:
    old = b"o" * 300_000
    store.put("t/swap", old)
    chunks = store.stream("t/swap", chunk_size=1000)
    first = next(chunks)
    store.put("t/swap", b"new")
    assert first + b"".join(chunks) == old
    assert store.get("t/swap") == b"new"


def test_delete_prunes_empty_directories(store: LocalObjectStore) -> None:
    store.put("t/a/b/c", b"1")
    store.put("t/a/x", b"2")
    store.delete("t/a/b/c")
    assert _files(store.root) == ["d.t", "d.t/d.a", "d.t/d.a/o.x"]
    store.delete("t/a/x")
    assert _files(store.root) == []


def test_empty_directories_are_not_common_prefixes(store: LocalObjectStore) -> None:
    store.put("t/real/x", b"1")
    (store.root / "d.t" / "d.ghost" / "d.deeper").mkdir(parents=True)
    (store.root / "d.t" / "stray-file").write_text("ignored")
    listing = store.list("t/", delimiter="/")
    assert listing.prefixes == ["t/real/"]
    assert [o.key for o in store.list("t/").objects] == ["t/real/x"]


def test_copy_onto_itself_keeps_the_object(store: LocalObjectStore) -> None:
    store.put("t/same", b"same bytes", metadata={"k": "v"})
    info = store.copy("t/same", "t/same")
    assert info.size == 10
    assert store.get("t/same") == b"same bytes"
    assert store.head("t/same").metadata == {"k": "v"}


# --- bounded memory -----------------------------------------------------------------


def _peak(fn: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_streamed_put_and_read_use_bounded_memory(store: LocalObjectStore) -> None:
    size = 64 * MiB
    block = os.urandom(256 * 1024)

    def body() -> Iterator[bytes]:
        for _ in range(size // len(block)):
            yield block

    peak = _peak(lambda: store.put("t/big", body()))
    assert store.head("t/big").size == size
    assert peak < 4 * MiB, f"put of {size} bytes peaked at {peak} bytes"

    def read() -> None:
        for _chunk in store.stream("t/big"):
            pass

    peak = _peak(read)
    assert peak < 4 * MiB, f"streaming {size} bytes peaked at {peak} bytes"
    peak = _peak(lambda: store.copy("t/big", "t/big-copy"))
    assert peak < 4 * MiB, f"copy of {size} bytes peaked at {peak} bytes"


def test_presigned_put_body_is_streamed_with_bounded_memory(store: LocalObjectStore) -> None:
    size = 48 * MiB

    class Input(io.RawIOBase):
        def __init__(self) -> None:
            self.left = size
            self.block = b"\xab" * (64 * 1024)

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            n = min(self.left, len(self.block) if n < 0 else n, len(self.block))
            self.left -= n
            return self.block[:n]

    url = httpx.URL(store.presign_put("t/uploaded", expires_in=60))
    environ = {
        "REQUEST_METHOD": "PUT",
        "PATH_INFO": "/t/uploaded",
        "QUERY_STRING": url.query.decode(),
        "CONTENT_LENGTH": str(size),
        "CONTENT_TYPE": "",
        "wsgi.input": Input(),
    }
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        statuses.append(status)

    peak = _peak(lambda: PresignApp(store)(environ, start_response))  # type: ignore[arg-type]
    assert statuses == ["200 OK"]
    assert store.head("t/uploaded").size == size
    assert peak < 4 * MiB, f"presigned PUT of {size} bytes peaked at {peak} bytes"


# --- the signing key stays secret ---------------------------------------------------


def test_signing_key_never_appears_in_output(
    served: LocalObjectStore,
    http: httpx.Client,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = LocalStorageSettings(root=served.root, signing_key=SIGNING_KEY)
    seen: list[str] = [
        repr(served),
        str(served),
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        str(settings.model_dump()),
        repr(PresignApp(served)),
    ]
    served.put("t/doc", b"document")
    urls = [
        served.presign_get("t/doc", expires_in=60),
        served.presign_put("t/doc", expires_in=60, content_type="text/plain"),
        served.presign_get("t/missing", expires_in=60),
    ]
    seen += urls
    responses = [
        http.get(urls[0]),
        http.get(urls[0].replace("signature=", "signature=0")),
        http.get(urls[0].replace("expires=", "expires=9")),
        http.put(urls[1], content=b"x", headers={"Content-Type": "text/html"}),
        http.get(urls[2]),
        http.delete(urls[0]),
        http.get(urls[0].split("?")[0]),
    ]
    assert [r.status_code for r in responses] == [200, 403, 403, 403, 404, 405, 403]
    for response in responses:
        seen += [response.text, str(response.headers)]
    for call in (
        lambda: served.get("t/missing"),
        lambda: served.put("../x", b""),
        lambda: served.presign_get("t/x", expires_in=0),
        lambda: served.put("t/x", b"", content_type="bad\ntype"),
    ):
        with pytest.raises(TenantkitError) as caught:
            call()
        seen += [str(caught.value), repr(caught.value)]
    out, err = capfd.readouterr()
    seen += [out, err, caplog.text]
    leaks = [text for text in seen if SIGNING_KEY in text]
    assert leaks == []


# --- the presign server over HTTP ---------------------------------------------------


def test_http_ranges_and_head(served: LocalObjectStore, http: httpx.Client) -> None:
    data = bytes(range(100))
    served.put("t/range.bin", data, content_type="application/x-range")
    url = served.presign_get("t/range.bin", expires_in=60)

    whole = http.get(url)
    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["etag"] == f'"{served.head("t/range.bin").etag}"'

    cases = {
        "bytes=10-19": (206, data[10:20], "bytes 10-19/100"),
        "bytes=90-": (206, data[90:], "bytes 90-99/100"),
        "bytes=-5": (206, data[95:], "bytes 95-99/100"),
        "bytes=95-500": (206, data[95:], "bytes 95-99/100"),
        "bytes=-500": (206, data, "bytes 0-99/100"),
    }
    for header, (status, body, content_range) in cases.items():
        response = http.get(url, headers={"Range": header})
        assert (response.status_code, response.content) == (status, body), header
        assert response.headers["content-range"] == content_range
    for header in ("bytes=100-", "bytes=-0", "bytes=150-200"):
        response = http.get(url, headers={"Range": header})
        assert response.status_code == 416, header
        assert response.headers["content-range"] == "bytes */100"
    for ignored in ("bytes=0-1,5-6", "lines=1-2", "bytes=9-3"):
        response = http.get(url, headers={"Range": ignored})
        assert (response.status_code, response.content) == (200, data), ignored

    head = http.head(url)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == "100"
    assert head.headers["content-type"] == "application/x-range"


def test_http_refusals(served: LocalObjectStore, http: httpx.Client) -> None:
    served.put("t/doc", b"doc")
    get_url = served.presign_get("t/doc", expires_in=60)
    put_url = served.presign_put("t/doc", expires_in=60)
    base = get_url.split("?")[0]
    query = get_url.split("?")[1]

    assert http.put(get_url, content=b"x").status_code == 403  # signed for GET
    assert http.get(put_url).status_code == 403  # signed for PUT
    assert http.get(f"{base}?{query}&extra=1").status_code == 403
    assert http.get(f"{base}?{query}&{query}").status_code == 403
    assert http.get(f"{base}?{query}&content_type=text/plain").status_code == 403
    assert http.get(base + "x?" + query).status_code == 403
    assert http.request("POST", get_url).status_code == 405

    def chunked() -> Iterator[bytes]:
        yield b"no length"

    assert http.put(put_url, content=chunked()).status_code == 411
    assert served.get("t/doc") == b"doc"


def test_http_expiry_is_checked(served: LocalObjectStore, http: httpx.Client) -> None:
    served.put("t/doc", b"doc")
    url = served.presign_get("t/doc", expires_in=60)
    assert http.get(url).status_code == 200
    past = int(time.time()) - 1
    signature = served._signature("GET", "t", "t/doc", past, "")
    expired = f"{url.split('?')[0]}?tenant=t&expires={past}&signature={signature}"
    response = http.get(expired)
    assert response.status_code == 403
    assert "expired" in response.text
    forged = f"{url.split('?')[0]}?tenant=t&expires={past + 3600}&signature={signature}"
    response = http.get(forged)
    assert response.status_code == 403
    assert "signature" in response.text


def test_http_missing_object_is_404_only_with_a_valid_signature(
    served: LocalObjectStore, http: httpx.Client
) -> None:
    url = served.presign_get("t/nothing", expires_in=60)
    assert http.get(url).status_code == 404
    assert http.get(url.replace("signature=", "signature=f")).status_code == 403


# --- presigned URLs are bound to a tenant -----------------------------------------------


def test_a_url_serves_only_keys_under_the_tenant_it_was_signed_for(
    served: LocalObjectStore, http: httpx.Client
) -> None:
    served.put("acme/doc", b"acme's")
    served.put("globex/doc", b"globex's")
    url = served.presign_get("acme/doc", expires_in=60)
    assert "tenant=acme" in url
    assert http.get(url).content == b"acme's"
    base, query = url.split("?")
    other = base.replace("/acme/doc", "/globex/doc")
    assert http.get(f"{other}?{query}").status_code == 403
    expires = int(time.time()) + 60
    # Even a signature made with the store's own key refuses a key outside its tenant.
    signed = served._signature("GET", "acme", "globex/doc", expires, "")
    crossed = http.get(f"{other}?tenant=acme&expires={expires}&signature={signed}")
    assert crossed.status_code == 403
    assert "tenant" in crossed.text
    for tenant in ("", "glob", "ACME", "tenantkit-control-plane"):
        signed = served._signature("GET", tenant, "globex/doc", expires, "")
        refused = http.get(f"{other}?tenant={tenant}&expires={expires}&signature={signed}")
        assert refused.status_code == 403, tenant
    for key in ("doc", "tenantkit-control-plane/doc", "Not_A_Tenant/doc"):
        with pytest.raises(InvalidKey):
            served.presign_get(key, expires_in=60)


def test_a_presign_app_serves_only_the_tenants_it_is_told(
    tmp_path: Path, http: httpx.Client
) -> None:
    port = free_port()
    store = _store(tmp_path / "root", f"http://127.0.0.1:{port}")
    store.put("acme/doc", b"acme's")
    store.put("globex/doc", b"globex's")
    with serve(PresignApp(store, tenants=lambda tenant: tenant == "acme"), port=port):
        assert http.get(store.presign_get("acme/doc", expires_in=60)).content == b"acme's"
        refused = http.get(store.presign_get("globex/doc", expires_in=60))
        assert refused.status_code == 403
        put = store.presign_put("globex/doc", expires_in=60)
        assert http.put(put, content=b"overwritten").status_code == 403
    assert store.get("globex/doc") == b"globex's"
