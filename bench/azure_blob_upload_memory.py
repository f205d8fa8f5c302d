"""Peak memory (RSS) of uploading a 512 MiB stream through the ``azure-blob`` provider.

Each upload runs in a fresh interpreter (``bench/_upload_memory.py``); the same stream
also goes through azure-storage-blob's ``upload_blob`` (defaults), for comparison.
azurite runs in a process of its own.

    uv run python bench/azure_blob_upload_memory.py [--mib 512] [--runs 3] [--provider-only]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from _tenant import tenant_storage
from _upload_memory import arguments, measure, report, run_child, stream

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHILDREN = ("store", "sdk")


def child(kind: str, url: str, key: str, container: str, mib: int) -> None:
    blob = f"upload-{kind}.bin"
    if kind == "store":
        from tenantkit import ProviderContext
        from tenantkit_store_azure_blob import AzureBlobSettings
        from tenantkit_store_azure_blob.store import AzureBlobStore

        settings = AzureBlobSettings(account_url=url, container=container, account_key=key)
        options = json.loads(os.environ.get("BENCH_STORE_OPTIONS", "{}"))
        context = ProviderContext(tenant_id="bench", provider="azure-blob")
        store = AzureBlobStore(settings, context, **options)
        storage = tenant_storage(store, "azure-blob")
        storage.list("", limit=1)  # connection ready

        def upload() -> None:
            storage.put(blob, stream(mib))

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
            client.upload_blob(stream(mib), overwrite=True)

        def size() -> int:
            return int(client.get_blob_properties().size)

    measure(upload, size)


def main() -> None:
    parser = arguments(__doc__.splitlines()[0], CHILDREN)
    parser.add_argument("--url", help="(internal)")
    parser.add_argument("--key", help="(internal)")
    parser.add_argument("--container", help="(internal)")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.key, args.container, args.mib)
        return

    from testharness.azurite import AzuriteServer

    variants = {
        "store": "azure-blob provider, `TenantStorage.put(stream)`",
        "sdk": "azure-storage-blob `upload_blob` (defaults), for comparison",
    }
    if args.provider_only:
        variants = {"store": variants["store"]}
    rows: dict[str, list[dict]] = {label: [] for label in variants.values()}
    server = AzuriteServer()
    server.start()
    try:
        container = "bench-upload"
        server.create_container(container)
        for _ in range(args.runs):
            for kind, label in variants.items():
                options = ["--url", server.account_url, "--key", server.account_key]
                options += ["--container", container]
                rows[label].append(run_child(__file__, kind, options, args.mib))
    finally:
        server.stop()
    report(args.mib, rows)


if __name__ == "__main__":
    main()
