"""The control-plane store through the DB provider mechanism: the registry in the
reserved namespace, connections by tenant, the audit log; sqlite, and DynamoDB on
moto when its plugin is installed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tenantkit.errors import InvalidRequest, ProviderNotFound, SecretValidationError
from tenantkit.identifiers import RESERVED_NAMESPACE, check_namespace, is_tenant_id
from tenantkit_runtime.controlplane import ControlPlane
from tenantkit_runtime.settings import Settings


@pytest.fixture
def sqlite_plane(tmp_path) -> Iterator[ControlPlane]:
    plane = ControlPlane.from_section(
        {"provider": "sqlite", "path": str(tmp_path / "cp.db")}, signing_key=b"k" * 32
    )
    yield plane
    plane.close()


@pytest.fixture
def dynamodb_plane(moto_server) -> Iterator[ControlPlane]:
    pytest.importorskip("tenantkit_db_dynamodb")
    plane = ControlPlane.from_section(
        {
            "provider": "dynamodb",
            "table": "control-plane",
            "region": moto_server.region,
            "endpoint_url": moto_server.endpoint_url,
        },
        signing_key=b"k" * 32,
    )
    plane.ensure_schema()
    yield plane
    plane.close()
    moto_server.reset()


@pytest.fixture(params=["sqlite", "dynamodb"])
def plane(request: pytest.FixtureRequest) -> ControlPlane:
    value: ControlPlane = request.getfixturevalue(f"{request.param}_plane")
    return value


def test_tenant_registry(plane: ControlPlane) -> None:
    for tenant_id in ("globex", "acme", "initech"):
        plane.register_tenant(tenant_id, display_name=tenant_id.title())
    first = plane.register_tenant("acme", display_name="Acme Corp", status="suspended")
    assert plane.tenant("acme") == first
    page, cursor = plane.tenants(limit=2)
    assert [t.tenant_id for t in page] == ["acme", "globex"]
    rest, end = plane.tenants(cursor=cursor, limit=2)
    assert [t.tenant_id for t in rest] == ["initech"]
    assert end is None
    assert plane.remove_tenant("initech") is True
    assert plane.tenant("initech") is None
    with pytest.raises(InvalidRequest):
        plane.register_tenant(RESERVED_NAMESPACE)


def test_connections_are_kept_per_tenant(plane: ControlPlane) -> None:
    for i in range(7):
        plane.add_connection("acme", f"conn-{i}=", user_id=f"u{i}", endpoint="https://x/dev")
    plane.add_connection("acme-1", "other=", user_id="z")
    found = list(plane.connections("acme", page_size=3))
    assert sorted(c.connection_id for c in found) == [f"conn-{i}=" for i in range(7)]
    assert {c.tenant_id for c in found} == {"acme"}
    assert [c.connection_id for c in plane.connections("acme-1")] == ["other="]
    assert plane.remove_connection("acme", "conn-3=") is True
    assert plane.remove_connection("acme", "conn-3=") is False
    assert plane.connection("acme", "conn-3=") is None
    assert plane.connection("acme-1", "conn-4=") is None
    assert len(list(plane.connections("acme"))) == 6


def test_audit_log_newest_first(plane: ControlPlane) -> None:
    for n in range(3):
        plane.audit("acme", actor="root", action="config.update", details={"n": n})
    plane.audit("globex", actor="g", action="config.update")
    entries, cursor = plane.audit_log("acme", limit=2)
    assert [e.details["n"] for e in entries] == [2, 1]
    more, _ = plane.audit_log("acme", cursor=cursor)
    assert [e.details["n"] for e in more] == [0]
    assert len(plane.audit_log("globex")[0]) == 1


def test_the_registry_namespace_is_never_a_tenant() -> None:
    assert not is_tenant_id(RESERVED_NAMESPACE)
    assert check_namespace(RESERVED_NAMESPACE) == RESERVED_NAMESPACE
    assert check_namespace("acme") == "acme"
    with pytest.raises(InvalidRequest):
        check_namespace("Not A Tenant")


def test_the_registry_is_not_reachable_as_a_tenant(sqlite_plane: ControlPlane, tmp_path) -> None:
    from tenantkit import DirectorySource, Resolver

    sqlite_plane.register_tenant("acme")
    (tmp_path / f"{RESERVED_NAMESPACE}.json").write_text("{}")
    resolver = Resolver(DirectorySource(tmp_path), signing_key=b"k" * 32)
    with pytest.raises(InvalidRequest):
        resolver.resolve(RESERVED_NAMESPACE)


def test_settings_are_validated_by_the_plugin_model(tmp_path) -> None:
    with pytest.raises(SecretValidationError) as caught:
        ControlPlane.from_section({"provider": "sqlite", "path": "", "paht": "x"})
    assert {e.path for e in caught.value.errors} == {
        "TENANTKIT_CONTROL_PLANE.path",
        "TENANTKIT_CONTROL_PLANE.paht",
    }
    with pytest.raises(ProviderNotFound):
        ControlPlane.from_section({"provider": "no-such-db"})


def test_settings_from_the_environment(tmp_path) -> None:
    env: dict[str, Any] = {
        "TENANTKIT_CONFIG_DIR": str(tmp_path),
        "TENANTKIT_CONTROL_PLANE": json.dumps({"provider": "sqlite", "path": "cp.db"}),
        "TENANTKIT_CORS_ORIGINS": "https://a.example, https://b.example",
        "TENANTKIT_SIGNING_KEY": "k" * 32,
        "TENANTKIT_LOG_LEVEL": "debug",
    }
    settings = Settings.from_env(env)
    assert settings.control_plane == {"provider": "sqlite", "path": "cp.db"}
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.log_level == "DEBUG"
    assert "k" * 32 not in repr(settings)
    assert Settings.from_env({}).control_plane is None
    from tenantkit.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="not valid JSON"):
        Settings.from_env({"TENANTKIT_CONTROL_PLANE": "{"})
    with pytest.raises(ConfigurationError, match="provider"):
        Settings.from_env({"TENANTKIT_CONTROL_PLANE": "[]"})
