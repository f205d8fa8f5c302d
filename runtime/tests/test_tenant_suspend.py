"""``tenantkit tenant suspend|resume|list|show`` and the authorizer's refusal of a
suspended tenant's valid tokens, in every authorizer event shape."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tenantkit_runtime import deployment
from tenantkit_runtime.functions import auth as auth_function
from tenantkit_runtime.functions.auth import handler
from tenantkit_runtime.local.issuer import LocalIssuer

if TYPE_CHECKING:
    from .conftest import Events, JwksServer

JWKS_PATH = "/local/.well-known/jwks.json"


def tenant(plane_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTKIT_")}
    env["TENANTKIT_CONTROL_PLANE"] = json.dumps({"provider": "sqlite", "path": str(plane_path)})
    return subprocess.run(
        [sys.executable, "-m", "tenantkit", "tenant", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture
def plane_path(
    tmp_path: Path,
    local_issuer: LocalIssuer,
    jwks_server: JwksServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    path = tmp_path / "control-plane.db"
    url = jwks_server.serve(JWKS_PATH, local_issuer.jwks())
    for key, value in local_issuer.auth_environment(url).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(
        "TENANTKIT_CONTROL_PLANE", json.dumps({"provider": "sqlite", "path": str(path)})
    )
    monkeypatch.setattr(auth_function, "_verifier", None)
    deployment.reset()
    plane = deployment.control_plane()
    plane.ensure_schema()
    plane.register_tenant("acme")
    plane.register_tenant("globex")
    yield path
    deployment.reset()


def test_the_authorizer_refuses_a_suspended_tenant(
    plane_path: Path, events: Events, local_issuer: LocalIssuer
) -> None:
    token = local_issuer.issue(tenant="acme", user="alice", roles=["admin"])
    other = local_issuer.issue(tenant="globex", user="bob")
    assert handler(events.http_v2(token), None)["isAuthorized"] is True

    suspended = tenant(plane_path, "suspend", "acme")
    assert suspended.returncode == 0, suspended.stderr
    assert json.loads(suspended.stdout)["status"] == "suspended"
    status = deployment.tenant_status()
    assert status is not None
    status.forget()  # a warm container sees it within STATUS_TTL seconds

    refused = handler(events.http_v2(token), None)
    assert refused["isAuthorized"] is False
    assert refused["context"]["error"] == "tenant_suspended"
    for event in (events.rest_request(token), events.websocket_connect(token)):
        statement = handler(event, None)["policyDocument"]["Statement"][0]
        assert statement["Effect"] == "Deny"
    assert handler(events.http_v2(other), None)["isAuthorized"] is True

    assert tenant(plane_path, "resume", "acme").returncode == 0
    status.forget()
    assert handler(events.http_v2(token), None)["isAuthorized"] is True


def test_list_show_and_unknown_tenants(plane_path: Path) -> None:
    listed = tenant(plane_path, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [json.loads(line)["tenant_id"] for line in listed.stdout.splitlines()] == [
        "acme",
        "globex",
    ]
    assert json.loads(tenant(plane_path, "show", "globex").stdout)["status"] == "active"
    missing = tenant(plane_path, "suspend", "initech")
    assert missing.returncode != 0
    assert "not in the control plane's registry" in missing.stderr
    bad = tenant(plane_path, "show", "../etc")
    assert bad.returncode != 0
    assert "not a tenant id" in bad.stderr
