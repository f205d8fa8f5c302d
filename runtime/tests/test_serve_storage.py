"""``tenantkit serve`` serves the presigned URLs of the deployment's own ``local`` store:
what the operator configured in the defaults, for the tenants that use it, each for its
own keys, and never where it would hide an API route."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tenantkit.errors import ConfigurationError
from tenantkit.providers.local_storage import LocalObjectStore, LocalStorageSettings
from tenantkit.settings import Secret
from tenantkit_runtime.local import gateway
from tenantkit_runtime.local.server import Functions, Gateway, LocalServer, StorageMounts, bind

KEY = "storage-key-0123456789abcdef"
ATTACKER_KEY = "attacker-chosen-key-0123456789"


def _write(config: Path, name: str, document: dict[str, Any]) -> None:
    config.mkdir(parents=True, exist_ok=True)
    (config / f"{name}.json").write_text(json.dumps(document))


def _storage(root: Path, base_url: str, key: str = KEY) -> dict[str, Any]:
    return {"provider": "local", "root": str(root), "base_url": base_url, "signing_key": key}


def _defaults(config: Path, storage: dict[str, Any], root: Path) -> None:
    _write(
        config,
        "defaults",
        {
            "schema_version": 1,
            "db": {"provider": "sqlite", "path": str(root / "db.sqlite3")},
            "llm": {"provider": "echo"},
            "storage": storage,
        },
    )


def _tenant(config: Path, tenant: str, **sections: Any) -> None:
    _write(config, tenant, {"schema_version": 1, "tenant_id": tenant, **sections})


def _store(root: Path, base_url: str, key: str = KEY) -> LocalObjectStore:
    return LocalObjectStore(
        LocalStorageSettings(root=root, base_url=base_url, signing_key=Secret(key))
    )


def test_the_defaults_store_is_served_for_its_tenants_only(tmp_path: Path) -> None:
    sock = bind(0)
    host, port = sock.getsockname()
    url = f"http://{host}:{port}"
    config, objects = tmp_path / "config", tmp_path / "objects"
    _defaults(config, _storage(objects, url + "/blobs"), tmp_path)
    _tenant(config, "acme")
    _tenant(config, "globex")
    # A tenant section naming its own store at this server mounts nothing.
    _tenant(config, "mallory", storage=_storage(tmp_path / "evil", url + "/_evil", ATTACKER_KEY))
    storage = StorageMounts(config, url)
    assert storage.paths == ["/blobs"]
    store = _store(objects, url + "/blobs")
    store.put("globex/secret.txt", b"globex's")
    attacker = _store(objects, url + "/_evil", ATTACKER_KEY)
    with (
        LocalServer(Gateway(Functions({}), storage=storage), sock).running(),
        httpx.Client(trust_env=False) as http,
    ):
        put = store.presign_put("acme/notes/a b.txt", expires_in=60, content_type="text/plain")
        answer = http.put(put, content=b"hello", headers={"content-type": "text/plain"})
        assert answer.status_code == 200
        get = store.presign_get("acme/notes/a b.txt", expires_in=60)
        assert http.get(get).content == b"hello"
        assert http.get(get.replace("signature=", "signature=0")).status_code == 403
        assert http.get(url + "/blobs/acme/notes/a%20b.txt").status_code == 403
        # The attacker's key signs nothing the mount accepts; its path is not mounted.
        forged = attacker.presign_get("globex/secret.txt", expires_in=60)
        assert http.get(forged).status_code == 404
        forged_here = forged.replace("/_evil/", "/blobs/")
        assert http.get(forged_here).status_code == 403
        # mallory does not use the defaults' store: its URLs are not served even when
        # signed with the right key.
        assert http.get(store.presign_get("mallory/x", expires_in=60)).status_code == 403
        # A tenant added while the server runs is served once the directory is read again.
        _tenant(config, "later")
        store.put("later/x", b"new")
        time.sleep(1.1)
        assert http.get(store.presign_get("later/x", expires_in=60)).content == b"new"
    assert store.get("globex/secret.txt") == b"globex's"


@pytest.mark.parametrize(
    "path",
    ["", "/", "/files", "/config", "/config/x", "/conversations/abc", "/v1", "/ws", "/.well-known"],
)
def test_a_base_url_that_hides_an_api_route_stops_the_server(tmp_path: Path, path: str) -> None:
    url = "http://127.0.0.1:8123"
    config = tmp_path / "config"
    _defaults(config, _storage(tmp_path / "objects", url + path), tmp_path)
    with pytest.raises(ConfigurationError) as refused:
        StorageMounts(config, url)
    assert "would hide the API route" in refused.value.message
    assert KEY not in refused.value.message


def test_shadowed_routes() -> None:
    reserved = ("/ws", "/.well-known/jwks.json")
    assert gateway.shadowed_route("/_storage", reserved) is None
    assert gateway.shadowed_route("/files-of-initech", reserved) is None
    assert gateway.shadowed_route("/", reserved) == "/"
    assert gateway.shadowed_route("/files", reserved) == "/files"
    assert gateway.shadowed_route("/files/x", reserved) == "/files"
    assert gateway.shadowed_route("/v1/chat", reserved) == "/v1/chat/completions"
    assert gateway.shadowed_route("/ws/@connections", reserved) == "/ws"


def test_a_hiding_base_url_set_while_serving_is_not_mounted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = "http://127.0.0.1:8123"
    config = tmp_path / "config"
    _defaults(config, _storage(tmp_path / "objects", url + "/_storage"), tmp_path)
    storage = StorageMounts(config, url)
    assert storage.paths == ["/_storage"]
    _defaults(config, _storage(tmp_path / "objects", url), tmp_path)
    storage.rescan()
    assert storage.paths == []
    assert storage.find("/config") is None
    assert "would hide the API route" in caplog.text


def test_presigned_urls_answer_cors_to_this_servers_consoles_only(tmp_path: Path) -> None:
    """A console at ``http://<tenant>.localhost:PORT`` uploads and downloads with
    presigned URLs of the storage origin: preflights and answers carry CORS for the
    consoles of this server, never for another origin."""
    sock = bind(0)
    host, port = sock.getsockname()
    url = f"http://{host}:{port}"
    config, objects = tmp_path / "config", tmp_path / "objects"
    _defaults(config, _storage(objects, url + "/_storage"), tmp_path)
    _tenant(config, "acme")
    store = _store(objects, url + "/_storage")
    console = f"http://acme.localhost:{port}"
    with (
        LocalServer(Gateway(Functions({}), storage=StorageMounts(config, url)), sock).running(),
        httpx.Client(trust_env=False) as http,
    ):
        put = store.presign_put("acme/up.txt", expires_in=60, content_type="text/plain")
        preflight = http.options(
            put,
            headers={
                "origin": console,
                "access-control-request-method": "PUT",
                "access-control-request-headers": "content-type",
            },
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == console
        assert "PUT" in preflight.headers["access-control-allow-methods"]
        assert preflight.headers["access-control-allow-headers"] == "content-type"
        assert "origin" in preflight.headers["vary"].lower()
        answer = http.put(
            put, content=b"hello", headers={"content-type": "text/plain", "origin": console}
        )
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == console
        get = store.presign_get("acme/up.txt", expires_in=60)
        operator = f"http://localhost:{port}"
        downloaded = http.get(get, headers={"origin": operator})
        assert downloaded.content == b"hello"
        assert downloaded.headers["access-control-allow-origin"] == operator
        # a refused signature stays refused, and says so to the console's script
        forged = http.get(get.replace("signature=", "signature=0"), headers={"origin": console})
        assert forged.status_code == 403
        # other origins: no CORS grant (another port, another site, a nested label, junk)
        for other in (
            f"http://acme.localhost:{port + 1}",
            "https://evil.example",
            f"http://a.b.localhost:{port}",
            f"http://acme.localhost.evil.example:{port}",
            "null",
        ):
            refused = http.options(
                put, headers={"origin": other, "access-control-request-method": "PUT"}
            )
            assert refused.status_code == 403, other
            assert "access-control-allow-origin" not in refused.headers
            plain = http.get(get, headers={"origin": other})
            assert plain.status_code == 200
            assert "access-control-allow-origin" not in plain.headers
        # a preflight asking for a header a presigned PUT never sends is refused
        odd = http.options(
            put,
            headers={
                "origin": console,
                "access-control-request-method": "PUT",
                "access-control-request-headers": "x-forwarded-host",
            },
        )
        assert odd.status_code == 403
    assert store.get("acme/up.txt") == b"hello"
