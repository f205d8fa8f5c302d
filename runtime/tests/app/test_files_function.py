"""The files function: presigned upload, confirmation with the tenant's size limit,
listing, presigned download, deletion; the presigned URLs are real ones served by
the local provider's PresignApp on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tenantkit_runtime.functions import files

from .conftest import presigned_storage


def call(event: dict[str, Any]) -> dict[str, Any]:
    return files.handler(event, None)


@pytest.fixture
def storage_url(tenants) -> Iterator[str]:
    """The PresignApp over the tenants' storage root; the tenants' base_url points at it."""
    with presigned_storage(tenants) as url:
        yield url


def request_upload(events: Any, body: Any, size: int, **who: Any) -> dict[str, Any]:
    result = call(
        events.http(
            "POST",
            "/files",
            body={"name": "report.txt", "content_type": "text/plain", "size": size},
            **who,
        )
    )
    assert result["statusCode"] == 201, result
    answer: dict[str, Any] = body(result)
    return answer


def test_upload_confirm_list_download_delete(storage_url, events, body) -> None:
    data = b"quarterly numbers\n"
    offer = request_upload(events, body, len(data))
    assert offer["file"]["status"] == "pending"
    assert offer["upload"]["method"] == "PUT"
    assert offer["upload"]["url"].startswith(storage_url)
    put = httpx.put(offer["upload"]["url"], content=data, headers=offer["upload"]["headers"])
    assert put.status_code in (200, 201, 204), put.text
    fid = offer["file"]["id"]
    confirmed = call(events.http("POST", f"/files/{fid}/confirm"))
    assert confirmed["statusCode"] == 200, confirmed
    assert body(confirmed)["status"] == "ready"
    assert body(confirmed)["size"] == len(data)
    listed = body(call(events.http("GET", "/files")))
    assert [f["id"] for f in listed["files"]] == [fid]
    assert body(call(events.http("GET", "/files", tenant="globex")))["files"] == []
    link = body(call(events.http("GET", f"/files/{fid}/download")))
    downloaded = httpx.get(link["url"])
    assert downloaded.status_code == 200
    assert downloaded.content == data
    assert call(events.http("GET", f"/files/{fid}", tenant="globex"))["statusCode"] == 404
    assert call(events.http("DELETE", f"/files/{fid}", user="mallory"))["statusCode"] == 403
    assert call(events.http("DELETE", f"/files/{fid}"))["statusCode"] == 204
    assert call(events.http("GET", f"/files/{fid}"))["statusCode"] == 404
    assert httpx.get(link["url"]).status_code == 404


def test_a_tenant_admin_may_delete_anyones_file(storage_url, events, body) -> None:
    offer = request_upload(events, body, 1)
    fid = offer["file"]["id"]
    result = call(events.http("DELETE", f"/files/{fid}", user="root", roles="member,admin"))
    assert result["statusCode"] == 204


def test_an_announced_size_over_the_limit_is_refused(storage_url, events, body) -> None:
    result = call(
        events.http("POST", "/files", body={"name": "big.bin", "size": 1025}),
    )
    assert result["statusCode"] == 413
    assert "1024" in body(result)["error"]["message"]
    assert body(call(events.http("GET", "/files")))["files"] == []


def test_an_upload_over_the_limit_is_deleted_on_confirmation(storage_url, events, body) -> None:
    offer = request_upload(events, body, 10)  # announces 10 bytes, sends 2,000
    put = httpx.put(offer["upload"]["url"], content=b"x" * 2000, headers=offer["upload"]["headers"])
    assert put.status_code in (200, 201, 204)
    fid = offer["file"]["id"]
    result = call(events.http("POST", f"/files/{fid}/confirm"))
    assert result["statusCode"] == 413
    assert body(result)["error"]["code"] == "payload_too_large"
    assert call(events.http("GET", f"/files/{fid}"))["statusCode"] == 404
    from tenantkit_runtime import deployment

    assert not deployment.resolver().resolve("acme").storage.exists(f"library/{fid}")


def test_confirming_before_uploading_is_a_conflict(storage_url, events, body) -> None:
    offer = request_upload(events, body, 5)
    fid = offer["file"]["id"]
    result = call(events.http("POST", f"/files/{fid}/confirm"))
    assert result["statusCode"] == 409
    pending = call(events.http("GET", f"/files/{fid}/download"))
    assert pending["statusCode"] == 409


def test_upload_requests_are_validated(storage_url, events, body) -> None:
    result = call(
        events.http("POST", "/files", body={"name": "", "content_type": "text", "size": -1})
    )
    assert result["statusCode"] == 422
    paths = {d["path"] for d in body(result)["error"]["details"]}
    assert paths == {"name", "content_type", "size"}
