"""Peak memory (RSS) of uploading a 512 MiB stream through the ``gcs`` provider.

Each upload runs in a fresh interpreter (``bench/_upload_memory.py``); for comparison,
google-cloud-storage's ``Blob.upload_from_file`` (8 MiB chunks) uploads the same stream.
fake-gcs-server runs in a process of its own.

    uv run python bench/gcs_upload_memory.py [--mib 512] [--runs 3] [--provider-only]
"""

from __future__ import annotations

import sys
from urllib.parse import quote

from _tenant import tenant_storage
from _upload_memory import MIB, Reader, arguments, measure, report, run_child, stream

CHILDREN = ("store", "sdk")


def child(kind: str, endpoint: str, token_url: str, key: str, bucket: str, mib: int) -> None:
    import httpx

    name = f"upload-{kind}.bin"
    if kind == "store":
        from tenantkit import ProviderContext
        from tenantkit_store_gcs import GCSSettings
        from tenantkit_store_gcs.store import GCSStore

        settings = GCSSettings(
            bucket=bucket, endpoint=endpoint, token_url=token_url, service_account_key=key
        )
        store = GCSStore(settings, ProviderContext(tenant_id="bench", provider="gcs"))
        storage = tenant_storage(store, "gcs")
        storage.list("")  # connection and token ready
        name = f"bench/{name}"

        def upload() -> None:
            storage.put(name.removeprefix("bench/"), stream(mib))
    else:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage as gcs

        client = gcs.Client(
            project="bench",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": endpoint},
        )
        blob = client.bucket(bucket).blob(name, chunk_size=8 * MIB)
        list(client.list_blobs(bucket, max_results=1))

        def upload() -> None:
            blob.upload_from_file(Reader(stream(mib)))

    url = f"{endpoint}/storage/v1/b/{bucket}/o/{quote(name, safe='')}"
    measure(upload, lambda: int(httpx.get(url).json()["size"]))


def main() -> None:
    parser = arguments(__doc__.splitlines()[0], CHILDREN)
    parser.add_argument("--endpoint", help="(internal)")
    parser.add_argument("--token-url", help="(internal)")
    parser.add_argument("--bucket", help="(internal)")
    args = parser.parse_args()
    if args.child:
        key = sys.stdin.read()
        child(args.child, args.endpoint, args.token_url, key, args.bucket, args.mib)
        return

    import httpx
    from _gcs import gcs_and_token, service_account_key

    variants = {
        "store": "gcs provider, `TenantStorage.put(stream)`",
        "sdk": "google-cloud-storage `upload_from_file` (8 MiB chunks), for comparison",
    }
    if args.provider_only:
        variants = {"store": variants["store"]}
    rows: dict[str, list[dict]] = {label: [] for label in variants.values()}
    with gcs_and_token() as (endpoint, token_url):
        for run in range(args.runs):
            for kind, label in variants.items():
                bucket = f"bench-upload-{kind}-{run}"
                httpx.post(
                    f"{endpoint}/storage/v1/b", params={"project": "bench"}, json={"name": bucket}
                ).raise_for_status()
                options = ["--endpoint", endpoint, "--token-url", token_url, "--bucket", bucket]
                result = run_child(__file__, kind, options, args.mib, stdin=service_account_key())
                rows[label].append(result)
                # fake-gcs-server keeps objects in memory: free it for the next upload.
                name = quote(("bench/" if kind == "store" else "") + f"upload-{kind}.bin", safe="")
                httpx.delete(f"{endpoint}/storage/v1/b/{bucket}/o/{name}", timeout=120)
    report(args.mib, rows)


if __name__ == "__main__":
    main()
