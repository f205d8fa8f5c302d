"""A suspended tenant through the handlers: 403 ``tenant_suspended``, the other tenants
served, its data kept, and the registry read at most once per TTL per container."""

from __future__ import annotations

from typing import Any

import pytest

from tenantkit_runtime import deployment
from tenantkit_runtime.app import App, Request
from tenantkit_runtime.controlplane import ControlPlane
from tenantkit_runtime.functions import config
from tenantkit_runtime.provisioning import resume, suspend
from tenantkit_runtime.suspension import TenantStatus, TenantSuspended

ADMIN = {"user": "root", "roles": "admin"}


def _patch(events: Any, tenant: str, color: str) -> dict[str, Any]:
    return config.handler(
        events.http(
            "PATCH", "/config", body={"branding": {"primary_color": color}}, tenant=tenant, **ADMIN
        ),
        None,
    )


def _get(events: Any, tenant: str) -> dict[str, Any]:
    return config.handler(events.http("GET", "/config", tenant=tenant, **ADMIN), None)


def test_a_suspended_tenant_is_refused_and_its_data_kept(tenants, events, body) -> None:
    plane = deployment.control_plane()
    plane.register_tenant("acme")
    plane.register_tenant("globex")
    assert _patch(events, "acme", "#112233")["statusCode"] == 200

    suspend(plane, "acme")
    status = deployment.tenant_status()
    assert status is not None
    status.forget("acme")  # this container would see it within STATUS_TTL seconds
    refused = _get(events, "acme")
    assert refused["statusCode"] == 403
    error = body(refused)["error"]
    assert error["code"] == "tenant_suspended"
    assert "suspended" in error["message"]
    assert _patch(events, "acme", "#ffffff")["statusCode"] == 403
    assert _get(events, "globex")["statusCode"] == 200

    resume(plane, "acme")
    status.forget("acme")
    served = _get(events, "acme")
    assert served["statusCode"] == 200
    assert body(served)["branding"]["primary_color"] == "#112233"
    actions = [e.action for e in plane.audit_log("acme")[0]]
    assert actions[:2] == ["tenant.resumed", "tenant.suspended"]


def test_a_tenant_outside_the_registry_is_served(tenants, events) -> None:
    assert deployment.control_plane().tenant("acme") is None
    assert _get(events, "acme")["statusCode"] == 200


def test_the_registry_is_read_once_per_ttl(tenants, events, monkeypatch) -> None:
    plane = deployment.control_plane()
    plane.register_tenant("acme")
    reads: list[str] = []
    original = ControlPlane.tenant

    def counted(self: ControlPlane, tenant_id: str) -> Any:
        reads.append(tenant_id)
        return original(self, tenant_id)

    monkeypatch.setattr(ControlPlane, "tenant", counted)
    for _ in range(5):
        assert _get(events, "acme")["statusCode"] == 200
    assert reads == ["acme"]

    clock = [0.0]
    status = TenantStatus(plane, ttl=30, timer=lambda: clock[0])
    reads.clear()
    status.check("acme")
    clock[0] = 29.0
    status.check("acme")
    assert reads == ["acme"]
    suspend(plane, "acme")
    clock[0] = 31.0
    with pytest.raises(TenantSuspended, match="suspended"):
        status.check("acme")


def test_a_suspended_tenants_disconnects_still_reach_the_function(tenants, events) -> None:
    app = App("sockets")
    seen: list[str] = []

    @app.websocket("$default")
    def message(request: Request[None]) -> dict[str, str]:
        seen.append("message")
        return {}

    @app.websocket("$disconnect")
    def disconnect(request: Request[None]) -> dict[str, str]:
        seen.append("disconnect")
        return {}

    plane = deployment.control_plane()
    plane.register_tenant("acme", status="suspended")
    assert app(events.ws("MESSAGE", "$default", "c1="), None)["statusCode"] == 403
    assert app(events.ws("DISCONNECT", "$disconnect", "c1="), None)["statusCode"] == 200
    assert seen == ["disconnect"]
