"""Peak memory (RSS) of uploading a 512 MiB stream through the ``s3`` provider.

Each upload runs in a fresh interpreter, so that its peak is its own: the child imports
what it needs, builds its client, records its resident set (the baseline), then uploads
a stream generated 1 MiB at a time and reports its high-water mark (``VmHWM``, which
no sampling can miss). The provider uploads it with its default four parts in flight,
and with one (``max_concurrency=1``, how it uploaded before parts went in parallel);
for comparison, the same stream goes through boto3's managed ``upload_fileobj``
(default ``TransferConfig``) in another fresh interpreter. The moto server runs in a
process of its own.

    uv run python bench/s3_upload_memory.py [--mib 512]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

MIB = 1024 * 1024


def _status(field: str) -> int:
    """A ``/proc/self/status`` memory figure, in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _stream(mib: int) -> Iterator[bytes]:
    block = os.urandom(MIB)
    for _ in range(mib):
        yield block


class _Reader(io.RawIOBase):
    """The stream as a file object, for boto3's ``upload_fileobj``."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def child(kind: str, endpoint: str, bucket: str, mib: int) -> None:
    from tenantkit import ProviderContext, TenantStorage
    from tenantkit.cursors import CursorSigner
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
        storage = TenantStorage(
            store,
            tenant_id="bench",
            provider="s3",
            capabilities=frozenset(store.capabilities),
            signer=CursorSigner(os.urandom(32)),
        )
        client = store._client
        key = f"bench/{key}"

        def upload() -> None:
            storage.put(key.removeprefix("bench/"), _stream(mib))
    else:
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")

        def upload() -> None:
            client.upload_fileobj(io.BufferedReader(_Reader(_stream(mib))), bucket, key)

    client.list_objects_v2(Bucket=bucket, MaxKeys=1)  # connection and credentials ready
    baseline = _status("VmRSS")
    started = time.perf_counter()
    upload()
    seconds = time.perf_counter() - started
    peak = _status("VmHWM")
    size = client.head_object(Bucket=bucket, Key=key)["ContentLength"]
    print(json.dumps({"baseline": baseline, "peak": peak, "seconds": seconds, "size": size}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=512, help="size of the stream in MiB")
    parser.add_argument(
        "--child", choices=["store", "store-serial", "boto3"], help=argparse.SUPPRESS
    )
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--bucket", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.endpoint, args.bucket, args.mib)
        return

    import boto3
    from _moto import moto_server

    with moto_server() as endpoint:
        bucket = "bench-upload"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
            Bucket=bucket
        )
        rows = []
        for kind, label in (
            ("store", "s3 provider, `TenantStorage.put(stream)`, 4 parts in flight"),
            ("store-serial", "s3 provider, 1 part in flight (`max_concurrency=1`, as before)"),
            ("boto3", "boto3 `upload_fileobj` (default TransferConfig), for comparison"),
        ):
            command = [sys.executable, __file__, "--child", kind, "--endpoint", endpoint]
            command += ["--bucket", bucket, "--mib", str(args.mib)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            result = json.loads(done.stdout)
            assert result["size"] == args.mib * MIB, result
            rows.append((label, result))

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
