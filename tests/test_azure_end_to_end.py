"""A tenant on Azure: ``cosmos`` + ``openai`` + ``azure-blob``, end to end.

The migration plan's tenant B. ``tenantkit check --ensure-schema`` runs in a fresh
interpreter against the Cosmos DB stand-in and azurite, with the OpenAI chat
completions API answered by respx: it resolves the tenant importing only the three
plugins its secret names, creates the container, round-trips a probe item and a probe
object and sends one chat request. No planted credential shows in its output.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from tenantkit.plugins import EntryPointIndex, Plugins
from tenantkit.resolver import Resolver
from tenantkit.sources import DirectorySource
from testharness.azurite import AzuriteServer
from testharness.cosmos import CosmosServer
from tests._end_to_end import Answer, cosmos_section, tenantkit_with_api, write_secret

TENANT = "acme"
OPENAI_KEY = "sk-proj-PLANTED-azure-tenant-0123456789"
CHAT_URL = "https://api.openai.com/v1/chat/completions"
# A chat completion object (https://platform.openai.com/docs/api-reference/chat/object).
COMPLETION: dict[str, Any] = {
    "id": "chatcmpl-AzureTenant0000000000000",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-4.1-2025-04-14",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "ok", "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 19, "completion_tokens": 2, "total_tokens": 21},
    "service_tier": "default",
    "system_fingerprint": None,
}
PLUGINS = ["tenantkit_db_cosmos", "tenantkit_llm_openai", "tenantkit_store_azure_blob"]


def _secret(cosmos: CosmosServer, azurite: AzuriteServer) -> dict[str, Any]:
    container = f"acme-{secrets.token_hex(4)}"
    azurite.create_container(container)
    return {
        "schema_version": 1,
        "tenant_id": TENANT,
        "db": cosmos_section(cosmos),
        "llm": {"provider": "openai", "api_key": OPENAI_KEY, "model": "gpt-4.1"},
        "storage": {
            "provider": "azure-blob",
            "account_url": azurite.account_url,
            "container": container,
            "prefix": "tenants",
            "account_key": azurite.account_key,
        },
    }


def test_tenantkit_check_passes_importing_only_the_three_plugins(
    cosmos_server: CosmosServer, azurite: AzuriteServer, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    write_secret(config, _secret(cosmos_server, azurite))
    chat = Answer("POST", CHAT_URL, 200, COMPLETION, {"x-request-id": "req_azure_e2e"})

    run = tenantkit_with_api(
        tmp_path, [chat], "check", TENANT, "--config-dir", str(config), "--ensure-schema", "--json"
    )

    assert run.status == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["ok"], report
    assert [(p["kind"], p["provider"], p["ok"]) for p in report["providers"]] == [
        ("db", "cosmos", True),
        ("llm", "openai", True),
        ("storage", "azure-blob", True),
    ]
    assert "gpt-4.1-2025-04-14" in report["providers"][1]["detail"]
    assert run.calls == [1]
    # Of every installed plugin, the interpreter imported these three and no other.
    assert run.plugins == PLUGINS
    imported = report["imported_plugins"]
    assert sorted({m.split(".")[0] for m in imported}) == PLUGINS
    for output in (run.stdout, run.stderr):
        assert OPENAI_KEY not in output
        assert cosmos_server.key not in output
        assert azurite.account_key not in output


def test_the_resolved_tenant_uses_cosmos_openai_and_azure_blob(
    cosmos_server: CosmosServer, azurite: AzuriteServer, tmp_path: Path
) -> None:
    import httpx
    import respx

    config = tmp_path / "config"
    secret = _secret(cosmos_server, azurite)
    write_secret(config, secret)
    resolver = Resolver(
        DirectorySource(config),
        plugins=Plugins(EntryPointIndex(cache_dir=None)),
        signing_key=secrets.token_bytes(32),
    )
    try:
        tenant = resolver.resolve(TENANT)
        assert (tenant.db.provider, tenant.llm.provider, tenant.storage.provider) == (
            "cosmos",
            "openai",
            "azure-blob",
        )
        tenant.provider_instance("db").ensure_schema(tenant.schema)
        for i in range(3):
            tenant.db.put("notes", {"pk": "u1", "sk": f"n{i}", "text": f"note {i}"})
        first = tenant.db.query("notes", "u1", limit=2)
        rest = tenant.db.query("notes", "u1", limit=2, cursor=first.cursor)
        assert [i.sk for i in first.items + rest.items] == ["n0", "n1", "n2"]

        tenant.storage.put("reports/q3.txt", b"quarterly", content_type="text/plain")
        url = tenant.storage.presign_get("reports/q3.txt", expires_in=300)
        assert "/tenants/acme/reports/q3.txt?" in url
        assert httpx.get(url).content == b"quarterly"

        with respx.mock() as api:
            route = api.post(CHAT_URL).respond(200, json=COMPLETION)
            reply = tenant.llm.chat(messages=[{"role": "user", "content": "Say ok"}])
        assert (reply.text, reply.provider) == ("ok", "openai")
        assert route.calls[0].request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    finally:
        resolver.close()
