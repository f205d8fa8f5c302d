"""The audit log through the handlers: who and from where, deletes, limit refusal
bursts coalesced per tenant, limit and minute (across containers), and
``GET /config/audit`` paging for tenant admins only, never across tenants."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tenantkit_runtime import controlplane as controlplane_module
from tenantkit_runtime import deployment
from tenantkit_runtime.app import App, Request
from tenantkit_runtime.controlplane import ControlPlane
from tenantkit_runtime.functions import chat, config

ADMIN = {"user": "root", "roles": "admin"}


def audit_page(events: Any, body: Any, **query: str) -> dict[str, Any]:
    answer = config.handler(events.http("GET", "/config/audit", query=query, **ADMIN), None)
    assert answer["statusCode"] == 200, answer
    page: dict[str, Any] = body(answer)
    return page


def test_a_settings_change_records_who_and_from_where(tenants, events, body) -> None:
    changed = config.handler(
        events.http(
            "PATCH",
            "/config",
            body={"branding": {"primary_color": "#ff0000"}},
            headers={"user-agent": "ignored: API Gateway's own field wins"},
            **ADMIN,
        ),
        None,
    )
    assert changed["statusCode"] == 200
    (entry,) = audit_page(events, body)["entries"]
    assert entry["actor"] == "root"
    assert entry["action"] == "config.update"
    assert entry["source_ip"] == "192.0.2.1"
    assert entry["user_agent"] == "pytest"


def test_rest_api_events_give_the_source_too(tenants, events, body) -> None:
    answer = config.handler(
        events.rest("PATCH", "/config", body={"branding": {"display_name": "Acme Corp"}}, **ADMIN),
        None,
    )
    assert answer["statusCode"] == 200
    (entry,) = audit_page(events, body)["entries"]
    assert (entry["source_ip"], entry["user_agent"]) == ("192.0.2.1", "pytest")


def test_deletes_are_audited(tenants, events, body) -> None:
    cid = body(chat.handler(events.http("POST", "/conversations", body={}), None))["id"]
    deleted = chat.handler(events.http("DELETE", f"/conversations/{cid}"), None)
    assert deleted["statusCode"] == 204
    missing = chat.handler(events.http("DELETE", "/conversations/nope"), None)
    assert missing["statusCode"] == 404  # nothing deleted: nothing audited
    (entry,) = audit_page(events, body)["entries"]
    assert entry["action"] == "conversation.delete"
    assert entry["actor"] == "alice"
    assert entry["details"] == {"conversation_id": cid}


def test_members_cannot_read_the_audit_log(tenants, events, body) -> None:
    refused = config.handler(events.http("GET", "/config/audit"), None)
    assert refused["statusCode"] == 403


def test_paging_is_bounded_and_cursors_stay_with_their_tenant(tenants, events, body) -> None:
    plane = deployment.control_plane()
    for n in range(5):
        plane.audit("acme", actor="root", action="config.update", details={"n": n})
    plane.audit("globex", actor="gina", action="config.update", details={"secret_of": "globex"})
    first = audit_page(events, body, limit="2")
    assert [e["details"]["n"] for e in first["entries"]] == [4, 3]
    second = audit_page(events, body, limit="2", cursor=first["cursor"])
    assert [e["details"]["n"] for e in second["entries"]] == [2, 1]
    everything = json.dumps(audit_page(events, body, limit="100"))
    assert "gina" not in everything
    assert "globex" not in everything
    # acme's cursor in globex's hands: refused, never a page of acme's log
    stolen = config.handler(
        events.http(
            "GET", "/config/audit", tenant="globex", query={"cursor": first["cursor"]}, **ADMIN
        ),
        None,
    )
    assert stolen["statusCode"] == 400
    assert body(stolen)["error"]["code"] == "invalid_cursor"
    forged = config.handler(
        events.http("GET", "/config/audit", query={"cursor": "eyJmb3JnZWQiOnRydWV9"}, **ADMIN),
        None,
    )
    assert forged["statusCode"] == 400
    for limit in ("0", "101", "many", "9" * 400):
        answer = config.handler(
            events.http("GET", "/config/audit", query={"limit": limit}, **ADMIN), None
        )
        assert answer["statusCode"] == 400, limit
        assert "limit" in body(answer)["error"]["message"]


def _limited_app() -> App:
    limited = App("limited")

    @limited.get("/work")
    def work(request: Request[None]) -> dict[str, str]:
        request.limit_refused("requests_per_minute")
        return {}

    return limited


def test_limit_refusals_are_one_entry_per_tenant_limit_and_minute(
    tenants, events, body, monkeypatch, tmp_path
) -> None:
    limited = _limited_app()
    for _ in range(5):
        assert limited(events.http("GET", "/work"), None)["statusCode"] == 200
    limited(events.http("GET", "/work", tenant="globex", user="gus"), None)
    # a second container: its own control-plane object on the same store
    other = ControlPlane.from_section(
        {"provider": "sqlite", "path": str(tmp_path / "control-plane.db")},
    )
    try:
        assert other.audit_limit_refusal("acme", "requests_per_minute", actor="bob") is None
    finally:
        other.close()
    (entry,) = audit_page(events, body)["entries"]
    assert entry["action"] == "limit.refused"
    assert entry["details"]["limit"] == "requests_per_minute"
    assert (entry["actor"], entry["source_ip"], entry["user_agent"]) == (
        "alice",
        "192.0.2.1",
        "pytest",
    )
    globex = body(
        config.handler(events.http("GET", "/config/audit", tenant="globex", **ADMIN), None)
    )["entries"]
    assert [e["actor"] for e in globex] == ["gus"]

    class NextMinute(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> NextMinute:
            moved = datetime.now(UTC).replace(second=0, microsecond=0)
            return cls.fromtimestamp(moved.timestamp() + 60, UTC)

    monkeypatch.setattr(controlplane_module, "datetime", NextMinute)
    limited(events.http("GET", "/work"), None)
    entries = audit_page(events, body)["entries"]
    assert [e["action"] for e in entries] == ["limit.refused", "limit.refused"]


def test_a_hostile_user_agent_is_cut_and_cleaned(tenants, events, body) -> None:
    event = events.http(
        "PATCH", "/config", body={"branding": {"primary_color": "#0000ff"}}, **ADMIN
    )
    event["requestContext"]["http"]["userAgent"] = "evil\n\x1b[31m" + "A" * 5000
    assert config.handler(event, None)["statusCode"] == 200
    (entry,) = audit_page(events, body)["entries"]
    assert "\n" not in entry["user_agent"]
    assert "\x1b" not in entry["user_agent"]
    assert len(entry["user_agent"]) <= 256


@pytest.mark.parametrize("tenant", ["acme", "globex"])
def test_the_limit_refused_metric_and_audit_name_the_tenant(
    tenants, events, body, monkeypatch, capsys, tenant
) -> None:
    monkeypatch.setenv("TENANTKIT_METRICS", "emf")
    _limited_app()(events.http("GET", "/work", tenant=tenant), None)
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    (line,) = lines
    assert line["tenant"] == tenant
    assert line["LimitRefused"] == 1
    answer = config.handler(events.http("GET", "/config/audit", tenant=tenant, **ADMIN), None)
    assert [e["action"] for e in body(answer)["entries"]] == ["limit.refused"]
