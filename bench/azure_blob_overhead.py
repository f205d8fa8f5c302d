"""Per-call cost of the ``azure-blob`` provider against the raw REST client and the SDK,
and a tenant's cold start on each.

Per call: in one process, against one azurite, the same operations (put 1 KiB, get,
head, list 10, delete) through (a) the provider as applications reach it
(``TenantStorage``), (b) the raw REST client it is built on (an ``httpx.Client`` signing
with SharedKey, the same requests; its list parses the XML listing into (name,
properties) pairs, as any client that returns a listing must), and (c)
azure-storage-blob's ``BlobClient``. The three take turns, operation by operation, in
a rotating order, so load on the machine falls on all alike; medians and ratios.

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
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testharness.azurite import ACCOUNT, KEY, AzuriteServer

CONTAINER = "bench"
PAYLOAD = os.urandom(1024)


def _clients(url: str) -> dict[str, dict[str, Callable[[], Any]]]:
    import httpx
    from azure.storage.blob import BlobServiceClient

    from tenantkit import ProviderContext, TenantStorage
    from tenantkit.cursors import CursorSigner
    from tenantkit.http import make_client
    from tenantkit_store_azure_blob import AzureBlobSettings
    from tenantkit_store_azure_blob._auth import SharedKeyAuth
    from tenantkit_store_azure_blob._signing import API_VERSION
    from tenantkit_store_azure_blob._wire import parse_listing
    from tenantkit_store_azure_blob.store import AzureBlobStore

    settings = AzureBlobSettings(account_url=url, container=CONTAINER, account_key=KEY)
    store = AzureBlobStore(settings, ProviderContext("bench", "azure-blob"))
    storage = TenantStorage(
        store,
        tenant_id="bench",
        provider="azure-blob",
        capabilities=frozenset(store.capabilities),
        signer=CursorSigner(os.urandom(32)),
    )
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


def per_call(url: str, rounds: int) -> None:
    clients = _clients(url)
    operations = ["put", "get", "head", "list", "delete"]
    times: dict[str, dict[str, list[float]]] = {c: {o: [] for o in operations} for c in clients}
    names = list(clients)
    for round_ in range(rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for op in operations:
            for name in order:
                calls = clients[name]
                started = time.perf_counter()
                calls[op]()
                times[name][op].append(time.perf_counter() - started)
    print(
        f"| operation ({rounds} rounds, median µs) | "
        + " | ".join(clients)
        + " | provider / raw REST | provider / SDK |"
    )
    print("|---|" + "---:|" * (len(clients) + 2))
    for op in operations:
        med = {name: statistics.median(times[name][op]) * 1e6 for name in clients}
        provider, raw, sdk = med.values()
        print(
            f"| {op} | "
            + " | ".join(f"{v:.0f}" for v in med.values())
            + f" | {provider / raw:.2f} | {provider / sdk:.2f} |"
        )


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
        per_call(server.account_url, args.rounds)
        cold_start(server.account_url, args.runs)
    finally:
        server.stop()
    print(json.dumps({"load": os.getloadavg()}))


if __name__ == "__main__":
    main()
