"""Tenant acme's admin (alice) against tenant globex (bob), through every route of
``tenantkit serve --demo``: files, presigned URLs, conversations, settings, WebSocket
connections, pagination cursors and storage keys. Both tenants share one sqlite file,
one storage directory and one LLM: only the core's scoping keeps them apart."""

from __future__ import annotations

import json
import socket
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tenantkit import DirectorySource, Resolver
from tenantkit.errors import InvalidKey, NotFound
from tests.security._attack import Target, assert_no_leak, refused, wait_for

SECRET_BYTES = b"globex quarterly figures: do not share"


@pytest.fixture(scope="module")
def globex(target: Target) -> dict[str, Any]:
    """What globex owns: a confirmed file, a conversation with a message."""
    bob = target.auth("globex", "bob")
    upload = target.http.post(
        "/files",
        headers=bob,
        json={"name": "q3.txt", "content_type": "text/plain", "size": len(SECRET_BYTES)},
    )
    assert upload.status_code == 201, upload.text
    file_id = upload.json()["file"]["id"]
    put_url = upload.json()["upload"]["url"]
    put = httpx.put(put_url, content=SECRET_BYTES, headers={"content-type": "text/plain"})
    assert put.status_code in (200, 201, 204), put.text
    assert target.http.post(f"/files/{file_id}/confirm", headers=bob).status_code == 200
    download = target.http.get(f"/files/{file_id}/download", headers=bob).json()["url"]
    assert httpx.get(download).content == SECRET_BYTES
    conversation = target.http.post("/conversations", headers=bob, json={"title": "secret"})
    conversation_id = conversation.json()["id"]
    said = target.http.post(
        f"/conversations/{conversation_id}/messages", headers=bob, json={"content": "merger"}
    )
    assert said.status_code in (200, 201), said.text
    return {
        "file": file_id,
        "download": download,
        "put": put_url,
        "conversation": conversation_id,
    }


def _reveals_nothing(target: Target, response: httpx.Response) -> None:
    assert b"globex quarterly" not in response.content
    assert b"merger" not in response.content
    assert_no_leak(target, response.text)


# --- every route --------------------------------------------------------------------------


def test_acme_cannot_reach_globex_files(target: Target, globex: dict[str, Any]) -> None:
    alice = target.auth("acme", "alice")
    file_id = globex["file"]
    for method, path in (
        ("GET", f"/files/{file_id}"),
        ("GET", f"/files/{file_id}/download"),
        ("POST", f"/files/{file_id}/confirm"),
        ("DELETE", f"/files/{file_id}"),
    ):
        response = target.http.request(method, path, headers=alice)
        error = refused(target, response, 404)
        assert error["code"] == "not_found"
        _reveals_nothing(target, response)
    listed = target.http.get("/files", headers=alice)
    assert listed.status_code == 200
    assert file_id not in listed.text
    # globex's file is untouched
    bob = target.auth("globex", "bob")
    assert target.http.get(f"/files/{file_id}", headers=bob).json()["status"] == "ready"


def test_acme_cannot_reach_globex_conversations(target: Target, globex: dict[str, Any]) -> None:
    alice = target.auth("acme", "alice")
    conversation = globex["conversation"]
    for method, path, body in (
        ("GET", f"/conversations/{conversation}", None),
        ("GET", f"/conversations/{conversation}/messages", None),
        ("POST", f"/conversations/{conversation}/messages", {"content": "hi"}),
        ("DELETE", f"/conversations/{conversation}", None),
    ):
        response = target.http.request(method, path, headers=alice, json=body)
        refused(target, response, 404)
        _reveals_nothing(target, response)
    listed = target.http.get("/conversations", headers=alice)
    assert conversation not in listed.text
    bob = target.auth("globex", "bob")
    messages = target.http.get(f"/conversations/{conversation}/messages", headers=bob)
    assert "merger" in messages.text


