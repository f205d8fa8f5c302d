"""A tenant admin cannot reach infrastructure: setting ownership, end to end.

The attack this file replays, against a real ``tenantkit serve --demo`` (both demo users
are admins of their tenant): ``acme``'s admin sends a whole ``local`` storage section
(its own signing key, a ``base_url`` on the server, a ``root``) through ``PUT
/config/providers/storage``, waits for the server to mount a presign application for
it, and signs URLs for ``globex``'s objects with its own key. Each step must fail: the
config API refuses every operator-owned field with 403 naming it, the server mounts
only the deployment's own store, and that store answers only URLs signed with the
operator's key, each for keys under the tenant it was signed for. No answer, audit
entry or log line carries a planted credential.

It also checks the ownership rule across every provider installed in the workspace
(what the conformance kit checks per provider), and the declared tenant-owned fields of
the workspace's own providers.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tenantkit.config import provider_specs
from tenantkit.plugins import Plugins
from tenantkit.providers.local_storage import LocalObjectStore, LocalStorageSettings
from tenantkit.registry import KINDS
from tenantkit.settings import Secret, tenant_owned_fields
from tenantkit.testing.settings import ownership_problems
from testharness.tenantkit_serve import ServeProcess, start_serve

ATTACKER_KEY = "attacker-chosen-key-0123456789"
PLANTED_PREFIX = "planted-prefix-value-5e1d"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """A server of its own: the attacks here try to change its configuration."""
    process = start_serve(tmp_path_factory.mktemp("ownership"), "--demo")
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def http(served: ServeProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=30, trust_env=False) as client:
        yield client


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def admins(served: ServeProcess) -> dict[str, dict[str, str]]:
    return {
        "acme": _auth(served.token("acme", "alice", ["admin"])),
        "globex": _auth(served.token("globex", "bob", ["admin"])),
    }


@pytest.fixture(scope="module")
def operator_key(served: ServeProcess) -> str:
    """The deployment's presign key: a credential no answer may carry."""
    defaults = json.loads((served.config_dir / "defaults.json").read_text())
    key: str = defaults["storage"]["signing_key"]
    return key


@pytest.fixture(scope="module")
def globex_file(http: httpx.Client, admins: dict[str, dict[str, str]]) -> str:
    """A file of globex's, uploaded through the API; its storage key."""
    upload = http.post(
        "/files",
        headers=admins["globex"],
        json={"name": "plans.txt", "content_type": "text/plain", "size": 15},
    )
    assert upload.status_code == 201, upload.text
    url = upload.json()["upload"]["url"]
    put = httpx.put(
        url, content=b"globex's plans.", headers=upload.json()["upload"]["headers"], timeout=30
    )
    assert put.status_code == 200, put.text
    confirmed = http.post(f"/files/{upload.json()['file']['id']}/confirm", headers=admins["globex"])
    assert confirmed.status_code == 200, confirmed.text
    path = urlsplit(url).path
    assert path.startswith("/_storage/globex/")
    return path.removeprefix("/_storage/")


def _attacker_url(served: ServeProcess, mount: str, key: str, method: str = "GET") -> str:
    """A presigned URL for ``key`` signed with the attacker's own key."""
    store = LocalObjectStore(
        LocalStorageSettings(
            root=served.state_dir / "attacker-scratch",
            base_url=served.url + mount,
            signing_key=Secret(ATTACKER_KEY),
        )
    )
    if method == "PUT":
        return store.presign_put(key, expires_in=300)
    return store.presign_get(key, expires_in=300)


def _refused(answer: httpx.Response, *paths: str) -> None:
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert error["code"] == "forbidden"
    assert sorted(d["path"] for d in error["details"]) == sorted(paths)


# --- the reported attack ---------------------------------------------------------------------


