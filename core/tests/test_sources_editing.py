"""Editing a tenant's own document through a source: read it without the defaults,
write it back (a directory, Secrets Manager on moto), and the reserved namespace."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tenantkit import errors
from tenantkit.identifiers import RESERVED_NAMESPACE, check_tenant_id
from tenantkit.sources import DirectorySource, SecretsManagerSource
from testharness.moto import MotoServer

OWN = {"schema_version": 1, "tenant_id": "acme", "db": {"provider": "sqlite"}}
DEFAULTS = {"llm": {"provider": "echo"}}


def test_directory_source_reads_and_writes_the_tenants_own_document(tmp_path: Path) -> None:
    source = DirectorySource(tmp_path)
    assert source.read_defaults() == {}
    (tmp_path / "defaults.json").write_text(json.dumps(DEFAULTS))
    version = source.put("acme", OWN)
    assert source.read("acme") == OWN
    assert source.read_defaults() == DEFAULTS
    assert source.fetch("acme").raw["llm"] == {"provider": "echo"}
    assert stat.S_IMODE((tmp_path / "acme.json").stat().st_mode) == 0o600
    changed = {**OWN, "plan": "pro"}
    assert source.put("acme", changed) != version
    assert source.read("acme") == changed
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_directory_source_refuses_bad_writes(tmp_path: Path) -> None:
    source = DirectorySource(tmp_path)
    with pytest.raises(errors.TenantMismatch):
        source.put("acme", {**OWN, "tenant_id": "globex"})
    with pytest.raises(errors.InvalidRequest):
        source.put("../etc", OWN)
    with pytest.raises(errors.TenantNotFound):
        source.read("acme")
    with pytest.raises(errors.ConfigSourceError):
        DirectorySource(tmp_path / "missing").put("acme", OWN)


def test_secrets_manager_source_reads_the_tenants_own_secret(moto_server: MotoServer) -> None:
    client = moto_server.client("secretsmanager")
    source = SecretsManagerSource("edit", client=client)
    try:
        assert source.read_defaults() == {}
        client.create_secret(Name="edit/defaults", SecretString=json.dumps(DEFAULTS))
        source.put("acme", OWN)
        assert source.read("acme") == OWN
        assert source.read_defaults() == DEFAULTS
        with pytest.raises(errors.TenantNotFound):
            source.read("globex")
    finally:
        moto_server.reset()


def test_the_reserved_namespace_is_not_a_tenant_id(tmp_path: Path) -> None:
    with pytest.raises(errors.InvalidRequest, match="reserved"):
        check_tenant_id(RESERVED_NAMESPACE)
    with pytest.raises(errors.InvalidRequest):
        DirectorySource(tmp_path).fetch(RESERVED_NAMESPACE)


def test_sources_delete_a_tenants_secret(tmp_path: Path, moto_server: MotoServer) -> None:
    directory = DirectorySource(tmp_path)
    directory.put("acme", OWN)
    (tmp_path / "acme.json.previous").write_text(json.dumps(OWN))
    assert directory.delete("acme") is True
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert directory.delete("acme") is False
    with pytest.raises(errors.InvalidRequest):
        directory.delete("../etc")

    client = moto_server.client("secretsmanager")
    source = SecretsManagerSource("gone", client=client)
    try:
        source.put("acme", OWN)
        assert source.delete("acme") is True
        assert "DeletedDate" in client.describe_secret(SecretId="gone/tenants/acme")
        assert source.scheduled_for_deletion("acme")
        assert not source.scheduled_for_deletion("globex")
        with pytest.raises(errors.ConfigSourceError, match="marked deleted"):
            source.read("acme")  # until its recovery window ends or it is restored
        assert source.delete("globex") is False
    finally:
        moto_server.reset()
