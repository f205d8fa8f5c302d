"""The plan's tenant C end to end: DynamoDB (moto server), Claude (respx, in the Messages
API's documented format) and Google Cloud Storage (fake-gcs-server, with Google's OAuth
token endpoint answered by respx in its documented format).

The tenant's secret is in Secrets Manager. ``tenantkit check`` runs in a fresh
interpreter, so what it imports is what a cold Lambda container would: the three
plugins the secret names and no other.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tenantkit.resolver import Resolver
from tenantkit.sources import SecretsManagerSource
from testharness.gcs import GCSServer
from testharness.moto import MotoServer

TENANT = "tenant-c"
CLAUDE_URL = "https://api.anthropic.test"
TOKEN_URL = "https://oauth2.googleapis.com/token"
CLAUDE_KEY = "sk-ant-api03-PLANTED-tenant-c-0123456789"
ACCESS_TOKEN = "ya29.c.PLANTED-tenant-c-token"
# A Messages API answer (https://platform.claude.com/docs/en/api/messages).
MESSAGE: dict[str, Any] = {
    "id": "msg_01TenantC000000000000000",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [{"type": "text", "text": "ok"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 14, "output_tokens": 2},
}
# The token endpoint's answer to a JWT bearer grant
# (https://developers.google.com/identity/protocols/oauth2/service-account#httprest).
TOKEN = {"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"}


def _service_account_key() -> dict[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": "tenant-c-project",
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": "tenantkit-files@tenant-c-project.iam.gserviceaccount.com",
        "client_id": "109876543210987654321",
        "token_uri": TOKEN_URL,
    }


@pytest.fixture
def tenant_secret(moto_server: MotoServer, gcs_server: GCSServer) -> dict[str, Any]:
    prefix = f"e2e-{secrets.token_hex(4)}"
    bucket = f"tenant-c-files-{secrets.token_hex(4)}"
    gcs_server.create_bucket(bucket)
    key = _service_account_key()
    secret = {
        "schema_version": 1,
        "tenant_id": TENANT,
        "db": {
            "provider": "dynamodb",
            "table": f"tenant-c-data-{secrets.token_hex(4)}",
            "region": moto_server.region,
            "endpoint_url": moto_server.endpoint_url,
        },
        "llm": {
            "provider": "claude",
            "api_key": CLAUDE_KEY,
            "model": "claude-sonnet-4-5",
            "base_url": CLAUDE_URL,
        },
        "storage": {
            "provider": "gcs",
            "bucket": bucket,
            "endpoint": gcs_server.endpoint,
            "prefix": "tenants",
            "service_account_key": json.dumps(key),
        },
    }
    client = moto_server.client("secretsmanager")
    client.create_secret(Name=f"{prefix}/tenants/{TENANT}", SecretString=json.dumps(secret))
    return {"prefix": prefix, "secret": secret, "key": key}


_CHECK = textwrap.dedent(
    """
    import json, sys
    import respx
    from tenantkit.cli import main

    message, token, claude_url, token_url, status_file = json.loads(sys.argv[1])
    with respx.mock(assert_all_called=False) as api:
        claude = api.post(claude_url + "/v1/messages").respond(
            200, headers={"request-id": "req_c"}, json=message
        )
        oauth = api.post(token_url).respond(200, json=token)
        api.route(host="127.0.0.1").pass_through()
        status = main(sys.argv[2:])
    plugins = sorted(m for m in sys.modules if m.startswith("tenantkit_") and "." not in m)
    with open(status_file, "w") as f:
        json.dump(
            {
                "status": status,
                "claude_calls": claude.call_count,
                "token_calls": oauth.call_count,
                "plugins": plugins,
            },
            f,
        )
    """
)


def _check(
    moto_server: MotoServer, prefix: str, tmp_path: Path, *args: str
) -> tuple[dict[str, Any], str, str]:
    script = tmp_path / "check.py"
    script.write_text(_CHECK)
    status_file = tmp_path / "status.json"
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": moto_server.region,
        "TENANTKIT_CACHE_DIR": str(tmp_path / "cache"),
    }
    fixtures = [MESSAGE, TOKEN, CLAUDE_URL, TOKEN_URL, str(status_file)]
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            json.dumps(fixtures),
            "check",
            TENANT,
            "--secrets-prefix",
            prefix,
            "--endpoint-url",
            moto_server.endpoint_url,
            "--region",
            moto_server.region,
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert status_file.exists(), done.stdout + done.stderr
    return json.loads(status_file.read_text()), done.stdout, done.stderr


def test_tenantkit_check_passes_for_tenant_c_importing_only_its_plugins(
    moto_server: MotoServer, tenant_secret: dict[str, Any], tmp_path: Path
) -> None:
    outcome, out, err = _check(
        moto_server, tenant_secret["prefix"], tmp_path, "--ensure-schema", "--json"
    )
    assert outcome["status"] == 0, out + err
    report = json.loads(out)
    assert report["ok"], report
    assert [(p["kind"], p["provider"], p["ok"]) for p in report["providers"]] == [
        ("db", "dynamodb", True),
        ("llm", "claude", True),
        ("storage", "gcs", True),
    ]
    assert outcome["plugins"] == [
        "tenantkit_db_dynamodb",
        "tenantkit_llm_claude",
        "tenantkit_store_gcs",
    ]
    assert {m.split(".")[0] for m in report["imported_plugins"]} == set(outcome["plugins"])
    assert outcome["claude_calls"] == 1
    assert outcome["token_calls"] == 1
    key = tenant_secret["key"]
    for planted in (CLAUDE_KEY, ACCESS_TOKEN, key["private_key_id"], "PRIVATE KEY"):
        assert planted not in out + err


def test_tenantkit_providers_lists_gcs(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("tenantkit")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "tenantkit"]
    done = subprocess.run(
        [*command, "providers", "--json"],
        env={**os.environ, "TENANTKIT_CACHE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(done.stdout)["providers"]}
    gcs = rows["storage", "gcs"]
    assert (gcs["distribution"], gcs["loads"], gcs["capabilities"]) == (
        "tenantkit-store-gcs",
        True,
        ["presign"],
    )


@pytest.fixture
def google_oauth() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.post(TOKEN_URL).respond(200, json=TOKEN)
        router.route(host="127.0.0.1").pass_through()
        yield router


def test_the_resolved_tenant_keeps_its_files_under_its_prefix(
    moto_server: MotoServer,
    gcs_server: GCSServer,
    tenant_secret: dict[str, Any],
    google_oauth: respx.MockRouter,
) -> None:
    source = SecretsManagerSource(
        tenant_secret["prefix"], client=moto_server.client("secretsmanager")
    )
    resolver = Resolver(source, signing_key=secrets.token_bytes(32))
    try:
        tenant = resolver.resolve(TENANT)
        assert tenant.storage.provider == "gcs"
        tenant.storage.put("reports/q3.txt", b"quarterly", content_type="text/plain")
        url = tenant.storage.presign_get("reports/q3.txt", expires_in=300)
        assert httpx.get(url).content == b"quarterly"
        copied = tenant.storage.copy("reports/q3.txt", "archive/q3.txt")
        assert copied.key == "archive/q3.txt"
        assert [o.key for o in tenant.storage.list("").objects] == [
            "archive/q3.txt",
            "reports/q3.txt",
        ]
        bucket = tenant_secret["secret"]["storage"]["bucket"]
        listed = httpx.get(f"{gcs_server.endpoint}/storage/v1/b/{bucket}/o").json()
        assert sorted(item["name"] for item in listed["items"]) == [
            "tenants/tenant-c/archive/q3.txt",
            "tenants/tenant-c/reports/q3.txt",
        ]
    finally:
        resolver.close()
