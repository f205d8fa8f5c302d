"""The object storage conformance suite.

A storage provider package runs it by subclassing :class:`StorageConformance` and
supplying one fixture, ``object_store``::

    from tenantkit.testing import StorageConformance

    class TestExample(StorageConformance):
        presign_enforced = False          # the test server does not check signatures

        @pytest.fixture
        def object_store(self, example_server):
            store = ExampleStore(Settings(...))
            yield store
            store.close()

Every test reaches the provider through :class:`tenantkit.TenantStorage`, for two
random tenants sharing the one provider instance; the second tenant's id extends the
first's (``c1a2b3`` and ``c1a2b3-9f``), so a store that scopes by bare string prefix
fails the isolation tests. Presigned URLs are fetched with httpx over real HTTP.
The presign section runs when the provider declares ``StorageCapability.PRESIGN``;
when it does not, the suite checks that both the wrapper and the raw provider raise
``Unsupported``. Set ``presign_enforced = False`` for test servers that accept any
signature (moto): the suite then skips the expired, tampered and wrong-content-type
checks; ``presign_content_type_enforced = False`` skips only the last, for services
whose signed URLs cannot bind the uploaded content type (Azure SAS). Presigned PUTs
send the store's ``presigned_put_headers``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import random
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import pytest

from tenantkit.cursors import CursorSigner
from tenantkit.errors import (
    InvalidCursor,
    InvalidKey,
    InvalidRequest,
    NotFound,
    TenantkitError,
    Unsupported,
)
from tenantkit.registry import Kind
from tenantkit.scoped import TenantStorage
from tenantkit.storage import ObjectStore, StorageCapability
from tenantkit.testing.scoped import tenant_storage
from tenantkit.testing.settings import SettingsOwnershipConformance

__all__ = ["BAD_KEYS", "BAD_PREFIXES", "StorageConformance"]

MiB = 1024 * 1024

#: Keys every provider must refuse with ``InvalidKey`` (through the core wrapper).
BAD_KEYS: tuple[str, ...] = (
    "",
    ".",
    "..",
    "../escape",
    "a/../b",
    "a/./b",
    "a/..",
    "/absolute",
    "/",
    "nul\x00byte",
    "new\nline",
    "tab\tkey",
    "unit\x1fsep",
    "del\x7fete",
    "back\\slash",
    "empty//segment",
    "trailing/",
)

#: Listing prefixes every provider must refuse with ``InvalidKey``.
BAD_PREFIXES: tuple[str, ...] = (
    "/absolute",
    "..",
    "../",
    "a/../",
    "a//",
    "nul\x00",
    "back\\slash/",
)

#: Valid keys with characters that need care in paths and URLs.
SPECIAL_KEYS: tuple[str, ...] = (
    "chars/sp ace.txt",
    "chars/plus+sign",
    "chars/percent%20literal",
    "chars/q?uery#fragment",
    "chars/amp&eq=semi;colon",
    "chars/at@colon:comma,",
    "chars/quote'double\"",
    "chars/(paren)[bracket]{brace}*",
    "chars/tilde~dollar$",
    "chars/ünïcødé/文件.txt",
    "chars/.hidden",
    "chars/...",
)


def _section(name: str) -> pytest.MarkDecorator:
    return pytest.mark.conformance("storage", name)


def _blob(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def _refused(response: httpx.Response) -> bool:
    return response.status_code in (400, 401, 403)


def _tamper_query(url: str) -> str:
    """``url`` with one alphanumeric character of its longest query value changed."""
    parts = urlsplit(url)
    fields = parts.query.split("&")
    target = max(range(len(fields)), key=lambda i: len(fields[i].partition("=")[2]))
    name, _, value = fields[target].partition("=")
    chars = list(value)
    middle = len(chars) // 2
    for i in sorted(range(len(chars)), key=lambda i: abs(i - middle)):
        inside_escape = "%" in value[max(0, i - 2) : i]
        if chars[i].isascii() and chars[i].isalnum() and not inside_escape:
            c = chars[i]
            chars[i] = {"9": "8", "z": "y", "Z": "Y"}.get(c, chr(ord(c) + 1))
            break
    else:
        raise AssertionError(f"no character to alter in the query of {url!r}")
    fields[target] = f"{name}={''.join(chars)}"
    return urlunsplit(parts._replace(query="&".join(fields)))


def _tamper_cursor(cursor: str) -> str:
    middle = len(cursor) // 2
    c = cursor[middle]
    return cursor[:middle] + ("A" if c != "A" else "B") + cursor[middle + 1 :]


def _all_keys(storage: TenantStorage, prefix: str = "") -> list[str]:
    keys: list[str] = []
    cursor: str | None = None
    while True:
        page = storage.list(prefix, cursor=cursor)
        keys.extend(o.key for o in page.objects)
        cursor = page.cursor
        if cursor is None:
            return keys


class StorageConformance(SettingsOwnershipConformance):
    """The storage suite. Subclass it and supply an ``object_store`` fixture."""

    settings_kind: ClassVar[Kind] = "storage"

    @pytest.fixture
    def settings_subject(self, object_store: Any) -> Any:
        """The instance whose settings ownership is checked."""
        return object_store

    presign_enforced: ClassVar[bool] = True
    """Whether the server refuses expired, altered and wrong-content-type URLs."""
    presign_content_type_enforced: ClassVar[bool] = True
    """Whether a presigned PUT made with a content type refuses another one (Azure's
    SAS cannot bind it: set ``False`` there)."""

    # --- fixtures ---------------------------------------------------------------------

    @pytest.fixture
    def object_store(self) -> ObjectStore:
        """The provider under test: override this fixture."""
        pytest.fail("a StorageConformance subclass must supply an 'object_store' fixture")

    @pytest.fixture
    def tenant_ids(self) -> tuple[str, str]:
        first = f"c{secrets.token_hex(5)}"
        return first, f"{first}-{secrets.token_hex(2)}"

    @pytest.fixture
    def cursor_signer(self) -> CursorSigner:
        return CursorSigner(secrets.token_bytes(32))

    @pytest.fixture
    def storage(
        self, object_store: ObjectStore, tenant_ids: tuple[str, str], cursor_signer: CursorSigner
    ) -> Iterator[TenantStorage]:
        """The first tenant's storage."""
        yield from self._scoped(object_store, tenant_ids[0], cursor_signer)

    @pytest.fixture
    def other_storage(
        self, object_store: ObjectStore, tenant_ids: tuple[str, str], cursor_signer: CursorSigner
    ) -> Iterator[TenantStorage]:
        """The second tenant's storage, on the same provider instance."""
        yield from self._scoped(object_store, tenant_ids[1], cursor_signer)

    @pytest.fixture
    def http(self) -> Iterator[httpx.Client]:
        with httpx.Client(timeout=30, trust_env=False) as client:
            yield client

    @staticmethod
    def _scoped(
        store: ObjectStore, tenant_id: str, signer: CursorSigner
    ) -> Iterator[TenantStorage]:
        storage = tenant_storage(store, tenant_id, signer=signer)
        yield storage
        with contextlib.suppress(TenantkitError):
            for key in _all_keys(storage):
                storage.delete(key)

    # --- put and get ------------------------------------------------------------------

    @_section("put")
    def test_put_and_get_bytes(self, storage: TenantStorage) -> None:
        data = _blob(3000)
        info = storage.put("basic/object.bin", data)
        assert info.key == "basic/object.bin"
        assert info.size == len(data)
        assert storage.get("basic/object.bin") == data

    @_section("put")
    def test_put_replaces_the_object(self, storage: TenantStorage) -> None:
        storage.put("basic/replace.txt", b"first version", content_type="text/plain")
        storage.put("basic/replace.txt", b"second", metadata={"round": "2"})
        assert storage.get("basic/replace.txt") == b"second"
        head = storage.head("basic/replace.txt")
        assert head.size == 6
        assert head.metadata == {"round": "2"}

    @_section("put")
    def test_put_file_object(self, storage: TenantStorage, tmp_path: Path) -> None:
        data = _blob(200_000, seed=1)
        storage.put("files/from-bytesio.bin", io.BytesIO(data))
        assert storage.get("files/from-bytesio.bin") == data
        path = tmp_path / "upload.bin"
        path.write_bytes(data[::-1])
        with path.open("rb") as file:
            info = storage.put("files/from-disk.bin", file)
        assert info.size == len(data)
        assert storage.get("files/from-disk.bin") == data[::-1]

    @_section("put")
    def test_put_iterable(self, storage: TenantStorage) -> None:
        parts = [b"alpha-", b"", b"b" * 70_000, b"-gamma", b"", b"\x00\xff" * 5]

        def chunks() -> Iterator[bytes]:
            yield from parts

        info = storage.put("iter/generator.bin", chunks())
        assert info.size == sum(map(len, parts))
        assert storage.get("iter/generator.bin") == b"".join(parts)
        storage.put("iter/list.bin", [b"one", b"two"])
        assert storage.get("iter/list.bin") == b"onetwo"

    @_section("put")
    def test_put_multi_mebibyte_stream(self, storage: TenantStorage) -> None:
        block = _blob(MiB, seed=2)
        size = 11 * MiB + 12_345
        expected = hashlib.sha256()

        def body() -> Iterator[bytes]:
            sent = 0
            while sent < size:
                chunk = block[: min(256 * 1024 + 17, size - sent)]
                expected.update(chunk)
                sent += len(chunk)
                yield chunk

        info = storage.put("large/streamed.bin", body(), content_type="application/x-test")
        assert info.size == size
        got = hashlib.sha256()
        received = 0
        for chunk in storage.stream("large/streamed.bin"):
            got.update(chunk)
            received += len(chunk)
        assert received == size
        assert got.hexdigest() == expected.hexdigest()
        head = storage.head("large/streamed.bin")
        assert head.size == size
        assert head.content_type == "application/x-test"

    @_section("put")
    def test_empty_object(self, storage: TenantStorage) -> None:
        info = storage.put("empty/nothing", b"")
        assert info.size == 0
        assert storage.get("empty/nothing") == b""
        assert storage.head("empty/nothing").size == 0
        assert b"".join(storage.stream("empty/nothing")) == b""

    @_section("put")
    def test_content_type_and_metadata_round_trip(self, storage: TenantStorage) -> None:
        meta = {"author": "ada", "revision": "3", "note_2": "hello world"}
        put = storage.put(
            "meta/doc.json",
            b'{"a": 1}',
            content_type="application/json; charset=utf-8",
            metadata=meta,
        )
        head = storage.head("meta/doc.json")
        for info in (put, head):
            assert info.key == "meta/doc.json"
            assert info.size == 8
        assert head.content_type == "application/json; charset=utf-8"
        assert head.metadata == meta
        storage.put("meta/plain", b"x")
        plain = storage.head("meta/plain")
        assert plain.metadata == {}
        assert plain.content_type is None or isinstance(plain.content_type, str)

    @_section("put")
    def test_special_characters_in_keys(self, storage: TenantStorage) -> None:
        for i, key in enumerate(SPECIAL_KEYS):
            storage.put(key, f"payload {i}".encode())
        for i, key in enumerate(SPECIAL_KEYS):
            assert storage.get(key) == f"payload {i}".encode(), key
            assert storage.head(key).key == key
        assert _all_keys(storage, "chars/") == sorted(SPECIAL_KEYS, key=str.encode)

    # --- reading --------------------------------------------------------------------

    @_section("read")
    def test_stream_in_chunks(self, storage: TenantStorage) -> None:
        data = _blob(10_500, seed=3)
        storage.put("stream/data.bin", data)
        chunks = list(storage.stream("stream/data.bin", chunk_size=1000))
        assert b"".join(chunks) == data
        assert all(len(chunk) <= 1000 for chunk in chunks)
        assert len(chunks) >= 11

    @_section("read")
    def test_stream_closed_early(self, storage: TenantStorage) -> None:
        data = _blob(50_000, seed=4)
        storage.put("stream/partial.bin", data)
        chunks = storage.stream("stream/partial.bin", chunk_size=4096)
        first = next(chunks)
        assert 0 < len(first) <= 4096
        assert data.startswith(first)
        close = getattr(chunks, "close", None)
        assert callable(close)
        close()
        # The store stays usable after an abandoned stream.
        assert storage.get("stream/partial.bin", offset=49_990) == data[49_990:]

    @_section("read")
    def test_range_reads(self, storage: TenantStorage) -> None:
        data = bytes(range(256)) * 4
        storage.put("range/data.bin", data)
        assert storage.get("range/data.bin", offset=10, length=5) == data[10:15]
        assert storage.get("range/data.bin", offset=1000) == data[1000:]
        assert storage.get("range/data.bin", offset=0, length=1) == data[:1]
        assert storage.get("range/data.bin", offset=1023, length=1) == data[1023:]
        assert storage.get("range/data.bin", length=100) == data[:100]
        # A range running past the end is cut short.
        assert storage.get("range/data.bin", offset=1020, length=50) == data[1020:]

    @_section("read")
    def test_range_starting_past_the_end_is_invalid(self, storage: TenantStorage) -> None:
        storage.put("range/short.bin", b"0123456789")
        with pytest.raises(InvalidRequest):
            storage.get("range/short.bin", offset=10)
        with pytest.raises(InvalidRequest):
            storage.get("range/short.bin", offset=500, length=3)
        with pytest.raises(InvalidRequest):
            storage.get("range/short.bin", offset=-1)
        with pytest.raises(InvalidRequest):
            storage.get("range/short.bin", length=0)

    @_section("read")
    def test_head(self, storage: TenantStorage) -> None:
        before = datetime.now(UTC)
        storage.put("head/object.txt", b"hello head", content_type="text/plain")
        info = storage.head("head/object.txt")
        assert info.key == "head/object.txt"
        assert info.size == 10
        assert info.content_type == "text/plain"
        assert info.etag is None or (isinstance(info.etag, str) and info.etag)
        if info.last_modified is not None:
            assert info.last_modified.tzinfo is not None
            assert abs(info.last_modified - before) < timedelta(hours=1)
        assert storage.exists("head/object.txt")
        storage.put("head/object.txt", b"changed content")
        changed = storage.head("head/object.txt")
        if info.etag is not None and changed.etag is not None:
            assert changed.etag != info.etag

    @_section("read")
    def test_missing_object_is_not_found(self, storage: TenantStorage) -> None:
        storage.put("missing/neighbour", b"x")
        with pytest.raises(NotFound):
            storage.get("missing/absent")
        with pytest.raises(NotFound):
            storage.get("missing/absent", offset=1, length=2)
        with pytest.raises(NotFound):
            storage.head("missing/absent")
        with pytest.raises(NotFound):
            b"".join(storage.stream("missing/absent"))
        with pytest.raises(NotFound):
            storage.copy("missing/absent", "missing/copy")
        with pytest.raises(NotFound):
            storage.head("missing/copy")
        with pytest.raises(NotFound):  # a prefix of an object is not an object
            storage.get("missing")
        assert not storage.exists("missing/absent")

    # --- delete ---------------------------------------------------------------------

    @_section("delete")
    def test_delete_is_idempotent(self, storage: TenantStorage) -> None:
        storage.put("delete/me", b"bye")
        storage.put("delete/me-not", b"stay")
        storage.delete("delete/me")
        storage.delete("delete/me")
        storage.delete("delete/never-existed")
        with pytest.raises(NotFound):
            storage.get("delete/me")
        assert storage.get("delete/me-not") == b"stay"
        assert _all_keys(storage, "delete/") == ["delete/me-not"]

    # --- listing --------------------------------------------------------------------

    @_section("list")
    def test_list_prefix(self, storage: TenantStorage) -> None:
        keys = ["docs/a.txt", "docs/b/c.txt", "docs/ba.txt", "docsx/d.txt", "other/e.txt"]
        for key in keys:
            storage.put(key, key.encode())
        listing = storage.list("docs/")
        assert [o.key for o in listing.objects] == ["docs/a.txt", "docs/b/c.txt", "docs/ba.txt"]
        assert listing.prefixes == []
        assert listing.cursor is None
        assert [o.size for o in listing.objects] == [10, 12, 11]
        assert _all_keys(storage, "docs/b") == ["docs/b/c.txt", "docs/ba.txt"]
        assert _all_keys(storage, "docs") == keys[:4]
        assert _all_keys(storage) == keys
        assert _all_keys(storage, "nothing/") == []

    @_section("list")
    def test_list_key_order(self, storage: TenantStorage) -> None:
        keys = [
            "order/a",
            "order/a b",
            "order/a-b",
            "order/a/b",
            "order/a0",
            "order/B",
            "order/b",
            "order/z~",
            "order/ü",
            "order/ß/x",
        ]
        for key in reversed(keys):
            storage.put(key, b"o")
        # Key order is the order of the keys' UTF-8 bytes (= code point order).
        assert _all_keys(storage, "order/") == sorted(keys, key=str.encode)

    @_section("list")
    def test_list_with_delimiter(self, storage: TenantStorage) -> None:
        keys = [
            "tree/a.txt",
            "tree/dir/one.txt",
            "tree/dir/sub/two.txt",
            "tree/dir-x.txt",
            "tree/dir2/three.txt",
            "tree/z.txt",
        ]
        for key in keys:
            storage.put(key, b"t")
        top = storage.list("tree/", delimiter="/")
        assert [o.key for o in top.objects] == ["tree/a.txt", "tree/dir-x.txt", "tree/z.txt"]
        assert top.prefixes == ["tree/dir/", "tree/dir2/"]
        inner = storage.list("tree/dir/", delimiter="/")
        assert [o.key for o in inner.objects] == ["tree/dir/one.txt"]
        assert inner.prefixes == ["tree/dir/sub/"]
        partial = storage.list("tree/dir", delimiter="/")
        assert [o.key for o in partial.objects] == ["tree/dir-x.txt"]
        assert partial.prefixes == ["tree/dir/", "tree/dir2/"]
        root = storage.list("", delimiter="/")
        assert root.objects == []
        assert root.prefixes == ["tree/"]

    @_section("list")
    def test_list_pages_each_key_once(self, storage: TenantStorage) -> None:
        keys = sorted([f"page/k{i:02d}" for i in range(18)] + [f"page/sub/x{i}" for i in range(5)])
        for key in keys:
            storage.put(key, b"p")
        storage.put("pagez/outside", b"p")
        seen: list[str] = []
        cursor: str | None = None
        for _page in range(50):
            listing = storage.list("page/", limit=5, cursor=cursor)
            assert len(listing.objects) <= 5
            assert listing.prefixes == []
            seen.extend(o.key for o in listing.objects)
            cursor = listing.cursor
            if cursor is None:
                break
        assert seen == keys

    @_section("list")
    def test_list_pages_with_delimiter(self, storage: TenantStorage) -> None:
        objects = [f"deep/f{i:02d}" for i in range(9)]
        folders = [f"deep/g{i}/inner" for i in range(5)] + ["deep/f04/nested"]
        for key in objects + folders:
            storage.put(key, b"d")
        expected = sorted(objects + [f"deep/g{i}/" for i in range(5)] + ["deep/f04/"])
        pages: list[list[str]] = []
        cursor: str | None = None
        for _page in range(50):
            listing = storage.list("deep/", delimiter="/", limit=4, cursor=cursor)
            entries = [o.key for o in listing.objects] + listing.prefixes
            assert len(entries) <= 4
            pages.append(sorted(entries))
            cursor = listing.cursor
            if cursor is None:
                break
        flat = [entry for page in pages for entry in page]
        assert sorted(flat) == expected
        assert len(flat) == len(set(flat)), "an entry appeared on two pages"
        assert flat == expected, "pages are not in key order"

    @_section("list")
    def test_list_limit_is_checked(self, storage: TenantStorage) -> None:
        with pytest.raises(InvalidRequest):
            storage.list("", limit=0)
        with pytest.raises(InvalidRequest):
            storage.list("", limit=1001)
        with pytest.raises(InvalidRequest):
            storage.list("", delimiter="|")

    # --- copy -----------------------------------------------------------------------

    @_section("copy")
    def test_copy(self, storage: TenantStorage) -> None:
        data = _blob(70_000, seed=5)
        storage.put("copy/source.bin", data, content_type="image/png", metadata={"tag": "orig"})
        info = storage.copy("copy/source.bin", "copy/nested/destination.bin")
        assert info.key == "copy/nested/destination.bin"
        assert info.size == len(data)
        assert storage.get("copy/nested/destination.bin") == data
        head = storage.head("copy/nested/destination.bin")
        assert head.content_type == "image/png"
        assert head.metadata == {"tag": "orig"}
        assert storage.get("copy/source.bin") == data
        storage.put("copy/source.bin", b"new source")
        assert storage.get("copy/nested/destination.bin") == data

    @_section("copy")
    def test_copy_replaces_the_destination(self, storage: TenantStorage) -> None:
        storage.put("copy/a", b"aaaa")
        storage.put("copy/b", b"bb", content_type="text/plain")
        storage.copy("copy/a", "copy/b")
        assert storage.get("copy/b") == b"aaaa"
        assert storage.head("copy/b").size == 4

    # --- keys and cursors -----------------------------------------------------------

    @_section("keys")
    @pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
    def test_bad_key_is_refused(self, storage: TenantStorage, key: str) -> None:
        storage.put("keys/good", b"g")
        calls: list[Callable[[], object]] = [
            lambda: storage.put(key, b"x"),
            lambda: storage.get(key),
            lambda: storage.head(key),
            lambda: storage.stream(key),
            lambda: storage.delete(key),
            lambda: storage.copy("keys/good", key),
            lambda: storage.copy(key, "keys/other"),
            lambda: storage.exists(key),
        ]
        if StorageCapability.PRESIGN in storage.capabilities:
            calls.append(lambda: storage.presign_get(key, expires_in=60))
            calls.append(lambda: storage.presign_put(key, expires_in=60))
        for call in calls:
            with pytest.raises(InvalidKey) as caught:
                call()
            assert "key" in str(caught.value)
        assert _all_keys(storage) == ["keys/good"]

    @_section("keys")
    @pytest.mark.parametrize("prefix", BAD_PREFIXES, ids=repr)
    def test_bad_prefix_is_refused(self, storage: TenantStorage, prefix: str) -> None:
        with pytest.raises(InvalidKey):
            storage.list(prefix)

    @_section("cursor")
    def test_tampered_cursor_is_refused(self, storage: TenantStorage) -> None:
        for i in range(3):
            storage.put(f"cur/{i}", b"c")
        cursor = storage.list("cur/", limit=1).cursor
        assert cursor is not None
        with pytest.raises(InvalidCursor):
            storage.list("cur/", limit=1, cursor=_tamper_cursor(cursor))
        with pytest.raises(InvalidCursor):
            storage.list("cur/", limit=1, cursor="not-a-cursor")
        with pytest.raises(InvalidCursor):  # issued for another query
            storage.list("cur", limit=1, cursor=cursor)
        with pytest.raises(InvalidCursor):
            storage.list("cur/", delimiter="/", limit=1, cursor=cursor)

    @_section("cursor")
    def test_cursor_of_another_tenant_is_refused(
        self, storage: TenantStorage, other_storage: TenantStorage
    ) -> None:
        for i in range(3):
            storage.put(f"cur/{i}", b"c")
            other_storage.put(f"cur/{i}", b"c")
        cursor = storage.list("cur/", limit=1).cursor
        assert cursor is not None
        with pytest.raises(InvalidCursor):
            other_storage.list("cur/", limit=1, cursor=cursor)

    # --- isolation ------------------------------------------------------------------

    @_section("isolation")
    def test_other_tenant_cannot_read(
        self, storage: TenantStorage, other_storage: TenantStorage
    ) -> None:
        storage.put("shared/secret.txt", b"tenant one only", metadata={"owner": "one"})
        with pytest.raises(NotFound):
            other_storage.get("shared/secret.txt")
        with pytest.raises(NotFound):
            other_storage.head("shared/secret.txt")
        with pytest.raises(NotFound):
            b"".join(other_storage.stream("shared/secret.txt"))
        with pytest.raises(NotFound):
            other_storage.copy("shared/secret.txt", "stolen.txt")
        assert not other_storage.exists("shared/secret.txt")
        assert not other_storage.exists("stolen.txt")

    @_section("isolation")
    def test_other_tenant_cannot_list(
        self, storage: TenantStorage, other_storage: TenantStorage
    ) -> None:
        storage.put("shared/one.txt", b"1")
        storage.put("shared/deeper/two.txt", b"2")
        other_storage.put("shared/mine.txt", b"m")
        assert _all_keys(other_storage) == ["shared/mine.txt"]
        assert _all_keys(other_storage, "shared/") == ["shared/mine.txt"]
        top = other_storage.list("", delimiter="/")
        assert top.prefixes == ["shared/"]
        inner = other_storage.list("shared/", delimiter="/")
        assert [o.key for o in inner.objects] == ["shared/mine.txt"]
        assert inner.prefixes == []
        assert _all_keys(storage) == ["shared/deeper/two.txt", "shared/one.txt"]

    @_section("isolation")
    def test_other_tenant_cannot_overwrite_or_delete(
        self, storage: TenantStorage, other_storage: TenantStorage
    ) -> None:
        storage.put("shared/doc.txt", b"original", content_type="text/plain")
        other_storage.put("shared/doc.txt", b"intruder", content_type="text/html")
        assert storage.get("shared/doc.txt") == b"original"
        assert storage.head("shared/doc.txt").content_type == "text/plain"
        assert other_storage.get("shared/doc.txt") == b"intruder"
        other_storage.copy("shared/doc.txt", "shared/copy.txt")
        with pytest.raises(NotFound):
            storage.get("shared/copy.txt")
        other_storage.delete("shared/doc.txt")
        assert storage.get("shared/doc.txt") == b"original"
        with pytest.raises(NotFound):
            other_storage.get("shared/doc.txt")

    @_section("isolation")
    def test_other_tenant_presigned_url_reaches_only_its_own_key(
        self, storage: TenantStorage, other_storage: TenantStorage, http: httpx.Client
    ) -> None:
        self._need_presign(storage)
        storage.put("shared/report.pdf", b"tenant one report")
        response = http.get(other_storage.presign_get("shared/report.pdf", expires_in=60))
        assert response.status_code in (403, 404)
        assert b"tenant one report" not in response.content
        upload = other_storage.presign_put("shared/report.pdf", expires_in=60)
        headers = other_storage.presigned_put_headers
        assert http.put(upload, content=b"overwrite attempt", headers=headers).is_success
        assert storage.get("shared/report.pdf") == b"tenant one report"
        assert other_storage.get("shared/report.pdf") == b"overwrite attempt"

    # --- presigned URLs -------------------------------------------------------------

    def _need_presign(self, storage: TenantStorage) -> None:
        if StorageCapability.PRESIGN not in storage.capabilities:
            pytest.skip("the provider does not declare presigned URLs")

    def _need_enforcement(self, storage: TenantStorage) -> None:
        self._need_presign(storage)
        if not self.presign_enforced:
            pytest.skip("this test server does not check presigned URL signatures")

    @_section("presign")
    def test_presign_undeclared_is_unsupported(
        self, storage: TenantStorage, object_store: ObjectStore, tenant_ids: tuple[str, str]
    ) -> None:
        if StorageCapability.PRESIGN in storage.capabilities:
            pytest.skip("the provider declares presigned URLs (checked by the presign tests)")
        with pytest.raises(Unsupported):
            storage.presign_get("x.txt", expires_in=60)
        with pytest.raises(Unsupported):
            storage.presign_put("x.txt", expires_in=60)
        with pytest.raises(Unsupported):
            object_store.presign_get(f"{tenant_ids[0]}/x.txt", expires_in=60)
        with pytest.raises(Unsupported):
            object_store.presign_put(f"{tenant_ids[0]}/x.txt", expires_in=60)

    @_section("presign")
    def test_presign_get(self, storage: TenantStorage, http: httpx.Client) -> None:
        self._need_presign(storage)
        data = _blob(100_000, seed=6)
        storage.put("presign/photo.jpg", data, content_type="image/jpeg")
        url = storage.presign_get("presign/photo.jpg", expires_in=300)
        assert url.startswith(("http://", "https://"))
        response = http.get(url)
        assert response.status_code == 200, response.text
        assert response.content == data
        assert response.headers["content-type"] == "image/jpeg"

    @_section("presign")
    def test_presign_get_special_key(self, storage: TenantStorage, http: httpx.Client) -> None:
        self._need_presign(storage)
        key = "presign/ünï cødé+%20?&=#.txt"
        storage.put(key, b"special")
        response = http.get(storage.presign_get(key, expires_in=300))
        assert response.status_code == 200, response.text
        assert response.content == b"special"

    @_section("presign")
    def test_presign_put(self, storage: TenantStorage, http: httpx.Client) -> None:
        self._need_presign(storage)
        url = storage.presign_put("presign/upload.csv", expires_in=300, content_type="text/csv")
        headers = {**storage.presigned_put_headers, "Content-Type": "text/csv"}
        response = http.put(url, content=b"a,b\n1,2\n", headers=headers)
        assert response.is_success, response.text
        assert storage.get("presign/upload.csv") == b"a,b\n1,2\n"
        assert storage.head("presign/upload.csv").content_type == "text/csv"

    @_section("presign")
    def test_presign_put_without_content_type(
        self, storage: TenantStorage, http: httpx.Client
    ) -> None:
        self._need_presign(storage)
        data = _blob(300_000, seed=7)
        storage.put("presign/replace.bin", b"old")
        url = storage.presign_put("presign/replace.bin", expires_in=300)
        response = http.put(url, content=data, headers=storage.presigned_put_headers)
        assert response.is_success, response.text
        assert storage.get("presign/replace.bin") == data

    @_section("presign")
    def test_presign_expiry_is_checked(self, storage: TenantStorage) -> None:
        self._need_presign(storage)
        for expires_in in (0, -5, 7 * 24 * 3600 + 1):
            with pytest.raises(InvalidRequest):
                storage.presign_get("presign/x", expires_in=expires_in)
            with pytest.raises(InvalidRequest):
                storage.presign_put("presign/x", expires_in=expires_in)

    @_section("presign")
    def test_presign_expired_url_is_refused(
        self, storage: TenantStorage, http: httpx.Client
    ) -> None:
        self._need_enforcement(storage)
        storage.put("presign/soon-gone.txt", b"expiring")
        get_url = storage.presign_get("presign/soon-gone.txt", expires_in=1)
        put_url = storage.presign_put("presign/soon-gone.txt", expires_in=1)
        time.sleep(2.5)
        response = http.get(get_url)
        assert _refused(response), response.status_code
        assert b"expiring" not in response.content
        assert _refused(http.put(put_url, content=b"late", headers=storage.presigned_put_headers))
        assert storage.get("presign/soon-gone.txt") == b"expiring"

    @_section("presign")
    def test_presign_tampered_url_is_refused(
        self, storage: TenantStorage, http: httpx.Client
    ) -> None:
        self._need_enforcement(storage)
        storage.put("presign/aaaa-public.txt", b"public")
        storage.put("presign/bbbb-secret.txt", b"secret")
        url = storage.presign_get("presign/aaaa-public.txt", expires_in=300)
        assert http.get(url).status_code == 200
        signed_path = quote("presign/aaaa-public.txt")
        assert signed_path in url, "the key does not appear in the URL path"
        swapped = url.replace(signed_path, quote("presign/bbbb-secret.txt"), 1)
        response = http.get(swapped)
        assert _refused(response), response.status_code
        assert b"secret" not in response.content
        response = http.get(_tamper_query(url))
        assert _refused(response), response.status_code
        assert b"public" not in response.content

    @_section("presign")
    def test_presign_put_with_wrong_content_type_is_refused(
        self, storage: TenantStorage, http: httpx.Client
    ) -> None:
        self._need_enforcement(storage)
        if not self.presign_content_type_enforced:
            pytest.skip("the service cannot bind a presigned upload to a content type")
        url = storage.presign_put("presign/typed.json", expires_in=300, content_type="text/csv")
        headers = {**storage.presigned_put_headers, "Content-Type": "text/html"}
        response = http.put(url, content=b"<html>", headers=headers)
        assert _refused(response), response.status_code
        with pytest.raises(NotFound):
            storage.get("presign/typed.json")
