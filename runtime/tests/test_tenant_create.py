"""``tenantkit tenant create``: secret, registry, schema and first admin, idempotent, on the
config-directory source with the local user store, and on Secrets Manager, DynamoDB and
Cognito (moto server)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from tenantkit.cli import main
from tenantkit.errors import ProviderError
from tenantkit.sources import DirectorySource, SecretsManagerSource
from tenantkit_runtime import deployment
from tenantkit_runtime.local.users import LocalUserStore
from tenantkit_runtime.provisioning.create import create_tenant
from tenantkit_runtime.userstore import CognitoUserStore, reset_user_store
from testharness.moto import MotoServer

from .conftest import _make_pool

SIGNING = "local-presign-key-0123456789"
PLANTED = "planted-secret-value-9f3a1c"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(
        "TENANTKIT_CONTROL_PLANE",
        json.dumps({"provider": "sqlite", "path": str(tmp_path / "cp.sqlite3")}),
    )
    monkeypatch.setenv("TENANTKIT_LOCAL_USERS", str(tmp_path / "users.sqlite3"))
    monkeypatch.delenv("TENANTKIT_USER_POOL_ID", raising=False)
    monkeypatch.delenv("TENANTKIT_CONFIG_DIR", raising=False)
    (tmp_path / "tenants").mkdir()
    deployment.reset()
    reset_user_store()
    yield tmp_path
    deployment.reset()
    reset_user_store()


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def _flags(root: Path) -> list[str]:
    return [
        "--db",
        json.dumps({"provider": "sqlite", "path": str(root / "acme.sqlite3")}),
        "--llm",
        "echo",
        "--storage",
        json.dumps({"provider": "local", "root": str(root / "files"), "signing_key": SIGNING}),
    ]


def test_create_on_a_config_directory_is_idempotent(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--config-dir", str(env / "tenants")]
    args = ["tenant", "create", "acme", *_flags(env), "--plan", "standard"]
    status, out, err = _run(capsys, *args, "--admin-email", "Boss@Example.com", *where, "--json")
    assert status == 0, err
    first = json.loads(out)
    assert first["done"] == ["secret", "registry", "schema", "admin", "active"]
    secret = json.loads((env / "tenants" / "acme.json").read_text())
    assert secret["db"]["provider"] == "sqlite"
    assert secret["plan"] == "standard"
    assert (env / "acme.sqlite3").exists()

    plane = deployment.control_plane()
    record = plane.tenant("acme")
    assert record is not None
    assert record.status == "active"
    users, _ = plane.users("acme")
    assert [(u.email, u.roles) for u in users] == [("boss@example.com", ("admin",))]
    assert users[0].user_id == first["admin_user_id"]
    assert "tenant.created" in [e.action for e in plane.audit_log("acme")[0]]

    status, out, err = _run(capsys, *args, "--admin-email", "boss@example.com", *where, "--json")
    assert status == 0, err
    again = json.loads(out)
    assert again["done"] == ["schema"]
    assert again["kept"] == ["secret", "registry", "admin"]
    assert len(plane.users("acme")[0]) == 1

    listed = _run(capsys, "tenant", "list")[1]
    assert listed.startswith("acme\tactive\t")

    other = ["--db", json.dumps({"provider": "sqlite", "path": str(env / "other.sqlite3")})]
    status, _, err = _run(capsys, "tenant", "create", "acme", *other, *_flags(env)[2:], *where)
    assert status != 0
    assert "already has a different secret" in err
    assert json.loads((env / "tenants" / "acme.json").read_text()) == secret


def test_a_bad_secret_names_the_field_and_never_the_value(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {
        "schema_version": 1,
        "db": {"provider": "sqlite", "path": str(env / "x.sqlite3"), "no_such": PLANTED},
        "llm": {"provider": "echo"},
        "storage": {"provider": "local", "root": str(env / "f"), "signing_key": PLANTED},
        "plan": "Not A Plan",
    }
    (env / "bad.json").write_text(json.dumps(bad))
    status, out, err = _run(
        capsys,
        "tenant",
        "create",
        "acme",
        "--from",
        str(env / "bad.json"),
        "--config-dir",
        str(env / "tenants"),
    )
    assert status != 0
    assert "db.no_such" in err
    assert "plan" in err
    assert PLANTED not in out + err
    assert not (env / "tenants" / "acme.json").exists()
    assert deployment.control_plane().tenant("acme") is None

    status, _, err = _run(capsys, "tenant", "create", "acme", "--llm", "echo")
    assert status != 0
    assert "--db" in err


class _FailingOnce(LocalUserStore):
    failed = False

    def create(self, **kwargs: Any) -> Any:
        if not self.failed:
            self.failed = True
            raise ProviderError("the user pool is unreachable")
        return super().create(**kwargs)


def test_a_half_done_create_is_finished_by_a_rerun(env: Path) -> None:
    source = DirectorySource(env / "tenants")
    plane = deployment.control_plane()
    plane.ensure_schema()
    users = _FailingOnce(str(env / "users.sqlite3"))
    raw = {
        "db": {"provider": "sqlite", "path": str(env / "acme.sqlite3")},
        "llm": {"provider": "echo"},
        "storage": {"provider": "local", "root": str(env / "files"), "signing_key": SIGNING},
    }
    with pytest.raises(ProviderError):
        create_tenant(source, plane, "acme", raw, admin_email="a@example.com", users=users)
    record = plane.tenant("acme")
    assert record is not None
    assert record.status == "creating"
    assert plane.users("acme")[0] == []

    done = create_tenant(source, plane, "acme", raw, admin_email="a@example.com", users=users)
    assert done.kept == ["secret", "registry"]
    assert done.done == ["schema", "admin", "active"]
    assert plane.tenant("acme").status == "active"  # type: ignore[union-attr]
    assert len(plane.users("acme")[0]) == 1


def test_create_on_secrets_manager_dynamodb_and_cognito(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", moto_server.region)
    monkeypatch.setenv("TENANTKIT_CACHE_DIR", str(tmp_path / "cache"))
    from tenantkit_runtime.controlplane import ControlPlane

    aws = {"region": moto_server.region, "endpoint_url": moto_server.endpoint_url}
    plane = ControlPlane.from_section(
        {"provider": "dynamodb", "table": f"cp-{secrets.token_hex(4)}", **aws}
    )
    plane.ensure_schema()
    pool = _make_pool(moto_server, f"prov-{secrets.token_hex(3)}", {})
    idp = moto_server.client("cognito-idp")
    for group in ("admin", "member"):
        idp.create_group(GroupName=group, UserPoolId=pool.pool_id)
    users = CognitoUserStore(pool.pool_id, endpoint_url=moto_server.endpoint_url)
    source = SecretsManagerSource(
        f"prov-{secrets.token_hex(4)}", endpoint_url=moto_server.endpoint_url
    )
    table = f"acme-{secrets.token_hex(4)}"
    raw = {
        "plan": "standard",
        "db": {"provider": "dynamodb", "table": table, **aws},
        "llm": {"provider": "echo"},
        "storage": {"provider": "local", "root": str(tmp_path / "files"), "signing_key": SIGNING},
    }
    try:
        first = create_tenant(
            source, plane, "acme", raw, admin_email="ops@example.com", users=users
        )
        again = create_tenant(
            source, plane, "acme", raw, admin_email="ops@example.com", users=users
        )
    finally:
        plane.close()
    assert first.done == ["secret", "registry", "schema", "admin", "active"]
    assert again.kept == ["secret", "registry", "admin"]
    assert source.read("acme")["db"]["table"] == table
    assert table in moto_server.client("dynamodb").list_tables()["TableNames"]
    listed = idp.list_users(UserPoolId=pool.pool_id)["Users"]
    assert len(listed) == 1
    attributes = {a["Name"]: a["Value"] for a in listed[0]["Attributes"]}
    assert attributes["custom:tenant_id"] == "acme"
    groups = idp.admin_list_groups_for_user(UserPoolId=pool.pool_id, Username=listed[0]["Username"])
    assert [g["GroupName"] for g in groups["Groups"]] == ["admin"]