def test_a_route_naming_another_tenant_is_refused(target: Target) -> None:
    alice = target.auth("acme", "alice")
    for path in ("/config", "/files", "/conversations", "/config/audit"):
        for extra in ({"x-tenant-id": "globex"}, {"X-Tenant-Id": "GLOBEX"}):
            response = target.http.get(path, headers={**alice, **extra})
            refused(target, response, 403, shape="gateway")
        response = target.http.get(path, params={"tenant_id": "globex"}, headers=alice)
        refused(target, response, 403, shape="gateway")
    own = target.http.get("/config", headers=alice)
    assert own.status_code == 200
    assert "globex" not in own.text.lower()
    patched = target.http.patch("/config", headers=alice, json={"tenant_id": "globex"})
    refused(target, patched, 422)
    audit = target.http.get("/config/audit", headers=alice)
    assert audit.status_code == 200
    assert "globex" not in audit.text


def test_acme_cannot_reach_globex_over_the_websocket(
    target: Target, globex: dict[str, Any]
) -> None:
    acme_token = target.token("acme", "alice")
    with (
        pytest.raises(InvalidStatus) as denied,
        connect(f"{target.websocket_url}?token={acme_token}&tenant_id=globex"),
    ):
        pass
    assert denied.value.response.status_code == 403
    with (
        connect(f"{target.websocket_url}?token={acme_token}") as alice,
        connect(f"{target.websocket_url}?token={target.token('globex', 'bob')}") as bob,
    ):
        bob.send(json.dumps({"action": "broadcast", "data": {"secret": "merger"}}))
        # bob's broadcast reaches globex's connections (bob's own) ...
        assert "merger" in wait_for(lambda: bob.recv(timeout=10))
        # ... and never acme's
        with pytest.raises(TimeoutError):
            alice.recv(timeout=1)
        alice.send(
            json.dumps(
                {"action": "chat", "content": "hi", "conversation_id": globex["conversation"]}
            )
        )
        reply = json.loads(alice.recv(timeout=10))
        assert reply["type"] == "error"
        assert reply["error"]["code"] == "not_found"
        assert "merger" not in json.dumps(reply)


def test_a_tenant_without_configuration_gets_404_naming_no_server_path(target: Target) -> None:
    token = target.token("umbrella", "peter")
    for path in ("/config", "/files", "/conversations"):
        response = target.http.get(path, headers={"authorization": f"Bearer {token}"})
        error = refused(target, response, 404)
        assert error["code"] == "tenant_not_found"
        assert "/" not in error["message"]


# --- cursors ------------------------------------------------------------------------------


def test_cursors_are_bound_to_their_tenant_and_query(target: Target) -> None:
    alice = target.auth("acme", "alice")
    for title in ("one", "two", "three"):
        target.http.post("/conversations", headers=alice, json={"title": title})
    page = target.http.get("/conversations", params={"limit": 1}, headers=alice).json()
    cursor = page["cursor"]
    assert cursor
    assert target.http.get("/conversations", params={"cursor": cursor}, headers=alice).is_success

    bob = target.auth("globex", "bob")
    replayed = target.http.get("/conversations", params={"cursor": cursor}, headers=bob)
    assert refused(target, replayed, 400)["code"] == "invalid_cursor"
    elsewhere = target.http.get("/files", params={"cursor": cursor}, headers=alice)
    assert refused(target, elsewhere, 400)["code"] == "invalid_cursor"
    flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    for tampered in (flipped, cursor + "x", cursor.split(".")[0], "." + cursor, "%00", "a" * 500):
        response = target.http.get("/conversations", params={"cursor": tampered}, headers=alice)
        assert refused(target, response, 400)["code"] == "invalid_cursor"


