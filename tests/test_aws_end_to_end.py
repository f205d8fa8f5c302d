"""A tenant whose secret names ``dynamodb`` and ``s3``, end to end on the moto server.

Its secret is in Secrets Manager; the resolver reads it and loads only the plugins it
names. ``tenantkit check --ensure-schema`` (the command, in a fresh interpreter, so
that what it imports can be seen) creates the table in the tenant's own account and
round-trips an item and an object; ``tenantkit providers`` lists both plugins.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import pytest

from tenantkit import IndexSpec, Schema
from tenantkit.resolver import Resolver
from tenantkit.sources import SecretsManagerSource
from testharness.moto import MotoServer
from tests._end_to_end import tenantkit

TENANT = "acme"
TENANT_ACCOUNT = "111111111111"
EXTERNAL_ID = "planted-external-id-0c2f41d9e7"


@pytest.fixture
def cli_env(moto_server: MotoServer, tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": moto_server.region,
        "TENANTKIT_CACHE_DIR": str(tmp_path),
    }
    return env


@pytest.fixture
def tenant_secret(moto_server: MotoServer) -> dict[str, Any]:
    """The tenant's secret, stored under a fresh prefix; its bucket exists."""
    prefix = f"e2e-{secrets.token_hex(4)}"
    bucket = f"acme-files-{secrets.token_hex(4)}"
    moto_server.client("s3").create_bucket(Bucket=bucket)
    secret = {
        "schema_version": 1,
        "tenant_id": TENANT,
        "db": {
            "provider": "dynamodb",
            "table": f"acme-data-{secrets.token_hex(4)}",
            "region": moto_server.region,
            "endpoint_url": moto_server.endpoint_url,
            "role_arn": f"arn:aws:iam::{TENANT_ACCOUNT}:role/tenantkit-access",
            "external_id": EXTERNAL_ID,
        },
        "llm": {"provider": "echo"},
        "storage": {
            "provider": "s3",
            "bucket": bucket,
            "region": moto_server.region,
            "endpoint_url": moto_server.endpoint_url,
            "prefix": "tenants",
        },
    }
    client = moto_server.client("secretsmanager")
    client.create_secret(Name=f"{prefix}/tenants/{TENANT}", SecretString=json.dumps(secret))
    return {"prefix": prefix, "secret": secret}


def test_tenantkit_providers_lists_both_plugins(cli_env: dict[str, str]) -> None:
    done = tenantkit("providers", "--json", env=cli_env)
    assert done.returncode == 0, done.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(done.stdout)["providers"]}
    dynamodb, s3 = rows["db", "dynamodb"], rows["storage", "s3"]
    assert (dynamodb["distribution"], dynamodb["loads"]) == ("tenantkit-db-dynamodb", True)
    assert dynamodb["capabilities"] == ["batch", "export", "indexes", "transactions", "ttl"]
    assert (s3["distribution"], s3["loads"]) == ("tenantkit-store-s3", True)
    assert s3["capabilities"] == ["presign"]


def test_tenantkit_check_resolves_the_tenant_with_only_its_plugins(
    moto_server: MotoServer, tenant_secret: dict[str, Any], cli_env: dict[str, str]
) -> None:
    where = ["--secrets-prefix", tenant_secret["prefix"], "--endpoint-url"]
    where += [moto_server.endpoint_url, "--region", moto_server.region]
    done = tenantkit("check", TENANT, *where, "--ensure-schema", "--json", env=cli_env)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"], report
    assert [(p["kind"], p["provider"], p["ok"]) for p in report["providers"]] == [
        ("db", "dynamodb", True),
        ("llm", "echo", True),
        ("storage", "s3", True),
    ]
    # Of the installed plugins, only the two the secret names (and the core's echo).
    imported = report["imported_plugins"]
    assert {m.split(".")[0] for m in imported if not m.startswith("tenantkit.")} == {
        "tenantkit_db_dynamodb",
        "tenantkit_store_s3",
    }
    assert [m for m in imported if m.startswith("tenantkit.")] == ["tenantkit.providers.echo"]
    # Run again as a person would read it: the table exists now, and no credential shows.
    text = tenantkit("check", TENANT, *where, env=cli_env)
    assert text.returncode == 0, text.stdout + text.stderr
    assert "dynamodb" in text.stdout
    for output in (done.stdout, done.stderr, text.stdout, text.stderr):
        assert EXTERNAL_ID not in output

    # ensure_schema created the table in the tenant's own account; the probe is gone.
    table = tenant_secret["secret"]["db"]["table"]
    own = moto_server.client("dynamodb")
    assert table not in own.list_tables()["TableNames"]
    sts = moto_server.client("sts")
    role = tenant_secret["secret"]["db"]["role_arn"]
    credentials = sts.assume_role(RoleArn=role, RoleSessionName="verify")["Credentials"]
    theirs = moto_server.client(
        "dynamodb",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    assert theirs.scan(TableName=table)["Items"] == []
    bucket = tenant_secret["secret"]["storage"]["bucket"]
    assert moto_server.client("s3").list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_the_resolved_tenant_uses_dynamodb_and_s3(
    moto_server: MotoServer, tenant_secret: dict[str, Any]
) -> None:
    schema = Schema(
        indexes=(IndexSpec(name="by_owner", collection="notes", partition_field="owner"),)
    )
    source = SecretsManagerSource(
        tenant_secret["prefix"], client=moto_server.client("secretsmanager")
    )
    resolver = Resolver(source, schema=schema, signing_key=secrets.token_bytes(32))
    try:
        tenant = resolver.resolve(TENANT)
        assert tenant.db.provider == "dynamodb"
        assert tenant.storage.provider == "s3"
        tenant.provider_instance("db").ensure_schema(schema)
        for i in range(5):
            tenant.db.put("notes", {"pk": "u1", "sk": f"n{i}", "owner": "bob"})
        first = tenant.db.query("notes", "u1", limit=3)
        rest = tenant.db.query("notes", "u1", limit=3, cursor=first.cursor)
        assert [i.sk for i in first.items + rest.items] == [f"n{i}" for i in range(5)]
        assert len(tenant.db.query_index("notes", "by_owner", "bob").items) == 5

        tenant.storage.put("reports/q3.txt", b"quarterly", content_type="text/plain")
        url = tenant.storage.presign_get("reports/q3.txt", expires_in=300)
        import httpx

        assert httpx.get(url).content == b"quarterly"
        bucket = tenant_secret["secret"]["storage"]["bucket"]
        keys = moto_server.client("s3").list_objects_v2(Bucket=bucket)["Contents"]
        assert [k["Key"] for k in keys] == ["tenants/acme/reports/q3.txt"]
    finally:
        resolver.close()