def test_a_tenant_admin_cannot_mount_a_store_and_read_another_tenants_objects(
    served: ServeProcess,
    http: httpx.Client,
    admins: dict[str, dict[str, str]],
    globex_file: str,
    operator_key: str,
) -> None:
    before = (served.config_dir / "acme.json").read_text()
    attack = http.put(
        "/config/providers/storage",
        headers=admins["acme"],
        json={
            "provider": "local",
            "signing_key": ATTACKER_KEY,
            "base_url": served.url + "/_evil",
        },
    )
    _refused(attack, "storage.base_url", "storage.signing_key")
    assert ATTACKER_KEY not in attack.text
    assert (served.config_dir / "acme.json").read_text() == before
    # The next request would have remounted; then the attacker signs globex's key.
    assert http.get("/files", headers=admins["acme"]).status_code == 200
    time.sleep(1.1)  # past the mounts' rescan interval
    forged = _attacker_url(served, "/_evil", globex_file)
    assert http.get(forged).status_code == 404  # nothing is mounted there
    # Signed with the attacker's key, the deployment's own mount refuses it too.
    assert http.get(_attacker_url(served, "/_storage", globex_file)).status_code == 403
    overwrite = httpx.put(
        _attacker_url(served, "/_storage", globex_file, "PUT"), content=b"pwned", timeout=30
    )
    assert overwrite.status_code == 403
    # globex's object is untouched (the file id is the key's last segment).
    download = http.get(f"/files/{globex_file.split('/')[-1]}/download", headers=admins["globex"])
    assert download.status_code == 200, download.text
    assert httpx.get(download.json()["url"], timeout=30).content == b"globex's plans."
    for text in (attack.text, served.logs):
        assert ATTACKER_KEY not in text
        assert operator_key not in text


def test_a_base_url_on_the_server_root_is_refused_and_the_api_keeps_working(
    http: httpx.Client, admins: dict[str, dict[str, str]], served: ServeProcess
) -> None:
    answer = http.put(
        "/config/providers/storage",
        headers=admins["acme"],
        json={"provider": "local", "base_url": served.url},
    )
    _refused(answer, "storage.base_url")
    time.sleep(1.1)
    assert http.get("/config", headers=admins["acme"]).status_code == 200
    assert http.get("/files", headers=admins["acme"]).status_code == 200


def test_server_paths_are_not_a_tenants_to_choose(
    http: httpx.Client, admins: dict[str, dict[str, str]], served: ServeProcess, tmp_path: Path
) -> None:
    target = tmp_path / "created-by-a-tenant"
    storage = http.put(
        "/config/providers/storage", headers=admins["acme"], json={"root": str(target)}
    )
    _refused(storage, "storage.root")
    database = http.put(
        "/config/providers/db", headers=admins["acme"], json={"path": str(target / "x.db")}
    )
    _refused(database, "db.path")
    assert not target.exists()
    assert str(target) not in storage.text + database.text


def test_the_provider_itself_is_the_operators(
    http: httpx.Client, admins: dict[str, dict[str, str]]
) -> None:
    answer = http.put(
        "/config/providers/llm",
        headers=admins["acme"],
        json={"provider": "openai", "api_key": ATTACKER_KEY, "model": "gpt-4o"},
    )
    # ``model`` is refused too: the demo's defaults set it, for the current provider.
    _refused(answer, "llm.model", "llm.provider")
    assert ATTACKER_KEY not in answer.text


def test_a_member_changes_nothing(served: ServeProcess, http: httpx.Client) -> None:
    member = _auth(served.token("acme", "carol", ["member"]))
    answer = http.put("/config/providers/llm", headers=member, json={"prefix": "x"})
    assert answer.status_code == 403
    assert "details" not in answer.json()["error"]


