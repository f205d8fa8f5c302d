"""Peak memory (RSS) of uploading a 512 MiB stream through the ``s3`` provider.

Each upload runs in a fresh interpreter (``bench/_upload_memory.py``): the provider
with its default four parts in flight, and with one (``max_concurrency=1``); for
comparison, the same stream through boto3's managed ``upload_fileobj`` (default
``TransferConfig``). The moto server runs in a process of its own.

    uv run python bench/s3_upload_memory.py [--mib 512] [--runs 3] [--provider-only]
"""

from __future__ import annotations

import io

from _tenant import tenant_storage
from _upload_memory import Reader, arguments, measure, report, run_child, stream

CHILDREN = ("store", "store-serial", "boto3")


def child(kind: str, endpoint: str, bucket: str, mib: int) -> None:
    from tenantkit import ProviderContext
    from tenantkit_store_s3 import S3Settings
    from tenantkit_store_s3.store import DEFAULT_CONCURRENCY, S3Store

    key = f"upload-{kind}.bin"
    if kind in ("store", "store-serial"):
        settings = S3Settings(bucket=bucket, region="us-east-1", endpoint_url=endpoint)
        store = S3Store(
            settings,
            ProviderContext(tenant_id="bench", provider="s3"),
            max_concurrency=1 if kind == "store-serial" else DEFAULT_CONCURRENCY,
        )
        storage = tenant_storage(store, "s3")
        client = store._client
        key = f"bench/{key}"

        def upload() -> None:
            storage.put(key.removeprefix("bench/"), stream(mib))
    else:
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")

        def upload() -> None:
            client.upload_fileobj(io.BufferedReader(Reader(stream(mib))), bucket, key)

    client.list_objects_v2(Bucket=bucket, MaxKeys=1)  # connection and credentials ready
    measure(upload, lambda: int(client.head_object(Bucket=bucket, Key=key)["ContentLength"]))


def main() -> None:
    parser = arguments(__doc__.splitlines()[0], CHILDREN)
    parser.add_argument("--endpoint", help="(internal)")
    parser.add_argument("--bucket", help="(internal)")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.endpoint, args.bucket, args.mib)
        return

    import boto3
    from _moto import moto_server

    variants = {
        "store": "s3 provider, `TenantStorage.put(stream)`, 4 parts in flight",
        "store-serial": "s3 provider, 1 part in flight (`max_concurrency=1`)",
        "boto3": "boto3 `upload_fileobj` (default TransferConfig), for comparison",
    }
    if args.provider_only:
        variants = {"store": variants["store"]}
    rows: dict[str, list[dict]] = {label: [] for label in variants.values()}
    with moto_server() as endpoint:
        bucket = "bench-upload"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
            Bucket=bucket
        )
        for _ in range(args.runs):
            for kind, label in variants.items():
                options = ["--endpoint", endpoint, "--bucket", bucket]
                rows[label].append(run_child(__file__, kind, options, args.mib))
    report(args.mib, rows)


if __name__ == "__main__":
    main()
