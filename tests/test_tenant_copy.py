"""Moving a tenant between providers on real servers, through ``tenantkit tenant``.

The tenant's secret is in Secrets Manager (moto). It starts on sqlite and local
storage, is exported, copied to DynamoDB and S3 (cut over: the old secret stays as
``AWSPREVIOUS``), copied again to PostgreSQL and local storage (S3 → local), rolled
back, and its export imported into a fresh tenant; counts and digests are equal at
every step.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from tenantkit.cli import main
from tenantkit.lifecycle.archive import tally_tenant
from tenantkit.lifecycle.digest import Tally
from tenantkit.resolver import Resolver, Tenant
from tenantkit.sources import SecretsManagerSource
from testharness.moto import MotoServer
from testharness.postgres import PostgresServer

TENANT = "acme"
SIGNING = "local-presign-key-0123456789"


@pytest.fixture
def aws_env(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", moto_server.region)
    monkeypatch.setenv("TENANTKIT_CACHE_DIR", str(tmp_path / "cache"))


def _local(tmp_path: Path, name: str) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "tenant_id": TENANT,
        "db": {"provider": "sqlite", "path": str(tmp_path / f"{name}.sqlite3")},
        "storage": {"provider": "local", "root": str(tmp_path / name), "signing_key": SIGNING},
        "llm": {"provider": "echo"},
    }


def _seed(tenant: Tenant) -> None:
    for n in range(640):
        tenant.db.put("notes", {"pk": f"u{n % 9}", "sk": f"n{n:05d}", "n": n, "r": n / 8})
    tenant.db.put("profiles", {"pk": "u1", "name": "Zoë 😀", "prefs": {"a": [1, None, True]}})
    tenant.db.put("sessions", {"pk": "s1"}, ttl=7200)
    for n in range(12):
        tenant.storage.put(f"files/{n:02d}.bin", secrets.token_bytes(1000 * n + 1))
    tenant.storage.put("big/blob", secrets.token_bytes(3 * 1024 * 1024 + 17))


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    status = main([*args, "--json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def _tally(source: SecretsManagerSource) -> tuple[Tally, Tally]:
    resolver = Resolver(source, signing_key=secrets.token_bytes(32))
    try:
        return tally_tenant(resolver.resolve(TENANT))
    finally:
        resolver.close()


def test_a_tenant_moves_between_providers_and_back(
    aws_env: None,
    moto_server: MotoServer,
    postgres_server: PostgresServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prefix = f"copy-{secrets.token_hex(4)}"
    where = ["--secrets-prefix", prefix, "--endpoint-url", moto_server.endpoint_url]
    source = SecretsManagerSource(prefix, endpoint_url=moto_server.endpoint_url)
    source.put(TENANT, _local(tmp_path, "start"))
    resolver = Resolver(source, signing_key=secrets.token_bytes(32))
    _seed(resolver.resolve(TENANT))
    resolver.close()
    want = _tally(source)
    assert want[0].count == 642
    assert want[1].count == 13

    exported = _run(capsys, "tenant", "export", TENANT, str(tmp_path / "export"), *where)
    assert exported["items"]["digest"] == want[0].hexdigest

    # sqlite + local -> DynamoDB + S3
    bucket = f"acme-{secrets.token_hex(4)}"
    moto_server.client("s3").create_bucket(Bucket=bucket)
    aws_secret = {
        "schema_version": 1,
        "tenant_id": TENANT,
        "db": {
            "provider": "dynamodb",
            "table": f"acme-{secrets.token_hex(4)}",
            "region": moto_server.region,
            "endpoint_url": moto_server.endpoint_url,
        },
        "storage": {
            "provider": "s3",
            "bucket": bucket,
            "region": moto_server.region,
            "endpoint_url": moto_server.endpoint_url,
        },
        "llm": {"provider": "echo"},
    }
    (tmp_path / "aws.json").write_text(json.dumps(aws_secret))
    copied = _run(capsys, "tenant", "copy", TENANT, "--to", str(tmp_path / "aws.json"), *where)
    assert copied["verified"] is True
    assert copied["items"]["digest"] == want[0].hexdigest
    assert copied["objects"]["digest"] == want[1].hexdigest
    assert source.read(TENANT)["db"]["provider"] == "dynamodb"
    assert source.read(TENANT, stage="AWSPREVIOUS")["db"]["provider"] == "sqlite"
    assert _tally(source) == want

    # DynamoDB + S3 -> PostgreSQL + local (S3 -> local)
    dsn = postgres_server.create_database(f"acme_{secrets.token_hex(4)}")
    pg_secret = {**_local(tmp_path, "pg"), "db": {"provider": "postgres", "dsn": dsn}}
    (tmp_path / "pg.json").write_text(json.dumps(pg_secret))
    copied = _run(capsys, "tenant", "copy", TENANT, "--to", str(tmp_path / "pg.json"), *where)
    assert copied["items"]["digest"] == want[0].hexdigest
    assert source.read(TENANT)["db"]["provider"] == "postgres"
    assert _tally(source) == want

    # rollback: back on DynamoDB + S3, the data there untouched
    _run(capsys, "tenant", "rollback", TENANT, *where)
    assert source.read(TENANT)["db"]["provider"] == "dynamodb"
    assert source.read(TENANT, stage="AWSPREVIOUS")["db"]["provider"] == "postgres"
    assert _tally(source) == want

    # the first export, imported into a fresh tenant on PostgreSQL, equals it too
    fresh = {**pg_secret, "tenant_id": "fresh"}
    fresh["storage"] = {**fresh["storage"], "root": str(tmp_path / "fresh")}
    source.put("fresh", fresh)
    imported = _run(capsys, "tenant", "import", "fresh", str(tmp_path / "export"), *where)
    assert imported["verified"] is True
    assert imported["items"]["digest"] == want[0].hexdigest
    assert imported["objects"]["digest"] == want[1].hexdigest


def test_copy_output_never_shows_credentials(
    aws_env: None,
    moto_server: MotoServer,
    postgres_server: PostgresServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    planted = f"planted-{secrets.token_hex(8)}"
    prefix = f"copy-{secrets.token_hex(4)}"
    where = ["--secrets-prefix", prefix, "--endpoint-url", moto_server.endpoint_url]
    source = SecretsManagerSource(prefix, endpoint_url=moto_server.endpoint_url)
    source.put(TENANT, _local(tmp_path, "start"))
    dsn = postgres_server.dsn_for("postgres", password=planted).replace("127.0.0.1", "127.0.0.2")
    bad = {**_local(tmp_path, "pg"), "db": {"provider": "postgres", "dsn": dsn}}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    status = main(["tenant", "copy", TENANT, "--to", str(tmp_path / "bad.json"), *where])
    out, err = capsys.readouterr()
    assert status == 1
    assert "ConnectionFailed" in err or "ProviderUnavailable" in err, err
    assert planted not in out + err
    assert source.read(TENANT)["db"]["provider"] == "sqlite"  # no cut-over
