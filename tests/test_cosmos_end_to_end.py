"""A tenant whose secret names ``cosmos``, end to end on the Cosmos DB stand-in.

``tenantkit check --ensure-schema`` (the command, in a fresh interpreter, so that what
it imports can be seen) resolves the tenant from a config directory, loads only the
plugins its secret names, creates the container and round-trips a probe item;
``tenantkit providers`` lists the plugin and ``secret schema`` shows its section with
the owner of every field. The planted account key never shows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from testharness.cosmos import CosmosServer
from tests._end_to_end import cosmos_section, tenantkit, write_secret

TENANT = "acme"


def _owners(schema: object, title: str) -> list[tuple[str, str]]:
    """(field, owner) of every property of the JSON-schema object titled ``title``."""
    found: list[tuple[str, str]] = []
    if isinstance(schema, dict):
        if schema.get("title") == title and isinstance(schema.get("properties"), dict):
            for name, prop in schema["properties"].items():
                found.append((name, prop.get("x-tenantkit-owner", "operator")))
        for value in schema.values():
            found += _owners(value, title)
    elif isinstance(schema, list):
        for value in schema:
            found += _owners(value, title)
    return found


def test_tenantkit_check_on_cosmos(cosmos_server: CosmosServer, tmp_path: Path) -> None:
    config = tmp_path / "config"
    write_secret(
        config,
        {
            "schema_version": 1,
            "tenant_id": TENANT,
            "db": cosmos_section(cosmos_server),
            "llm": {"provider": "echo"},
            "storage": {
                "provider": "local",
                "root": str(tmp_path / "files"),
                "signing_key": "k" * 32,
            },
        },
    )
    env = {**os.environ, "TENANTKIT_CACHE_DIR": str(tmp_path / "cache")}

    done = tenantkit(
        "check", TENANT, "--config-dir", str(config), "--ensure-schema", "--json", env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"], report
    assert [(p["kind"], p["provider"], p["ok"]) for p in report["providers"]] == [
        ("db", "cosmos", True),
        ("llm", "echo", True),
        ("storage", "local", True),
    ]
    imported = report["imported_plugins"]
    assert {m.split(".")[0] for m in imported if not m.startswith("tenantkit.")} == {
        "tenantkit_db_cosmos"
    }

    providers = tenantkit("providers", "--json", env=env)
    assert providers.returncode == 0, providers.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(providers.stdout)["providers"]}
    cosmos = rows["db", "cosmos"]
    assert (cosmos["distribution"], cosmos["loads"]) == ("tenantkit-db-cosmos", True)
    assert cosmos["capabilities"] == ["batch", "indexes", "transactions", "ttl"]

    schema = tenantkit("secret", "schema", "--json", env=env)
    assert schema.returncode == 0, schema.stderr
    owners = dict(_owners(json.loads(schema.stdout), "CosmosDbSection"))
    assert owners["consistency"] == "tenant"
    assert owners["endpoint"] == owners["key"] == owners["container"] == "operator"

    for output in (done.stdout, done.stderr, providers.stdout, schema.stdout):
        assert cosmos_server.key not in output
