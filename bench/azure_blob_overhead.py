"""Per-call cost of the ``azure-blob`` provider against the raw REST client and the SDK,
and a tenant's cold start on each.

Per call: in one process, against one azurite, the same operations (put 1 KiB, get,
head, list 10, delete) through (a) the provider as applications reach it
(``TenantStorage``), (b) the raw REST client it is built on (an ``httpx.Client`` signing
with SharedKey, the same requests; its list parses the XML listing into (name,
properties) pairs, as any client that returns a listing must), and (c)
azure-storage-blob's ``BlobClient``. The three take turns, operation by operation, in
an order drawn at random per round (``bench/_sides.py``); medians and ratios.

Cold start: in fresh interpreters (bytecode compiled), import, build the client and
complete one ``head`` (Get Blob Properties) of an existing blob, with the provider and
with the SDK.

    uv run python bench/azure_blob_overhead.py [--rounds 300] [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _sides import interleave, profile, table
from _tenant import tenant_storage

from testharness.azurite import ACCOUNT, KEY, AzuriteServer

CONTAINER = "bench"
OPERATIONS = ("put", "get", "head", "list", "delete")
PAYLOAD = os.urandom(1024)


def _clients(url: str) -> dict[str, dict[str, Callable[[], Any]]]:
    import httpx
    from azure.storage.blob import BlobServiceClient

    from tenantkit import ProviderContext
    from tenantkit.http import make_client
    from tenantkit_store_azure_blob import AzureBlobSettings
    from tenantkit_store_azure_blob._auth import SharedKeyAuth
    from tenantkit_store_azure_blob._signing import API_VERSION
    from tenantkit_store_azure_blob._wire import parse_listing
    from tenantkit_store_azure_blob.store import AzureBlobStore

    settings = AzureBlobSettings(account_url=url, container=CONTAINER, account_key=KEY)
    store = AzureBlobStore(settings, ProviderContext("bench", "azure-blob"))
    storage = tenant_storage(store, "azure-blob")
    raw = make_client(url, headers={"x-ms-version": API_VERSION})
    auth = SharedKeyAuth(ACCOUNT, KEY)
    path = f"/{CONTAINER}/raw/o.bin"

    def raw_call(method: str, target: str, **kw: Any) -> httpx.Response:
        response = raw.request(method, target, auth=auth, **kw)
        response.raise_for_status()
        return response

    service = BlobServiceClient(url, credential={"account_name": ACCOUNT, "account_key": KEY})
    container = service.get_container_client(CONTAINER)
    blob = container.get_blob_client("sdk/o.bin")
    for i in range(10):
        storage.put(f"list/{i}", b"x")
        raw_call(
            "PUT",
            f"/{CONTAINER}/rawlist/{i}",
            content=b"x",
            headers={"x-ms-blob-type": "BlockBlob"},
        )
        container.get_blob_client(f"sdklist/{i}").upload_blob(b"x", overwrite=True)
    return {
        "provider": {
            "put": lambda: storage.put("o.bin", PAYLOAD),
            "get": lambda: storage.get("o.bin"),
            "head": lambda: storage.head("o.bin"),
            "list": lambda: storage.list("list/"),
            "delete": lambda: storage.delete("o.bin"),
        },
        "raw REST (httpx + SharedKey)": {
            "put": lambda: raw_call(
                "PUT", path, content=PAYLOAD, headers={"x-ms-blob-type": "BlockBlob"}
            ),
            "get": lambda: raw_call("GET", path).content,
            "head": lambda: raw_call("HEAD", path),
            # Any client must read the listing to return it: the XML is parsed into
            # (name, properties) pairs, as the provider's own parser does.
            "list": lambda: parse_listing(
                raw_call(
                    "GET",
                    f"/{CONTAINER}",
                    params={"restype": "container", "comp": "list", "prefix": "rawlist/"},
                ).content
            ),
            "delete": lambda: raw_call("DELETE", path),
        },
        "azure-storage-blob": {
            "put": lambda: blob.upload_blob(PAYLOAD, overwrite=True),
            "get": lambda: blob.download_blob().readall(),
            "head": lambda: blob.get_blob_properties(),
            "list": lambda: list(container.list_blobs(name_starts_with="sdklist/")),
            "delete": lambda: blob.delete_blob(),
        },
    }


def per_call(url: str, rounds: int, seed: int, profiled: str | None) -> None:
    clients = _clients(url)
    ops = {op: {name: calls[op] for name, calls in clients.items()} for op in OPERATIONS}
    samples = interleave(ops, rounds, warmup=10, seed=seed)
    if profiled:
        print(profile(ops[profiled]["provider"], 500))
    print(f"{rounds} rounds, seed {seed}, load {os.getloadavg()[0]:.2f}\n")
    print(table(samples, "provider", list(clients)[1:]))


_COLD = {
    "provider": """
import time; t=time.perf_counter()
from tenantkit import ProviderContext
from tenantkit_store_azure_blob import AzureBlobSettings, AzureBlobStore
store = AzureBlobStore(AzureBlobSettings(account_url=URL, container="bench", account_key=KEY),
               ProviderContext("bench", "azure-blob"))
store.head("cold/o.bin")
print(time.perf_counter()-t)
""",
    "azure-storage-blob": """
import time; t=time.perf_counter()
from azure.storage.blob import BlobClient
blob = BlobClient(URL, "bench", "cold/o.bin",
                  credential={"account_name": "devstoreaccount1", "account_key": KEY})
blob.get_blob_properties()
print(time.perf_counter()-t)
""",
}


def cold_start(url: str, runs: int) -> None:
    import compileall

    for path in sys.path:
        if "site-packages" in path or path.endswith("/src"):
            compileall.compile_dir(path, quiet=2)
    samples: dict[str, list[float]] = {name: [] for name in _COLD}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for _ in range(runs):
        for name, code in _COLD.items():
            program = f"URL={url!r}; KEY={KEY!r}\n" + code
            done = subprocess.run(
                [sys.executable, "-c", program], capture_output=True, text=True, check=True, env=env
            )
            samples[name].append(float(done.stdout.strip()))
    print(f"\n| cold start: import, build, one head ({runs} fresh interpreters) | median ms |")
    print("|---|---:|")
    for name, values in samples.items():
        print(f"| {name} | {statistics.median(values) * 1000:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0, help="of the random order of sides")
    parser.add_argument(
        "--profile", metavar="OPERATION", help="also profile 500 provider calls of OPERATION"
    )
    parser.add_argument("--no-cold-start", action="store_true", help="per-call figures only")
    args = parser.parse_args()
    server = AzuriteServer()
    server.start()
    try:
        server.create_container(CONTAINER)
        from azure.storage.blob import BlobClient

        BlobClient(
            server.account_url,
            CONTAINER,
            "cold/o.bin",
            credential={"account_name": ACCOUNT, "account_key": KEY},
        ).upload_blob(b"cold", overwrite=True)
        per_call(server.account_url, args.rounds, args.seed, args.profile)
        if not args.no_cold_start:
            cold_start(server.account_url, args.runs)
    finally:
        server.stop()
    print(json.dumps({"load": os.getloadavg()}))


if __name__ == "__main__":
    main()
