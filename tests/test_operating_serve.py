"""The audit log and the metrics through ``tenantkit serve``'s HTTP API: who and from
where, deletes, admins only, never another tenant's entries, bounded pages; EMF lines
per tenant when the deployment asks for them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from testharness.tenantkit_serve import ServeProcess, start_serve


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """A server of its own (its audit log is counted), with EMF lines on."""
    process = start_serve(
        tmp_path_factory.mktemp("operating"), "--demo", env={"TENANTKIT_METRICS": "emf"}
    )
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def http(served: ServeProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=30, trust_env=False) as client:
        yield client


def _auth(served: ServeProcess, tenant: str, user: str, *roles: str) -> dict[str, str]:
    return {"authorization": f"Bearer {served.token(tenant, user, list(roles))}"}


def test_audit_through_the_http_api(served: ServeProcess, http: httpx.Client) -> None:
    acme = _auth(served, "acme", "alice", "admin")
    globex = _auth(served, "globex", "bob", "admin")
    changed = http.patch(
        "/config",
        json={"branding": {"primary_color": "#123456"}},
        headers={**acme, "user-agent": "ops-console/1.0"},
    )
    assert changed.status_code == 200, changed.text
    created = http.post("/conversations", json={}, headers=acme)
    deleted = http.delete(f"/conversations/{created.json()['id']}", headers=acme)
    assert deleted.status_code == 204

    page = http.get("/config/audit", params={"limit": "1"}, headers=acme)
    assert page.status_code == 200
    (newest,) = page.json()["entries"]
    assert newest["action"] == "conversation.delete"
    assert newest["actor"] == "alice"
    assert newest["source_ip"] == "127.0.0.1"
    following = http.get(
        "/config/audit", params={"limit": "1", "cursor": page.json()["cursor"]}, headers=acme
    )
    (older,) = following.json()["entries"]
    assert older["action"] == "config.update"
    assert older["user_agent"] == "ops-console/1.0"

    assert "alice" not in http.get("/config/audit", headers=globex).text
    stolen = http.get("/config/audit", params={"cursor": page.json()["cursor"]}, headers=globex)
    assert stolen.status_code == 400
    member = http.get("/config/audit", headers=_auth(served, "acme", "carol", "member"))
    assert member.status_code == 403
    too_many = http.get("/config/audit", params={"limit": "1000"}, headers=acme)
    assert too_many.status_code == 400


def test_emf_lines_per_tenant_from_the_server(served: ServeProcess, http: httpx.Client) -> None:
    answered = http.get("/conversations", headers=_auth(served, "globex", "bob", "admin"))
    assert answered.status_code == 200
    lines = [
        json.loads(line)
        for line in served.printed.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]
    mine = [x for x in lines if x.get("tenant") == "globex" and x["function"] == "chat"]
    assert mine
    assert mine[-1]["Requests"] == 1
    assert mine[-1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0] == ["function", "tenant"]
