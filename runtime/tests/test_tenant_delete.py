"""``tenantkit tenant delete``: export first, confirmation, then users, data, secret and
registry entry removed, an audit record left; on a config directory and on Secrets
Manager, DynamoDB, S3 and Cognito (moto server)."""

from __future__ import annotations

import io
import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from tenantkit.cli import main
from tenantkit.lifecycle.progress import Progress
from tenantkit.resolver import Resolver
from tenantkit.sources import DirectorySource, SecretsManagerSource
from tenantkit_runtime import deployment
from tenantkit_runtime.controlplane import ControlPlane
from tenantkit_runtime.local.users import LocalUserStore
from tenantkit_runtime.provisioning.create import create_tenant
from tenantkit_runtime.provisioning.delete import delete_tenant
from tenantkit_runtime.userstore import CognitoUserStore, reset_user_store
from testharness.moto import MotoServer

from .conftest import _make_pool

SIGNING = "local-presign-key-0123456789"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(
        "TENANTKIT_CONTROL_PLANE",
        json.dumps({"provider": "sqlite", "path": str(tmp_path / "cp.sqlite3")}),
    )
    monkeypatch.setenv("TENANTKIT_LOCAL_USERS", str(tmp_path / "users.sqlite3"))
    monkeypatch.delenv("TENANTKIT_USER_POOL_ID", raising=False)
    monkeypatch.delenv("TENANTKIT_CONFIG_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tenants").mkdir()
    deployment.reset()
    reset_user_store()
    yield tmp_path
    deployment.reset()
    reset_user_store()


def _seed(source: Any) -> None:
    resolver = Resolver(source, signing_key=b"k" * 32)
    try:
        tenant = resolver.resolve("acme")
        for n in range(450):
            tenant.db.put("notes", {"pk": f"u{n % 7}", "sk": f"n{n:04d}", "n": n})
        tenant.db.put("profiles", {"pk": "u1", "name": "Zoë"})
        for n in range(5):
            tenant.storage.put(f"files/{n}.bin", secrets.token_bytes(100 + n))
    finally:
        resolver.close()


def _remaining(source: Any, raw: dict[str, Any]) -> tuple[int, int]:
    class Fixed:
        def fetch(self, tenant_id: str, *, stage: str = "AWSCURRENT") -> Any:
            from tenantkit.sources import ConfigDocument

            return ConfigDocument(tenant_id="acme", raw=raw, version="1", source="test")

        def describe(self) -> str:
            return "test"

    resolver = Resolver(Fixed(), signing_key=b"k" * 32)
    try:
        tenant = resolver.resolve("acme")
        return len(tenant.db.scan(limit=1000).entries), len(tenant.storage.list("").objects)
    finally:
        resolver.close()


def _local_raw(root: Path) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "tenant_id": "acme",
        "db": {"provider": "sqlite", "path": str(root / "acme.sqlite3")},
        "llm": {"provider": "echo"},
        "storage": {"provider": "local", "root": str(root / "files"), "signing_key": SIGNING},
    }


def test_delete_exports_asks_and_removes_everything(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = DirectorySource(env / "tenants")
    plane = deployment.control_plane()
    plane.ensure_schema()
    users = LocalUserStore(str(env / "users.sqlite3"))
    raw = _local_raw(env)
    created = create_tenant(source, plane, "acme", raw, admin_email="a@example.com", users=users)
    create_tenant(source, plane, "globex", {**raw, "tenant_id": "globex"})
    _seed(source)
    where = ["--config-dir", str(env / "tenants")]

    assert main(["tenant", "delete", "acme", *where]) != 0  # stdin is no terminal
    assert "--yes" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("acmee\n"))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    assert main(["tenant", "delete", "acme", *where]) == 1
    assert "not deleted" in capsys.readouterr().err
    assert (env / "tenants" / "acme.json").exists()
    assert _remaining(source, raw) == (451, 5)

    status = main(["tenant", "delete", "acme", "--yes", "--export-dir", "out", *where, "--json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    result = json.loads(out.splitlines()[-1])
    assert (result["items"], result["objects"], result["users"]) == (451, 5, 1)
    manifest = json.loads((env / "out" / "manifest.json").read_text())
    assert manifest["items"]["count"] == 451
    assert manifest["objects"]["count"] == 5
    assert result["exported"]["items"]["digest"] == manifest["items"]["digest"]

    assert not (env / "tenants" / "acme.json").exists()
    assert _remaining(source, raw) == (0, 0)
    assert plane.tenant("acme") is None
    assert plane.tenant("globex") is not None
    assert plane.users("acme")[0] == []
    assert users.get(created.admin_user_id or "") is None
    entry = plane.audit_log("acme")[0][0]
    assert entry.action == "tenant.deleted"
    assert entry.actor == "operator"
    assert entry.details["exported"]["items"] == 451


def test_delete_on_secrets_manager_dynamodb_s3_and_cognito(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", moto_server.region)
    monkeypatch.setenv("TENANTKIT_CACHE_DIR", str(tmp_path / "cache"))
    aws = {"region": moto_server.region, "endpoint_url": moto_server.endpoint_url}
    plane = ControlPlane.from_section(
        {"provider": "dynamodb", "table": f"cp-{secrets.token_hex(4)}", **aws}
    )
    plane.ensure_schema()
    pool = _make_pool(moto_server, f"del-{secrets.token_hex(3)}", {})
    idp = moto_server.client("cognito-idp")
    idp.create_group(GroupName="admin", UserPoolId=pool.pool_id)
    users = CognitoUserStore(pool.pool_id, endpoint_url=moto_server.endpoint_url)
    prefix = f"del-{secrets.token_hex(4)}"
    source = SecretsManagerSource(prefix, endpoint_url=moto_server.endpoint_url)
    bucket = f"acme-{secrets.token_hex(4)}"
    moto_server.client("s3").create_bucket(Bucket=bucket)
    raw = {
        "schema_version": 1,
        "tenant_id": "acme",
        "db": {"provider": "dynamodb", "table": f"acme-{secrets.token_hex(4)}", **aws},
        "llm": {"provider": "echo"},
        "storage": {"provider": "s3", "bucket": bucket, **aws},
    }
    try:
        create_tenant(source, plane, "acme", raw, admin_email="ops@example.com", users=users)
        _seed(source)
        deleted = delete_tenant(
            source, plane, "acme", tmp_path / "export", Progress("export", quiet=True), users=users
        )
        assert (deleted.items, deleted.objects, deleted.users) == (451, 5, 1)
        assert deleted.secret
        assert plane.tenant("acme") is None
        assert plane.audit_log("acme")[0][0].action == "tenant.deleted"
        rerun = delete_tenant(
            source, plane, "acme", tmp_path / "again", Progress("export", quiet=True), users=users
        )
        assert (rerun.export, rerun.items, rerun.users, rerun.secret) == (None, 0, 0, False)
    finally:
        plane.close()
    assert _remaining(source, raw) == (0, 0)
    assert idp.list_users(UserPoolId=pool.pool_id)["Users"] == []
    described = moto_server.client("secretsmanager").describe_secret(
        SecretId=source.secret_id("acme")
    )
    assert "DeletedDate" in described
    assert json.loads((tmp_path / "export" / "manifest.json").read_text())["items"]["count"] == 451