def test_an_allowed_change_is_audited_without_its_value(
    http: httpx.Client, admins: dict[str, dict[str, str]], served: ServeProcess
) -> None:
    # ``prefix`` is tenant-owned and the demo's defaults leave it to each tenant.
    changed = http.put(
        "/config/providers/llm", headers=admins["acme"], json={"prefix": PLANTED_PREFIX}
    )
    assert changed.status_code == 200, changed.text
    reply = http.post(
        "/v1/chat/completions",
        headers=admins["acme"],
        json={"model": "default", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert reply.json()["choices"][0]["message"]["content"] == f"{PLANTED_PREFIX}hi"
    # ``model`` comes from the deployment's defaults: the operator's.
    inherited = http.put("/config/providers/llm", headers=admins["acme"], json={"model": "x"})
    _refused(inherited, "llm.model")
    audit = http.get("/config/audit", headers=admins["acme"])
    # The demo's setup (inviting the console's demo users) is audited too: left aside.
    entries: list[dict[str, Any]] = [
        e for e in audit.json()["entries"] if e["actor"] != "tenantkit-demo"
    ]
    assert [(e["actor"], e["action"]) for e in entries] == [("alice", "config.provider.update")]
    assert entries[0]["details"] == {"kind": "llm", "provider": "echo", "fields": ["prefix"]}
    assert PLANTED_PREFIX not in audit.text
    assert ATTACKER_KEY not in audit.text
    globex = http.get("/config/audit", headers=admins["globex"])
    assert all(e["actor"] == "tenantkit-demo" for e in globex.json()["entries"])


def test_presigned_urls_are_bound_to_their_tenant(
    http: httpx.Client, admins: dict[str, dict[str, str]], globex_file: str
) -> None:
    upload = http.post("/files", headers=admins["acme"], json={"name": "a.txt", "size": 1})
    assert upload.status_code == 201, upload.text
    url = upload.json()["upload"]["url"]
    parts = urlsplit(url)
    assert parse_qs(parts.query)["tenant"] == ["acme"]
    swapped = f"{parts.scheme}://{parts.netloc}/_storage/{globex_file}?{parts.query}"
    assert httpx.put(swapped, content=b"x", timeout=30).status_code == 403
    renamed = url.replace("tenant=acme", "tenant=globex")
    assert httpx.put(renamed, content=b"x", timeout=30).status_code == 403


# --- the rule, across the workspace ----------------------------------------------------------

#: What the workspace's providers declare tenant-owned; everything else is the operator's.
TENANT_OWNED: dict[tuple[str, str], set[str]] = {
    ("db", "sqlite"): set(),
    ("db", "dynamodb"): set(),
    ("db", "postgres"): set(),
    ("storage", "local"): set(),
    ("storage", "s3"): set(),
    ("llm", "echo"): {"model", "prefix"},
    ("llm", "openai"): {
        "api_key",
        "model",
        "organization",
        "project",
        "image_model",
        "embedding_model",
    },
    ("llm", "azure-openai"): {
        "api_key",
        "deployment",
        "image_deployment",
        "embedding_deployment",
    },
    ("llm", "claude"): {"api_key", "model", "max_tokens"},
    ("llm", "gemini"): {"api_key", "model", "image_model", "embedding_model", "max_tokens"},
}


def test_every_installed_provider_keeps_the_ownership_rule() -> None:
    plugins = Plugins()
    seen = set()
    for kind in KINDS:
        for spec in provider_specs(plugins, kind):
            seen.add((kind, spec.name))
            assert ownership_problems(spec.settings) == [], (kind, spec.name)
            if (kind, spec.name) in TENANT_OWNED:
                assert tenant_owned_fields(spec.settings) == TENANT_OWNED[(kind, spec.name)]
    assert set(TENANT_OWNED) <= seen


def test_the_threat_model_names_tests_that_exist() -> None:
    root = Path(__file__).resolve().parents[2]
    text = (root / "docs" / "threat-model.md").read_text()
    named = re.findall(r"`([\w/.-]+\.py)::(\w+)`", " ".join(text.split()))
    assert len(named) >= 15
    for path, function in named:
        source = (root / path).read_text()
        assert re.search(rf"def {function}\(", source), f"{path}::{function}"
