"""Overhead of the ``cosmos`` provider per operation, against raw REST and the SDK.

Three sides make the same Cosmos DB calls on the same stand-in server
(``@vercel/cosmosdb-server``, its own node process, HTTPS on 127.0.0.1) and container:
upsert one item, read it, query a 50-item partition (the same query text, parameters
and page size on every side).

* provider: what application code uses, ``TenantDatabase`` (input validation, the retry
  policy, cursor signing, answer checks) over ``CosmosDatabase``;
* raw REST: an ``httpx.Client`` sending the same requests, signed with the same
  master-key HMAC, nothing else;
* SDK: ``azure-cosmos``'s ``ContainerProxy`` (``upsert_item``, ``read_item``,
  ``query_items`` in one partition).

Calls alternate between the sides, in a random order drawn per round (``bench/_sides.py``).

    uv run python bench/cosmos_overhead.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _sides import interleave, profile, table

from tenantkit import ProviderContext, RetryPolicy, Schema, TenantDatabase
from tenantkit.cursors import CursorSigner
from tenantkit_db_cosmos import CosmosSettings
from tenantkit_db_cosmos._layout import document, item_id
from tenantkit_db_cosmos._wire import MasterKeyAuth
from tenantkit_db_cosmos.database import CosmosDatabase
from testharness.cosmos import CosmosServer, running_server

FIELDS: dict[str, Any] = {
    "title": "a note of ordinary length, about sixty characters of text",
    "owner": "user-42",
    "count": 7,
    "score": 0.25,
    "tags": ["alpha", "beta"],
}
DATABASE, CONTAINER = "bench", "items"
DOCS = f"/dbs/{DATABASE}/colls/{CONTAINER}/docs"
#: The query the provider sends for one partition (one item beyond the page, expiry).
QUERY = (
    "SELECT * FROM c WHERE c.t = @t AND c.c = @c AND c.p = @p"
    " AND (NOT IS_DEFINED(c.x) OR c.x > @now) ORDER BY c.s ASC"
)


class RawREST:
    """The same requests over a bare httpx client with the master-key signature."""

    def __init__(self, server: CosmosServer) -> None:
        self.client = httpx.Client(
            base_url=server.endpoint,
            verify=server.ssl_context,
            auth=MasterKeyAuth(server.key),
            headers={"Accept": "application/json"},
        )
        self.partition = {"x-ms-documentdb-partitionkey": '["raw"]'}

    def put(self, pk: str) -> dict[str, Any]:
        doc = document("raw", "notes", pk, "", FIELDS, expires_at=None, now=0, indexes={})
        headers = {**self.partition, "x-ms-documentdb-is-upsert": "True"}
        response = self.client.post(DOCS, json=doc, headers=headers)
        response.raise_for_status()
        return dict(response.json())

    def get(self, pk: str) -> dict[str, Any]:
        response = self.client.get(f"{DOCS}/{item_id('notes', pk, '')}", headers=self.partition)
        response.raise_for_status()
        return dict(response.json())

    def query(self, pk: str) -> list[dict[str, Any]]:
        body = {
            "query": QUERY,
            "parameters": [
                {"name": "@t", "value": "raw"},
                {"name": "@c", "value": "notes"},
                {"name": "@p", "value": pk},
                {"name": "@now", "value": int(time.time())},
            ],
        }
        headers = {
            **self.partition,
            "Content-Type": "application/query+json",
            "x-ms-documentdb-isquery": "True",
            "x-ms-max-item-count": "101",
        }
        response = self.client.post(DOCS, content=json.dumps(body), headers=headers)
        response.raise_for_status()
        return list(response.json()["Documents"])


class SDK:
    """azure-cosmos against the same container."""

    def __init__(self, server: CosmosServer) -> None:
        from azure.cosmos import CosmosClient
        from azure.cosmos.documents import ConnectionPolicy, SSLConfiguration

        policy = ConnectionPolicy()
        policy.SSLConfiguration = SSLConfiguration()
        policy.SSLConfiguration.SSLCaCerts = str(server.ca_file)
        policy.EnableEndpointDiscovery = False
        client = CosmosClient(server.endpoint, credential=server.key, connection_policy=policy)
        self.container = client.get_database_client(DATABASE).get_container_client(CONTAINER)

    def put(self, pk: str) -> dict[str, Any]:
        doc = document("sdk", "notes", pk, "", FIELDS, expires_at=None, now=0, indexes={})
        return dict(self.container.upsert_item(doc))

    def get(self, pk: str) -> dict[str, Any]:
        return dict(self.container.read_item(item_id("notes", pk, ""), partition_key="sdk"))

    def query(self, pk: str) -> list[dict[str, Any]]:
        return list(
            self.container.query_items(
                QUERY,
                parameters=[
                    {"name": "@t", "value": "sdk"},
                    {"name": "@c", "value": "notes"},
                    {"name": "@p", "value": pk},
                    {"name": "@now", "value": int(time.time())},
                ],
                partition_key="sdk",
                max_item_count=101,
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0, help="of the random order of sides")
    parser.add_argument(
        "--profile", metavar="OPERATION", help="also profile 500 provider calls of OPERATION"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as server:
        settings = CosmosSettings(
            endpoint=server.endpoint,
            database=DATABASE,
            container=CONTAINER,
            key=server.key,  # type: ignore[arg-type]
            ca_file=str(server.ca_file),
        )
        context = ProviderContext(tenant_id="tenant", provider="cosmos")
        provider = CosmosDatabase(settings, context)
        provider.ensure_schema(Schema())
        db = TenantDatabase(
            provider,
            tenant_id="tenant",
            provider="cosmos",
            capabilities=frozenset(str(c) for c in provider.capabilities),
            signer=CursorSigner(b"bench-signing-key-of-32-bytes..."),
            schema=Schema(),
            retry=RetryPolicy(),
        )
        raw, sdk = RawREST(server), SDK(server)
        for n in range(50):  # one 50-item partition on each side
            db.put("notes", {"pk": "part", "sk": f"{n:03d}", **FIELDS})
            for side in ("raw", "sdk"):
                doc = document(
                    side, "notes", "part", f"{n:03d}", FIELDS, expires_at=None, now=0, indexes={}
                )
                raw.client.post(
                    DOCS, json=doc,
                    headers={"x-ms-documentdb-partitionkey": json.dumps([side]),
                             "x-ms-documentdb-is-upsert": "True"},
                ).raise_for_status()  # fmt: skip
        ops: dict[str, dict[str, Callable[[], object]]] = {
            "put": {
                "provider": lambda: db.put("notes", {"pk": "one", **FIELDS}),
                "raw REST": lambda: raw.put("one"),
                "SDK": lambda: sdk.put("one"),
            },
            "get": {
                "provider": lambda: db.get("notes", "one"),
                "raw REST": lambda: raw.get("one"),
                "SDK": lambda: sdk.get("one"),
            },
            "query 50": {
                "provider": lambda: db.query("notes", "part", limit=100),
                "raw REST": lambda: raw.query("part"),
                "SDK": lambda: sdk.query("part"),
            },
        }
        samples = interleave(ops, args.rounds, warmup=10, seed=args.seed)
        if args.profile:
            print(profile(ops[args.profile]["provider"], 500))
        provider.close()
    print(f"{args.rounds} rounds, seed {args.seed}, load {os.getloadavg()[0]:.2f}\n")
    print(table(samples, "provider", ["raw REST", "SDK"]))


if __name__ == "__main__":
    main()
