"""The operator API through ``tenantkit serve``: every ``/operator/*`` route with the
platform operator's token (role ``operator``, no tenant), a tenant admin refused on
each (and the attempt audited), the operator's token refused on tenants' routes,
hostile input answered 4xx, and no credential in any answer or log line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from testharness.tenantkit_serve import ServeProcess, start_serve

#: A credential planted in a tenant created through the API: it must never come back.
PLANTED = "sk-planted-operator-0123456789abcdefXYZ"
OPERATOR = "op-1"
_answers: list[str] = []


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    directory = tmp_path_factory.mktemp("operator")
    process = start_serve(
        directory, "--demo", env={"TENANTKIT_OPERATOR_EXPORT": str(directory / "exports")}
    )
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def http(served: ServeProcess) -> Iterator[httpx.Client]:
    def keep(response: httpx.Response) -> None:
        response.read()
        _answers.append(f"{response.headers}\n{response.text}")

    with httpx.Client(
        base_url=served.url, timeout=60, trust_env=False, event_hooks={"response": [keep]}
    ) as client:
        yield client


def _operator(served: ServeProcess, user: str = OPERATOR) -> dict[str, str]:
    from tenantkit_runtime.local.issuer import LocalIssuer

    token = LocalIssuer(served.key_dir).issue(tenant=None, user=user, roles=["operator"])
    return {"authorization": f"Bearer {token}", "user-agent": "operator-console/2.0"}


def _tenant(served: ServeProcess, tenant: str, user: str, *roles: str) -> dict[str, str]:
    return {"authorization": f"Bearer {served.token(tenant, user, list(roles))}"}


def _all_tenants(http: httpx.Client, headers: dict[str, str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = http.get("/operator/tenants", params=params, headers=headers)
        assert page.status_code == 200, page.text
        found.extend(page.json()["tenants"])
        cursor = page.json()["cursor"]
        if cursor is None:
            return found


def test_list_and_show_tenants(served: ServeProcess, http: httpx.Client) -> None:
    op = _operator(served)
    tenants = _all_tenants(http, op)
    ids = [t["tenant_id"] for t in tenants]
    assert {"acme", "globex", "initech"} <= set(ids)
    assert ids == sorted(ids)
    assert all(set(t) == {"tenant_id", "display_name", "status", "created_at"} for t in tenants)

    shown = http.get("/operator/tenants/initech", headers=op)
    assert shown.status_code == 200
    assert shown.json()["tenant_id"] == "initech"
    assert shown.json()["plan"] == "small"
    assert shown.json()["providers"] == {"llm": "echo"}
    assert http.get("/operator/tenants/nobody", headers=op).status_code == 404


def _newco() -> dict[str, Any]:
    """A tenant creation request whose LLM key is the planted secret."""
    return {
        "tenant_id": "newco",
        "plan": "standard",
        "admin_email": "admin@newco.example",
        "db": "sqlite",
        "storage": "local",
        "llm": {"provider": "openai", "api_key": PLANTED, "model": "gpt-4o-mini"},
    }


def test_create_is_validated_and_idempotent(served: ServeProcess, http: httpx.Client) -> None:
    op = _operator(served)
    body = _newco()
    created = http.post("/operator/tenants", json=body, headers=op)
    assert created.status_code == 201, created.text
    answer = created.json()
    assert answer["tenant"]["status"] == "active"
    assert {"secret", "registry", "schema", "admin", "active"} <= set(answer["done"])
    assert answer["admin_user_id"]

    again = http.post("/operator/tenants", json=body, headers=op)
    assert again.status_code == 200, again.text
    assert {"secret", "registry", "admin"} <= set(again.json()["kept"])
    assert again.json()["admin_user_id"] == answer["admin_user_id"]

    other = {**body, "llm": {"provider": "echo"}}
    conflict = http.post("/operator/tenants", json=other, headers=op)
    assert conflict.status_code == 400
    assert "different secret" in conflict.json()["error"]["message"]

    shown = http.get("/operator/tenants/newco", headers=op).json()
    assert shown["providers"] == {"db": "sqlite", "llm": "openai", "storage": "local"}
    assert shown["plan"] == "standard"

    # The new tenant's users are served (its own token, its own data).
    newco = _tenant(served, "newco", "nina", "admin")
    assert http.post("/conversations", json={}, headers=newco).status_code == 201
    users = http.get("/users", headers=newco).json()["users"]
    assert [u["email"] for u in users] == ["admin@newco.example"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"tenant_id": "bad", "secret": {"llm": {"provider": "openai", "model": 5}}}, 422, None),
        ({"tenant_id": "bad2", "db": "sqlite"}, 400, None),
        ({"tenant_id": "Bad_Id", "secret": {}}, 400, None),
        ({"tenant_id": "tenantkit-control-plane", "secret": {}}, 400, None),
        ({"tenant_id": "x" * 64, "secret": {}}, 422, "tenant_id"),
        ({"tenant_id": "fine", "secret": {}, "surprise": 1}, 422, "surprise"),
        ({"tenant_id": "fine", "secret": {"llm": {"provider": "nope"}}}, 422, None),
        ({"tenant_id": "fine", "secret": {}, "admin_email": "not-an-email"}, 400, None),
        ([1, 2, 3], 422, None),
    ],
)
def test_create_refuses_bad_input(
    served: ServeProcess, http: httpx.Client, body: Any, status: int, field: str | None
) -> None:
    answer = http.post("/operator/tenants", json=body, headers=_operator(served))
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    if field is not None:
        assert field in [d["path"] for d in error["details"]]
    assert http.get("/operator/tenants/fine", headers=_operator(served)).status_code == 404


def test_suspend_and_resume(served: ServeProcess, http: httpx.Client) -> None:
    op = _operator(served)
    globex = _tenant(served, "globex", "bob", "admin")
    assert http.get("/conversations", headers=globex).status_code == 200
    suspended = http.post("/operator/tenants/globex/suspend", headers=op)
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["status"] == "suspended"
    refused = http.get("/conversations", headers=globex)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "tenant_suspended"
    # Suspending again changes nothing; the other tenants are served.
    assert http.post("/operator/tenants/globex/suspend", headers=op).status_code == 200
    assert http.get("/conversations", headers=_tenant(served, "acme", "alice")).status_code == 200

    resumed = http.post("/operator/tenants/globex/resume", headers=op)
    assert resumed.json()["status"] == "active"
    assert http.get("/conversations", headers=globex).status_code == 200
    assert http.post("/operator/tenants/nobody/suspend", headers=op).status_code == 404
    body = http.post("/operator/tenants/globex/suspend", json={"x": 1}, headers=op)
    assert body.status_code == 422
    assert http.get("/operator/tenants/globex", headers=op).json()["status"] == "active"


def test_delete_exports_first_and_needs_confirmation(
    served: ServeProcess, http: httpx.Client
) -> None:
    op = _operator(served)
    body = {"tenant_id": "doomed", "db": "sqlite", "storage": "local", "llm": "echo"}
    assert http.post("/operator/tenants", json=body, headers=op).status_code == 201
    doomed = _tenant(served, "doomed", "dora", "admin")
    for n in range(3):
        assert (
            http.post("/conversations", json={"title": f"c{n}"}, headers=doomed).status_code == 201
        )

    unconfirmed = http.request("DELETE", "/operator/tenants/doomed", headers=op)
    assert unconfirmed.status_code == 422
    wrong = http.request("DELETE", "/operator/tenants/doomed", json={"confirm": "acme"}, headers=op)
    assert wrong.status_code == 400
    assert "confirm" in wrong.json()["error"]["message"]
    assert http.get("/operator/tenants/doomed", headers=op).status_code == 200

    deleted = http.request(
        "DELETE", "/operator/tenants/doomed", json={"confirm": "doomed"}, headers=op
    )
    assert deleted.status_code == 200, deleted.text
    answer = deleted.json()
    export = Path(answer["export"])
    assert export.parent == served.state_dir.parent / "exports"
    manifest = json.loads((export / "manifest.json").read_text())
    assert manifest["items"]["count"] == answer["exported"]["items"]["count"] >= 3
    assert answer["items"] == answer["exported"]["items"]["count"]
    assert answer["registered"] is True

    assert http.get("/operator/tenants/doomed", headers=op).status_code == 404
    assert "doomed" not in [t["tenant_id"] for t in _all_tenants(http, op)]
    assert http.get("/conversations", headers=doomed).status_code in (403, 404, 503)
    gone = http.request(
        "DELETE", "/operator/tenants/doomed", json={"confirm": "doomed"}, headers=op
    )
    assert gone.status_code == 404


def test_usage_of_every_tenant_is_the_tenants_own_shape(
    served: ServeProcess, http: httpx.Client
) -> None:
    op = _operator(served)
    acme = _tenant(served, "acme", "alice", "admin")
    assert http.post("/conversations", json={}, headers=acme).status_code == 201
    own = http.get("/usage", params={"from": "2026-01-01", "to": "2026-12-31"}, headers=acme)
    assert own.status_code == 200
    every = http.get(
        "/operator/usage", params={"from": "2026-01-01", "to": "2026-12-31"}, headers=op
    )
    assert every.status_code == 200, every.text
    reports = {r["tenant_id"]: r for r in every.json()["tenants"]}
    assert {"acme", "globex", "initech"} <= set(reports)
    assert set(reports["acme"]) == set(own.json())
    assert reports["acme"]["days"][0].keys() == own.json()["days"][0].keys()
    paged = http.get("/operator/usage", params={"limit": "1"}, headers=op).json()
    assert len(paged["tenants"]) == 1
    assert paged["cursor"]
    for bad in ({"from": "yesterday"}, {"from": "2020-01-01", "to": "2026-01-01"}, {"limit": "0"}):
        assert http.get("/operator/usage", params=bad, headers=op).status_code == 400


def test_a_tenant_admin_is_refused_everywhere_and_audited(
    served: ServeProcess, http: httpx.Client
) -> None:
    admin = {**_tenant(served, "acme", "alice", "admin", "operator"), "user-agent": "sneaky/1"}
    calls = [
        ("GET", "/operator/tenants", None),
        ("POST", "/operator/tenants", {"tenant_id": "x", "secret": {}}),
        ("GET", "/operator/tenants/globex", None),
        ("POST", "/operator/tenants/globex/suspend", None),
        ("POST", "/operator/tenants/globex/resume", None),
        ("DELETE", "/operator/tenants/globex", {"confirm": "globex"}),
        ("GET", "/operator/usage", None),
        ("GET", "/operator/audit", None),
        ("GET", "/operator/tenants/NOT_AN_ID", None),
    ]
    for method, path, body in calls:
        answer = http.request(method, path, json=body, headers=admin)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["error"]["code"] == "access_denied"
    assert http.get("/operator/tenants/globex", headers=_operator(served)).status_code == 200

    entries = http.get("/operator/audit", params={"limit": "100"}, headers=_operator(served))
    refused = [e for e in entries.json()["entries"] if e["action"] == "operator.refused"]
    assert len(refused) >= len(calls)
    newest = refused[0]
    assert newest["actor"] == "alice"
    assert newest["tenant_id"] == "acme"
    assert newest["source_ip"] == "127.0.0.1"
    assert newest["user_agent"] == "sneaky/1"
    attempted = {e["details"]["attempted"] for e in refused}
    assert {
        "operator.tenants.list",
        "operator.tenant.create",
        "operator.tenant.delete",
        "operator.usage",
        "operator.audit",
    } <= attempted


def test_the_operator_token_is_refused_on_tenant_routes(
    served: ServeProcess, http: httpx.Client
) -> None:
    op = _operator(served)
    for method, path in [
        ("GET", "/conversations"),
        ("POST", "/conversations"),
        ("GET", "/files"),
        ("GET", "/config"),
        ("GET", "/config/audit"),
        ("GET", "/usage"),
        ("GET", "/users"),
        ("GET", "/users/me"),
        ("POST", "/v1/chat/completions"),
        ("GET", "/v1/models"),
    ]:
        answer = http.request(method, path, headers=op)
        assert answer.status_code in (401, 403), (method, path, answer.text)
        assert answer.status_code == 403 or path.startswith("/v1/")
    # Naming a tenant does not help.
    named = {**op, "x-tenant-id": "acme"}
    assert http.get("/conversations", headers=named).status_code == 403
    # A token without a tenant and without the operator role is no token at all.
    from tenantkit_runtime.local.issuer import LocalIssuer

    issuer = LocalIssuer(served.key_dir)
    claims = {"iss": issuer.issuer, "sub": "nobody", "token_use": "id", "aud": issuer.client_id}
    import time

    claims["exp"] = int(time.time()) + 600
    bare = {"authorization": f"Bearer {issuer.sign({**claims, 'cognito:groups': ['admin']})}"}
    assert http.get("/operator/tenants", headers=bare).status_code == 403


def test_operator_audit_records_every_action(served: ServeProcess, http: httpx.Client) -> None:
    op = _operator(served, "op-audit")
    assert http.post("/operator/tenants/initech/suspend", headers=op).status_code == 200
    assert http.post("/operator/tenants/initech/resume", headers=op).status_code == 200
    assert http.get("/operator/tenants/nobody", headers=op).status_code == 404
    page = http.get("/operator/audit", params={"limit": "3"}, headers=op)
    assert page.status_code == 200
    entries = page.json()["entries"]
    assert [e["action"] for e in entries] == [
        "operator.tenant.show",
        "operator.tenant.resume",
        "operator.tenant.suspend",
    ]
    assert entries[0]["details"] == {"error": "not_found"}
    assert entries[1]["tenant_id"] == "initech"
    assert all(e["actor"] == "op-audit" for e in entries)
    assert all(e["source_ip"] == "127.0.0.1" for e in entries)
    assert all(e["user_agent"] == "operator-console/2.0" for e in entries)
    older = http.get(
        "/operator/audit", params={"limit": "3", "cursor": page.json()["cursor"]}, headers=op
    )
    assert older.status_code == 200
    assert {e["id"] for e in older.json()["entries"]}.isdisjoint({e["id"] for e in entries})
    # The change is in the tenant's own log too, by the operator's id.
    initech = http.get("/config/audit", headers=_tenant(served, "initech", "carol", "admin"))
    actions = [(e["action"], e["actor"]) for e in initech.json()["entries"]]
    assert ("tenant.resumed", "op-audit") in actions


@pytest.mark.parametrize(
    ("method", "path", "content", "status"),
    [
        ("POST", "/operator/tenants", b"{" * 100_000, 400),
        ("POST", "/operator/tenants", b"[" * 5000 + b"]" * 5000, 400),
        ("POST", "/operator/tenants", b'{"tenant_id": "a", "tenant_id": "b"}', 400),
        ("POST", "/operator/tenants", b"\xff\xfe not json", 400),
        ("POST", "/operator/tenants", b'{"secret": {"k": "' + b"v" * 2_000_000 + b'"}}', 413),
        ("GET", "/operator/tenants/UPPER", None, 400),
        ("GET", "/operator/tenants/" + "a" * 300, None, 400),
        ("GET", "/operator/tenants/tenantkit-control-plane", None, 400),
        ("GET", "/operator/tenants/a%2F..%2Facme", None, 400),
        ("POST", "/operator/tenants/..%2Facme/suspend", None, 400),
        ("DELETE", "/operator/tenants/acme", b'{"confirm": ' * 3000, 400),
        ("GET", "/operator/tenants?limit=100000", None, 400),
        ("GET", "/operator/tenants?cursor=forged", None, 400),
        ("GET", "/operator/audit?limit=-1", None, 400),
        ("GET", "/operator/nothing", None, 404),
        ("PUT", "/operator/tenants", None, 405),
    ],
)
def test_hostile_input_is_a_4xx(
    served: ServeProcess,
    http: httpx.Client,
    method: str,
    path: str,
    content: bytes | None,
    status: int,
) -> None:
    headers = {**_operator(served), "content-type": "application/json"}
    answer = http.request(method, path, content=content, headers=headers)
    assert answer.status_code == status, answer.text[:300]
    if status != 413 or "error" in answer.text:
        assert "error" in answer.json() or "message" in answer.json()
    assert http.get("/operator/tenants/acme", headers=_operator(served)).status_code == 200


def test_no_secret_in_any_answer_or_log(served: ServeProcess, http: httpx.Client) -> None:
    """Runs last: every answer this module received, and the server's output."""
    op = _operator(served)
    body = _newco()
    assert http.post("/operator/tenants", json=body, headers=op).status_code in (200, 201)
    assert http.get("/operator/tenants/newco", headers=op).status_code == 200
    assert http.get("/operator/audit", params={"limit": "100"}, headers=op).status_code == 200
    newco = _tenant(served, "newco", "nina", "admin")
    assert http.get("/config", headers=newco).status_code == 200
    defaults = json.loads((served.config_dir / "defaults.json").read_text())
    secrets = [PLANTED, defaults["storage"]["signing_key"]]
    token = op["authorization"].split()[1]
    for text in [*_answers, served.logs, served.printed]:
        for secret in secrets:
            assert secret not in text
    for text in [*_answers, served.logs]:
        assert token not in text