# --- presigned URLs -----------------------------------------------------------------------


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def _raw_get(target: Target, path_and_query: str, method: str = "GET") -> tuple[int, bytes]:
    """A request whose path is sent byte for byte (no client normalisation)."""
    with socket.create_connection(("127.0.0.1", target.serve.port), timeout=10) as sock:
        sock.sendall(
            f"{method} {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n".encode("latin-1")
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, answer


def test_presigned_url_tampering_is_refused(target: Target, globex: dict[str, Any]) -> None:
    url = globex["download"]
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    expires = query["expires"]
    signature = query["signature"]
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    other_key = parts._replace(path=parts.path.rsplit("/", 1)[0] + "/another").geturl()
    for tampered in (
        other_key,
        _with(url, expires=str(int(expires) + 3600)),
        _with(url, expires=str(int(expires) - 1)),
        _with(url, signature=flipped),
        _with(url, signature=""),
        _with(url, signature=signature.upper()),
        _with(url, content_type="text/html"),
        _with(url, extra="1"),
        url.split("?")[0],
    ):
        response = httpx.get(tampered)
        refused(target, response, (400, 403), shape="storage")
        assert SECRET_BYTES not in response.content
    # a GET URL does not allow PUT, HEAD is a GET, and other methods are refused
    overwrite = httpx.put(url, content=b"overwritten", headers={"content-type": "text/plain"})
    refused(target, overwrite, (403, 405), shape="storage")
    for method in ("DELETE", "POST", "PATCH"):
        refused(target, httpx.request(method, url), (403, 405), shape="storage")
    # the upload URL is for PUT only, and cannot read
    refused(target, httpx.get(globex["put"]), 403, shape="storage")
    bob = target.auth("globex", "bob")
    fresh = target.http.get(f"/files/{globex['file']}/download", headers=bob).json()["url"]
    assert httpx.get(fresh).content == SECRET_BYTES  # nothing was overwritten


def test_an_acme_url_cannot_be_moved_onto_a_globex_key(
    target: Target, globex: dict[str, Any]
) -> None:
    alice = target.auth("acme", "alice")
    upload = target.http.post("/files", headers=alice, json={"name": "a", "size": 1}).json()
    acme_url = upload["upload"]["url"]
    parts = urlsplit(acme_url)
    globex_path = parts.path.replace("/acme/", "/globex/").rsplit("/", 1)[0]
    moved = parts._replace(path=f"{globex_path}/{globex['file']}").geturl()
    response = httpx.put(moved, content=b"x", headers={"content-type": "application/octet-stream"})
    refused(target, response, 403, shape="storage")
    acme_prefix = parts.path.split("/acme/")[0] + "/acme/"
    for path in (
        f"{acme_prefix}../globex/library/{globex['file']}",
        f"{acme_prefix}..%2fglobex%2flibrary%2f{globex['file']}",
        f"{acme_prefix}%2e%2e/globex/library/{globex['file']}",
        f"{acme_prefix}library/%00",
        f"{acme_prefix}library/%ff%fe",
        f"{acme_prefix}/etc/passwd",
        f"{acme_prefix}library/{'a' * 4000}",
    ):
        status, answer = _raw_get(target, f"{path}?{parts.query}")
        assert 400 <= status < 500, (path, answer[:200])
        assert SECRET_BYTES not in answer


def test_an_expired_url_is_refused(target: Target, globex: dict[str, Any]) -> None:
    resolver = Resolver(DirectorySource(target.serve.config_dir))
    try:
        storage = resolver.resolve("globex").storage
        url = storage.presign_get(f"library/{globex['file']}", expires_in=1)
        time.sleep(2.1)
        refused(target, httpx.get(url), 403, shape="storage")
    finally:
        resolver.close()


# --- storage keys -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "../globex/library/x",
        "library/../../globex/x",
        "/etc/passwd",
        "//etc/passwd",
        "C:\\windows\\win.ini",
        "library/\x00x",
        "library/\x1b[2Jx",
        "library/x\r\nhost: evil",
        "\u2024\u2024/globex/x",  # one-dot leaders that look like ".."
        "\uff0e\uff0e/globex/x",  # full-width full stops
        "library/" + "a" * 5_000,
        "",
        ".",
        "..",
    ],
)
def test_hostile_storage_keys_are_refused(target: Target, key: str) -> None:
    """Keys reach the storage only through the tenant-scoped API: every hostile one is
    refused before any file is touched, for every operation."""
    resolver = Resolver(DirectorySource(target.serve.config_dir))
    try:
        storage = resolver.resolve("acme").storage
        lookalike = key.startswith(("\u2024", "\uff0e"))
        for operation in (
            lambda: storage.get(key),
            lambda: storage.head(key),
            lambda: storage.presign_get(key),
            lambda: storage.presign_put(key),
            lambda: storage.put(key, b"x"),
            lambda: storage.delete(key),
        ):
            try:
                operation()
            except InvalidKey as exc:
                assert not lookalike, key
                assert_no_leak(target, str(exc))
            except NotFound:
                assert lookalike, key  # an ordinary name inside acme's own prefix
            else:
                assert lookalike, key
    finally:
        resolver.close()
