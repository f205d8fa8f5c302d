"""A tenant's whole lifecycle on real servers: Secrets Manager, DynamoDB, S3 and Cognito
(moto server) and PostgreSQL.

create → use (its admin signs in; a legacy TinyDB database and uploads migrated; the
application writes) → copy to PostgreSQL and local storage → cut over → roll back →
suspend → delete, all through ``tenantkit``'s commands, with the tenant's counts and
digests (:mod:`tenantkit.lifecycle.digest`) equal at every step.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tinydb import TinyDB

from tenantkit.cli import main
from tenantkit.lifecycle.archive import tally_tenant
from tenantkit.lifecycle.digest import Tally
from tenantkit.resolver import Resolver
from tenantkit.sources import ConfigDocument, SecretsManagerSource
from tenantkit_runtime import deployment
from tenantkit_runtime.functions import auth as auth_function
from tenantkit_runtime.userstore import reset_user_store
from testharness.moto import MotoServer
from testharness.postgres import PostgresServer

TENANT = "acme"
ADMIN = "ops@acme.example"
PASSWORD = "Permanent-pass-1"
SIGNING = "local-presign-key-0123456789"


class _Fixed:
    """A secret source holding one document (to look at data no secret names any more)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw

    def fetch(self, tenant_id: str, *, stage: str = "AWSCURRENT") -> ConfigDocument:
        return ConfigDocument(tenant_id=tenant_id, raw=self._raw, version="1", source="test")

    def describe(self) -> str:
        return "a fixed secret"


def _tally(source: Any) -> tuple[Tally, Tally]:
    resolver = Resolver(source, signing_key=secrets.token_bytes(32))
    try:
        return tally_tenant(resolver.resolve(TENANT))
    finally:
        resolver.close()


