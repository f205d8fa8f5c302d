"""Peak memory (RSS) of uploading a 512 MiB stream through the ``azure-blob`` provider.

Each upload runs in a fresh interpreter, so that its peak is its own: the child builds
its client, records its resident set (the baseline), uploads a stream generated 1 MiB
at a time and reports its high-water mark (``VmHWM``, which no sampling can miss). The
same stream also goes through azure-storage-blob's ``upload_blob`` (defaults) in
another fresh interpreter, for comparison. azurite runs in a process of its own.

    uv run python bench/azure_blob_upload_memory.py [--mib 512]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MIB = 1024 * 1024


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _stream(mib: int) -> Iterator[bytes]:
    block = os.urandom(MIB)
    for _ in range(mib):
        yield block


def child(kind: str, url: str, key: str, container: str, mib: int) -> None:
    blob = f"upload-{kind}.bin"
    if kind == "store":
        from tenantkit import ProviderContext, TenantStorage
        from tenantkit.cursors import CursorSigner
        from tenantkit_store_azure_blob import AzureBlobSettings
        from tenantkit_store_azure_blob.store import AzureBlobStore

        settings = AzureBlobSettings(account_url=url, container=container, account_key=key)
        options = json.loads(os.environ.get("BENCH_STORE_OPTIONS", "{}"))
        context = ProviderContext(tenant_id="bench", provider="azure-blob")
        store = AzureBlobStore(settings, context, **options)
        storage = TenantStorage(
            store,
            tenant_id="bench",
            provider="azure-blob",
            capabilities=frozenset(store.capabilities),
            signer=CursorSigner(os.urandom(32)),
        )
        storage.list("", limit=1)  # connection ready

        def upload() -> None:
            storage.put(blob, _stream(mib))

        def size() -> int:
            return storage.head(blob).size
    else:
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient(
            url, credential={"account_name": url.rsplit("/", 1)[1], "account_key": key}
        )
        client = service.get_blob_client(container, blob)
        list(service.get_container_client(container).list_blobs(results_per_page=1))

        def upload() -> None:
            client.upload_blob(_stream(mib), overwrite=True)

        def size() -> int:
            return int(client.get_blob_properties().size)

    baseline = _status("VmRSS")
    started = time.perf_counter()
    upload()
    seconds = time.perf_counter() - started
    peak = _status("VmHWM")
    print(json.dumps({"baseline": baseline, "peak": peak, "seconds": seconds, "size": size()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=512, help="size of the stream in MiB")
    parser.add_argument("--provider-only", action="store_true", help="skip the SDK's run")
    parser.add_argument("--child", choices=["store", "sdk"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--container", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.key, args.container, args.mib)
        return

    from testharness.azurite import AzuriteServer

    server = AzuriteServer()
    server.start()
    try:
        container = "bench-upload"
        server.create_container(container)
        rows = []
        for kind, label in (
            ("store", "azure-blob provider, `TenantStorage.put(stream)`"),
            ("sdk", "azure-storage-blob `upload_blob` (defaults), for comparison"),
        )[: 1 if args.provider_only else 2]:
            command = [sys.executable, __file__, "--child", kind, "--url", server.account_url]
            command += ["--key", server.account_key, "--container", container]
            command += ["--mib", str(args.mib)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            result = json.loads(done.stdout)
            assert result["size"] == args.mib * MIB, result
            rows.append((label, result))
    finally:
        server.stop()

    print(
        f"| upload of a {args.mib} MiB stream | baseline RSS (MiB) | peak RSS (MiB) "
        "| peak above baseline (MiB) | seconds |"
    )
    print("|---|---:|---:|---:|---:|")
    for label, r in rows:
        above = (r["peak"] - r["baseline"]) / MIB
        print(
            f"| {label} | {r['baseline'] / MIB:.1f} | {r['peak'] / MIB:.1f} "
            f"| {above:.1f} | {r['seconds']:.1f} |"
        )


if __name__ == "__main__":
    main()
