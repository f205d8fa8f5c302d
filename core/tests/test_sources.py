"""Config sources: a local directory, and Secrets Manager on a real moto server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tenantkit import errors
from tenantkit.sources import DirectorySource, SecretsManagerSource
from testharness.moto import MotoServer

PLANTED = "sk-planted-sources-9f8e7d6c"


def tenant_doc(tenant_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "tenant_id": tenant_id,
        "db": {"provider": "sqlite"},
        "storage": {"provider": "local", "root": "/tmp/x", "signing_key": PLANTED},
        **extra,
    }


DEFAULTS = {"llm": {"provider": "echo"}, "limits": {"requests_per_minute": 60}}


class TestDirectorySource:
    def test_merges_over_defaults_and_versions_content(self, tmp_path: Path) -> None:
        (tmp_path / "defaults.json").write_text(json.dumps(DEFAULTS))
        (tmp_path / "acme.json").write_text(json.dumps(tenant_doc("acme")))
        source = DirectorySource(tmp_path)
        first = source.fetch("acme")
        assert first.raw["llm"] == {"provider": "echo"}
        assert first.raw["limits"] == {"requests_per_minute": 60}
        assert source.fetch("acme").version == first.version
        (tmp_path / "acme.json").write_text(json.dumps(tenant_doc("acme", plan="pro")))
        assert source.fetch("acme").version != first.version
        assert PLANTED not in repr(first)
        assert source.tenant_ids() == ["acme"]

    def test_missing_tenant_mismatch_and_bad_json(self, tmp_path: Path) -> None:
        source = DirectorySource(tmp_path)
        with pytest.raises(errors.TenantNotFound):
            source.fetch("nobody")
        (tmp_path / "bravo.json").write_text(json.dumps(tenant_doc("alpha")))
        with pytest.raises(errors.TenantMismatch, match="declares tenant_id 'alpha'"):
            source.fetch("bravo")
        (tmp_path / "broken.json").write_text('{"tenant_id": "broken", "x": "' + PLANTED)
        with pytest.raises(errors.SecretValidationError) as info:
            source.fetch("broken")
        assert PLANTED not in str(info.value)
        with pytest.raises(errors.InvalidRequest):
            source.fetch("../etc/passwd")


class TestSecretsManagerSource:
    @pytest.fixture
    def source(self, moto_server: MotoServer) -> SecretsManagerSource:
        moto_server.reset()
        client = moto_server.client("secretsmanager")
        client.create_secret(Name="tk/defaults", SecretString=json.dumps(DEFAULTS))
        client.create_secret(Name="tk/tenants/acme", SecretString=json.dumps(tenant_doc("acme")))
        return SecretsManagerSource("tk", client=client)

    def test_reads_and_merges(self, source: SecretsManagerSource) -> None:
        doc = source.fetch("acme")
        assert doc.raw["llm"] == {"provider": "echo"}
        assert doc.raw["storage"]["signing_key"] == PLANTED
        assert doc.source == "tk/tenants/acme"

    def test_new_version_changes_the_version(self, source: SecretsManagerSource) -> None:
        first = source.fetch("acme").version
        new_version = source.put("acme", tenant_doc("acme", plan="pro"))
        assert new_version
        second = source.fetch("acme")
        assert second.version != first
        assert second.raw["plan"] == "pro"

    def test_version_stage_is_honoured(
        self, source: SecretsManagerSource, moto_server: MotoServer
    ) -> None:
        client = moto_server.client("secretsmanager")
        client.put_secret_value(
            SecretId="tk/tenants/acme",
            SecretString=json.dumps(tenant_doc("acme", plan="next")),
            VersionStages=["AWSPENDING"],
        )
        assert source.fetch("acme").raw.get("plan") is None
        assert source.fetch("acme", stage="AWSPENDING").raw["plan"] == "next"

    def test_missing_and_mismatched_tenants(
        self, source: SecretsManagerSource, moto_server: MotoServer
    ) -> None:
        with pytest.raises(errors.TenantNotFound):
            source.fetch("nobody")
        moto_server.client("secretsmanager").create_secret(
            Name="tk/tenants/bravo", SecretString=json.dumps(tenant_doc("alpha"))
        )
        with pytest.raises(errors.TenantMismatch):
            source.fetch("bravo")

    def test_unreachable_is_a_retryable_source_error(self) -> None:
        from testharness._ports import free_port

        source = SecretsManagerSource(
            "tk", endpoint_url=f"http://127.0.0.1:{free_port()}", region="us-east-1"
        )
        with pytest.raises(errors.ConfigSourceError) as info:
            source.fetch("acme")
        assert info.value.retryable


def test_a_missing_configuration_directory_says_so(tmp_path: Path) -> None:
    source = DirectorySource(tmp_path / "config")
    with pytest.raises(errors.ConfigurationError, match=r"configuration directory .* does not"):
        source.fetch("acme")
    (tmp_path / "config").mkdir()
    with pytest.raises(errors.TenantNotFound) as info:
        source.fetch("acme")
    assert str(tmp_path) not in str(info.value)  # a caller's error names no server path


def test_a_missing_signing_key_warns_a_deployment_and_only_notes_local_development(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from tenantkit import Resolver

    monkeypatch.delenv("TENANTKIT_SIGNING_KEY", raising=False)
    caplog.set_level(logging.INFO, logger="tenantkit")
    Resolver(DirectorySource(tmp_path))
    Resolver.from_env({"TENANTKIT_CONFIG_DIR": str(tmp_path)})
    Resolver(SecretsManagerSource("p", region="us-east-1"))
    levels = [r.levelno for r in caplog.records if "TENANTKIT_SIGNING_KEY" in r.getMessage()]
    assert levels == [logging.INFO, logging.INFO, logging.WARNING]
