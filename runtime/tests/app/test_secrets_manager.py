"""The functions with tenant secrets in Secrets Manager (moto): serving, a rotated key
applied on the first authentication error, and configuration edits written back as
new secret versions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tenantkit_runtime import deployment
from tenantkit_runtime.functions import chat, config

from .conftest import SIGNING_KEY


@pytest.fixture
def secrets(tenants, moto_server, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """acme's secret under ``app/tenants/acme``; the deployment reads Secrets Manager."""
    client = moto_server.client("secretsmanager")
    prefix = "app"
    client.create_secret(
        Name=f"{prefix}/defaults", SecretString=json.dumps({"features": {"search": True}})
    )
    client.create_secret(
        Name=f"{prefix}/tenants/acme", SecretString=json.dumps(tenants.tenant_document("acme"))
    )
    monkeypatch.delenv("TENANTKIT_CONFIG_DIR")
    monkeypatch.setenv("TENANTKIT_SECRETS_PREFIX", prefix)
    monkeypatch.setenv("TENANTKIT_SECRETS_ENDPOINT_URL", moto_server.endpoint_url)
    monkeypatch.setenv("TENANTKIT_SIGNING_KEY", SIGNING_KEY)
    deployment.reset()
    yield client
    deployment.reset()
    moto_server.reset()


def test_rotated_credentials_apply_on_the_first_auth_error(secrets, tenants, events, body) -> None:
    revoked = tenants.tenant_document(
        "acme", llm={"provider": "echo", "fail_with": {"error": "authentication_error"}}
    )
    secrets.put_secret_value(SecretId="app/tenants/acme", SecretString=json.dumps(revoked))
    created = chat.handler(events.http("POST", "/conversations", body={}), None)
    assert created["statusCode"] == 201
    cid = body(created)["id"]
    rotated = tenants.tenant_document("acme", llm={"provider": "echo", "prefix": "new key: "})
    secrets.put_secret_value(SecretId="app/tenants/acme", SecretString=json.dumps(rotated))
    sent = chat.handler(
        events.http("POST", f"/conversations/{cid}/messages", body={"content": "hi"}), None
    )
    assert sent["statusCode"] == 201, sent
    assert body(sent)["reply"]["content"] == "new key: hi"


def test_config_edits_become_new_secret_versions(secrets, events, body) -> None:
    admin = {"roles": "admin", "user": "root"}
    result = config.handler(
        events.http("PATCH", "/config", body={"branding": {"display_name": "ACME"}}, **admin),
        None,
    )
    assert result["statusCode"] == 200, result
    assert body(result)["features"] == {"beta": False, "search": True}
    stored = json.loads(secrets.get_secret_value(SecretId="app/tenants/acme")["SecretString"])
    assert stored["branding"] == {"display_name": "ACME"}
    assert "search" not in stored["features"]  # the defaults stay in the defaults
    versions = secrets.list_secret_version_ids(SecretId="app/tenants/acme")["Versions"]
    assert len(versions) == 2
    branding = config.handler(events.http("GET", "/config/branding"), None)
    assert body(branding) == {"display_name": "ACME"}
