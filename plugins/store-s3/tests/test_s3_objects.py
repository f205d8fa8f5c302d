"""Objects under the tenant's prefix: put, get, stream, head, list, copy, delete, presign."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import tenantkit_store_s3.store as s3_store
from tenantkit import TenantStorage
from tenantkit.errors import InvalidRequest, NotFound
from tenantkit_store_s3 import S3Settings
from tenantkit_store_s3.store import MIN_PART_SIZE, S3Store


def _keys(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", ())]


def test_bytes_round_trip_with_type_and_metadata(tenant_store: TenantStorage) -> None:
    info = tenant_store.put(
        "docs/a.txt", b"hello world", content_type="text/plain", metadata={"owner": "u1"}
    )
    assert (info.key, info.size, info.content_type) == ("docs/a.txt", 11, "text/plain")
    assert info.etag == "5eb63bbbe01eeed093cb22bb8f5acdc3"
    head = tenant_store.head("docs/a.txt")
    assert (head.key, head.size, head.etag) == ("docs/a.txt", 11, info.etag)
    assert head.content_type == "text/plain"
    assert head.metadata == {"owner": "u1"}
    assert head.last_modified is not None
    assert tenant_store.get("docs/a.txt") == b"hello world"


def test_ranges_and_streams(tenant_store: TenantStorage) -> None:
    tenant_store.put("r.bin", bytes(range(256)))
    assert tenant_store.get("r.bin", offset=10, length=5) == bytes(range(10, 15))
    assert tenant_store.get("r.bin", offset=250) == bytes(range(250, 256))
    assert tenant_store.get("r.bin", offset=250, length=100) == bytes(range(250, 256))
    with pytest.raises(InvalidRequest, match="InvalidRange"):
        tenant_store.get("r.bin", offset=256)
    chunks = list(tenant_store.stream("r.bin", chunk_size=100))
    assert [len(c) for c in chunks] == [100, 100, 56]
    assert b"".join(chunks) == bytes(range(256))


def test_file_objects_iterables_and_empty_bodies(tenant_store: TenantStorage) -> None:
    tenant_store.put("f.bin", io.BytesIO(b"from a file"))
    tenant_store.put("i.bin", iter([b"from ", b"", b"chunks"]))
    tenant_store.put("e.bin", b"")
    tenant_store.put("e2.bin", iter([]))
    assert tenant_store.get("f.bin") == b"from a file"
    assert tenant_store.get("i.bin") == b"from chunks"
    assert tenant_store.get("e.bin") == b""
    assert tenant_store.head("e2.bin").size == 0


def test_objects_live_under_root_and_tenant_prefixes(
    make_store: Callable[..., S3Store],
    make_settings: Callable[..., S3Settings],
    scoped: Callable[..., TenantStorage],
    s3: Any,
    bucket: str,
) -> None:
    store = make_store(make_settings(prefix="apps/files"))
    abc, abc1 = scoped(store, "abc"), scoped(store, "abc-1")
    abc.put("x/1.txt", b"1")
    abc.put("x/y/2.txt", b"2")
    abc.put("top.txt", b"t")
    abc1.put("x/1.txt", b"other tenant")
    assert sorted(_keys(s3, bucket)) == [
        "apps/files/abc-1/x/1.txt",
        "apps/files/abc/top.txt",
        "apps/files/abc/x/1.txt",
        "apps/files/abc/x/y/2.txt",
    ]
    listing = abc.list("")
    assert [o.key for o in listing.objects] == ["top.txt", "x/1.txt", "x/y/2.txt"]
    shallow = abc.list("x/", delimiter="/")
    assert [o.key for o in shallow.objects] == ["x/1.txt"]
    assert shallow.prefixes == ["x/y/"]
    assert abc.get("x/1.txt") == b"1"
    assert abc1.get("x/1.txt") == b"other tenant"
    assert [o.key for o in abc1.list("").objects] == ["x/1.txt"]


def test_listing_pages_with_cursors(tenant_store: TenantStorage) -> None:
    names = [f"p/{i:02}" for i in range(7)]
    for name in names:
        tenant_store.put(name, name.encode())
    seen, cursor, pages = [], None, 0
    while True:
        page = tenant_store.list("p/", limit=3, cursor=cursor)
        seen += [o.key for o in page.objects]
        pages += 1
        if page.cursor is None:
            break
        cursor = page.cursor
    assert seen == names
    assert pages == 3
    assert all(o.size == 4 for o in tenant_store.list("p/").objects)


def test_copy_keeps_type_and_metadata(tenant_store: TenantStorage) -> None:
    tenant_store.put("src.txt", b"copy me", content_type="text/plain", metadata={"k": "v"})
    info = tenant_store.copy("src.txt", "dst/copy.txt")
    assert (info.key, info.size, info.content_type, info.metadata) == (
        "dst/copy.txt",
        7,
        "text/plain",
        {"k": "v"},
    )
    assert tenant_store.get("dst/copy.txt") == b"copy me"
    with pytest.raises(NotFound):
        tenant_store.copy("missing.txt", "x.txt")


def test_large_objects_are_copied_in_parts(
    tenant_store: TenantStorage, monkeypatch: pytest.MonkeyPatch, s3: Any, bucket: str
) -> None:
    monkeypatch.setattr(s3_store, "_MAX_COPY_OBJECT", MIN_PART_SIZE)
    monkeypatch.setattr(s3_store, "_COPY_PART_SIZE", MIN_PART_SIZE)
    body = os.urandom(2 * MIN_PART_SIZE + 123)
    tenant_store.put("big.bin", body, content_type="application/x-big", metadata={"k": "v"})
    info = tenant_store.copy("big.bin", "big-copy.bin")
    assert info.etag is not None
    assert info.etag.endswith("-3")
    assert tenant_store.get("big-copy.bin") == body
    head = tenant_store.head("big-copy.bin")
    assert (head.content_type, head.metadata) == ("application/x-big", {"k": "v"})
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_delete_is_idempotent(tenant_store: TenantStorage) -> None:
    tenant_store.put("gone.txt", b"x")
    tenant_store.delete("gone.txt")
    tenant_store.delete("gone.txt")
    assert not tenant_store.exists("gone.txt")
    with pytest.raises(NotFound):
        tenant_store.get("gone.txt")


def test_new_objects_are_encrypted_with_the_tenants_kms_key(
    make_store: Callable[..., S3Store],
    make_settings: Callable[..., S3Settings],
    scoped: Callable[..., TenantStorage],
    s3: Any,
    bucket: str,
) -> None:
    key_id = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    tenant = scoped(make_store(make_settings(kms_key_id=key_id)))
    tenant.put("small.txt", b"secret")
    tenant.put("large.bin", iter([os.urandom(MIN_PART_SIZE), b"tail"]))
    tenant.copy("small.txt", "copied.txt")
    for name in ("small.txt", "large.bin", "copied.txt"):
        head = s3.head_object(Bucket=bucket, Key=f"acme/{name}")
        assert head["ServerSideEncryption"] == "aws:kms", name
        assert head["SSEKMSKeyId"] == key_id, name


def test_presigned_urls_work_over_plain_http(tenant_store: TenantStorage) -> None:
    tenant_store.put("share/report.csv", b"a,b\n1,2\n", content_type="text/csv")
    url = tenant_store.presign_get("share/report.csv", expires_in=120)
    assert "X-Amz-Expires=120" in url
    answer = httpx.get(url)
    assert answer.status_code == 200
    assert answer.content == b"a,b\n1,2\n"

    upload = tenant_store.presign_put("inbox/photo.png", expires_in=60, content_type="image/png")
    assert "content-type" in httpx.URL(upload).params["X-Amz-SignedHeaders"]
    sent = httpx.put(upload, content=b"\x89PNG...", headers={"Content-Type": "image/png"})
    assert sent.status_code == 200
    head = tenant_store.head("inbox/photo.png")
    assert (head.size, head.content_type) == (7, "image/png")
    assert tenant_store.get("inbox/photo.png") == b"\x89PNG..."


@pytest.mark.parametrize(
    ("prefix", "stored"), [("", ""), ("a", "a/"), ("a/b/", "a/b/"), ("a//", None), ("/a", None)]
)
def test_the_root_prefix_is_normalized(
    make_settings: Callable[..., S3Settings], prefix: str, stored: str | None
) -> None:
    if stored is None:
        with pytest.raises(ValueError, match="prefix"):
            make_settings(prefix=prefix)
    else:
        assert make_settings(prefix=prefix).prefix == stored