def _run(capsys: pytest.CaptureFixture[str], *args: str, as_json: bool = True) -> dict[str, Any]:
    code = main([*args, "--json"] if as_json else list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    result: dict[str, Any] = json.loads(out.splitlines()[-1])
    return result


@pytest.fixture
def deployment_env(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[dict[str, str]]:
    """The deployment: control plane on DynamoDB, users in a Cognito pool, the
    authorizer trusting that pool; its ids."""
    aws = {"region": moto_server.region, "endpoint_url": moto_server.endpoint_url}
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": moto_server.region,
        "TENANTKIT_CACHE_DIR": str(tmp_path / "cache"),
    }.items():
        monkeypatch.setenv(name, value)
    idp = moto_server.client("cognito-idp")
    pool = idp.create_user_pool(
        PoolName=f"chain-{secrets.token_hex(3)}",
        Schema=[{"Name": "tenant_id", "AttributeDataType": "String", "Mutable": True}],
    )["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="web", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.create_group(GroupName="admin", UserPoolId=pool)
    issuer = f"https://cognito-idp.{moto_server.region}.amazonaws.com/{pool}"
    plane = {"provider": "dynamodb", "table": f"cp-{secrets.token_hex(4)}", **aws}
    for name, value in {
        "TENANTKIT_CONTROL_PLANE": json.dumps(plane),
        "TENANTKIT_USER_POOL_ID": pool,
        "TENANTKIT_USER_POOL_ENDPOINT_URL": moto_server.endpoint_url,
        "TENANTKIT_AUTH_ISSUERS": issuer,
        "TENANTKIT_AUTH_CLIENT_IDS": client,
        "TENANTKIT_AUTH_JWKS_URLS": json.dumps(
            {issuer: f"{moto_server.endpoint_url}/{pool}/.well-known/jwks.json"}
        ),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TENANTKIT_CONFIG_DIR", raising=False)
    monkeypatch.delenv("TENANTKIT_LOCAL_USERS", raising=False)
    monkeypatch.setattr(auth_function, "_verifier", None)
    deployment.reset()
    reset_user_store()
    deployment.control_plane().ensure_schema()
    yield {"pool": pool, "client": client}
    deployment.reset()
    reset_user_store()


def _authorize(token: str) -> dict[str, Any]:
    """The authorizer's answer to an HTTP API request carrying ``token``."""
    headers = {"authorization": f"Bearer {token}", "host": "api.example.com"}
    event = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/notes",
        "identitySource": [headers["authorization"]],
        "routeKey": "GET /notes",
        "rawPath": "/notes",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef123",
            "http": {"method": "GET", "path": "/notes", "sourceIp": "203.0.113.9"},
            "requestId": "r1",
            "routeKey": "GET /notes",
            "stage": "test",
        },
    }
    answer: dict[str, Any] = auth_function.handler(event, None)
    return answer


def _admin_token(moto_server: MotoServer, ids: dict[str, str]) -> str:
    idp = moto_server.client("cognito-idp")
    (user,) = idp.list_users(UserPoolId=ids["pool"])["Users"]
    idp.admin_set_user_password(
        UserPoolId=ids["pool"], Username=user["Username"], Password=PASSWORD, Permanent=True
    )
    result = idp.admin_initiate_auth(
        UserPoolId=ids["pool"],
        ClientId=ids["client"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user["Username"], "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    token: str = result["IdToken"]
    return token


def _legacy(tmp_path: Path) -> tuple[Path, Path]:
    """A legacy TinyDB database (written by ``tinydb``) and uploads directory."""
    path = tmp_path / "legacy.json"
    db = TinyDB(path)
    db.insert_multiple({"n": n, "title": f"note {n}", "tags": ["x"] * (n % 3)} for n in range(1200))
    db.table("users").insert_multiple(
        {"email": f"user{n}@acme.example", "name": "Zoë 😀" if n == 0 else f"u{n}"}
        for n in range(150)
    )
    db.close()
    (tmp_path / "mapping.json").write_text(
        json.dumps({"tables": {"_default": {"collection": "notes"}, "users": {"pk": "email"}}})
    )
    uploads = tmp_path / "uploads"
    for n in range(25):
        (uploads / f"{n % 4}").mkdir(parents=True, exist_ok=True)
        (uploads / f"{n % 4}" / f"file-{n}.bin").write_bytes(secrets.token_bytes(200 * n))
    (uploads / "big.bin").write_bytes(secrets.token_bytes(2 * 1024 * 1024 + 3))
    return path, uploads


def test_create_use_copy_cut_over_roll_back_suspend_delete(
    moto_server: MotoServer,
    postgres_server: PostgresServer,
    deployment_env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    aws = {"region": moto_server.region, "endpoint_url": moto_server.endpoint_url}
    prefix = f"chain-{secrets.token_hex(4)}"
    where = ["--secrets-prefix", prefix, "--endpoint-url", moto_server.endpoint_url]
    source = SecretsManagerSource(prefix, endpoint_url=moto_server.endpoint_url)
    bucket = f"acme-{secrets.token_hex(4)}"
    moto_server.client("s3").create_bucket(Bucket=bucket)
    dynamodb = {"provider": "dynamodb", "table": f"acme-{secrets.token_hex(4)}", **aws}
    s3 = {"provider": "s3", "bucket": bucket, **aws}

    # --- create: secret, registry, schema, first admin; run again, nothing twice
    create = ["tenant", "create", TENANT, "--plan", "standard", "--llm", "echo"]
    create += ["--db", json.dumps(dynamodb), "--storage", json.dumps(s3), "--admin-email", ADMIN]
    created = _run(capsys, *create, *where)
    assert created["done"] == ["secret", "registry", "schema", "admin", "active"]
    again = _run(capsys, *create, *where)
    assert again["admin_user_id"] == created["admin_user_id"]
    assert "secret" in again["kept"]
    plane = deployment.control_plane()
    record = plane.tenant(TENANT)
    assert record is not None
    assert record.status == "active"
    empty = _tally(source)
    assert (empty[0].count, empty[1].count) == (0, 0)

    # --- use: the admin signs in; legacy data migrated; the application writes
    token = _admin_token(moto_server, deployment_env)
    allowed = _authorize(token)
    assert allowed["isAuthorized"] is True
    assert allowed["context"]["tenant_id"] == TENANT
    database, uploads = _legacy(tmp_path)
    imported = _run(
        capsys,
        *["migrate", "tinydb", str(database), "--tenant", TENANT],
        *["--mapping", str(tmp_path / "mapping.json"), *where],
    )
    assert imported["verified"] is True
    assert imported["written"]["by_collection"] == {"notes": 1200, "users": 150}
    sent = _run(capsys, "migrate", "uploads", str(uploads), "--tenant", TENANT, *where)
    assert sent["verified"] is True
    assert sent["written"]["count"] == 26
    resolver = Resolver(source, signing_key=secrets.token_bytes(32))
    try:
        tenant = resolver.resolve(TENANT)
        assert tenant.db.provider == "dynamodb"
        tenant.db.put("sessions", {"pk": "s1", "user": ADMIN}, ttl=86400)
        tenant.db.update("users", "user0@acme.example", set={"plan": "gold"})
        tenant.storage.put("avatars/zoë.png", b"\x89PNG" + secrets.token_bytes(4000))
    finally:
        resolver.close()
    want = _tally(source)
    assert want[0].count == 1200 + 150 + 1
    assert want[1].count == 27

    # --- copy to PostgreSQL + local storage, verified, cut over
    dsn = postgres_server.create_database(f"acme_{secrets.token_hex(4)}")
    target = {
        "schema_version": 1,
        "tenant_id": TENANT,
        "plan": "standard",
        "db": {"provider": "postgres", "dsn": dsn},
        "llm": {"provider": "echo"},
        "storage": {"provider": "local", "root": str(tmp_path / "files"), "signing_key": SIGNING},
    }
    (tmp_path / "pg.json").write_text(json.dumps(target))
    copied = _run(capsys, "tenant", "copy", TENANT, "--to", str(tmp_path / "pg.json"), *where)
    assert copied["verified"] is True
    assert (copied["items"]["digest"], copied["objects"]["digest"]) == (
        want[0].hexdigest,
        want[1].hexdigest,
    )
    assert source.read(TENANT)["db"]["provider"] == "postgres"
    assert source.read(TENANT, stage="AWSPREVIOUS")["db"]["provider"] == "dynamodb"
    assert _tally(source) == want
    on_dynamodb = source.read(TENANT, stage="AWSPREVIOUS")

    # --- roll back: on DynamoDB and S3 again, the data there as it was
    _run(capsys, "tenant", "rollback", TENANT, *where)
    assert source.read(TENANT)["db"]["provider"] == "dynamodb"
    assert _tally(source) == want
    assert _tally(_Fixed(target)) == want  # the copy is left on PostgreSQL

    # --- suspend: refused at the authorizer, data kept
    suspended = _run(capsys, "tenant", "suspend", TENANT, as_json=False)  # prints JSON
    assert suspended["status"] == "suspended"
    status = deployment.tenant_status()
    assert status is not None
    status.forget()  # a warm container sees it within STATUS_TTL seconds
    refused = _authorize(token)
    assert refused["isAuthorized"] is False
    assert refused["context"]["error"] == "tenant_suspended"
    assert _tally(source) == want

    # --- delete: exported first (same counts and digests), then everything removed
    deleted = _run(
        capsys, "tenant", "delete", TENANT, "--yes", "--export-dir", str(tmp_path / "gone"), *where
    )
    assert (deleted["items"], deleted["objects"], deleted["users"]) == (
        want[0].count,
        want[1].count,
        1,
    )
    manifest = json.loads((tmp_path / "gone" / "manifest.json").read_text())
    assert manifest["items"]["digest"] == want[0].hexdigest
    assert manifest["objects"]["digest"] == want[1].hexdigest
    left = _tally(_Fixed(on_dynamodb))
    assert (left[0].count, left[1].count) == (0, 0)
    assert plane.tenant(TENANT) is None
    assert plane.audit_log(TENANT)[0][0].action == "tenant.deleted"
    idp = moto_server.client("cognito-idp")
    assert idp.list_users(UserPoolId=deployment_env["pool"])["Users"] == []
    described = moto_server.client("secretsmanager").describe_secret(
        SecretId=source.secret_id(TENANT)
    )
    assert "DeletedDate" in described
