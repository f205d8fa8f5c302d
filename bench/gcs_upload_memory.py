"""Peak memory (RSS) of uploading a 512 MiB stream through the ``gcs`` provider.

Each upload runs in a fresh interpreter, so that its peak is its own: the child imports
what it needs, builds its client, records its resident set (the baseline), then uploads
a stream generated 1 MiB at a time and reports its high-water mark (``VmHWM``). For
comparison, google-cloud-storage's ``Blob.upload_from_file`` (8 MiB chunks) uploads the
same stream in another fresh interpreter. fake-gcs-server runs in a process of its own.

    uv run python bench/gcs_upload_memory.py [--mib 512]
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
from urllib.parse import quote

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


class _Reader(io.RawIOBase):
    """The stream as a file object, for the SDK's ``upload_from_file``."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""
        self._position = 0

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes, short only at the end (the SDK takes a short read as EOF)."""
        parts = bytearray()
        while size < 0 or len(parts) < size:
            view = bytearray(MIB if size < 0 else size - len(parts))
            got = self.readinto(view)
            if not got:
                break
            parts += view[:got]
        return bytes(parts)

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
        self._position += size
        return size


def child(kind: str, endpoint: str, token_url: str, key: str, bucket: str, mib: int) -> None:
    import httpx

    name = f"upload-{kind}.bin"
    if kind == "store":
        from tenantkit import ProviderContext, TenantStorage
        from tenantkit.cursors import CursorSigner
        from tenantkit_store_gcs import GCSSettings
        from tenantkit_store_gcs.store import GCSStore

        settings = GCSSettings(
            bucket=bucket, endpoint=endpoint, token_url=token_url, service_account_key=key
        )
        store = GCSStore(settings, ProviderContext(tenant_id="bench", provider="gcs"))
        storage = TenantStorage(
            store,
            tenant_id="bench",
            provider="gcs",
            capabilities=frozenset(store.capabilities),
            signer=CursorSigner(os.urandom(32)),
        )
        storage.list("")  # connection and token ready
        name = f"bench/{name}"

        def upload() -> None:
            storage.put(name.removeprefix("bench/"), _stream(mib))
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
            blob.upload_from_file(_Reader(_stream(mib)))

    baseline = _status("VmRSS")
    started = time.perf_counter()
    upload()
    seconds = time.perf_counter() - started
    peak = _status("VmHWM")
    size = int(
        httpx.get(f"{endpoint}/storage/v1/b/{bucket}/o/{quote(name, safe='')}").json()["size"]
    )
    print(json.dumps({"baseline": baseline, "peak": peak, "seconds": seconds, "size": size}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=512, help="size of the stream in MiB")
    parser.add_argument("--child", choices=["store", "sdk"], help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--token-url", help=argparse.SUPPRESS)
    parser.add_argument("--bucket", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        key = sys.stdin.read()
        child(args.child, args.endpoint, args.token_url, key, args.bucket, args.mib)
        return

    import httpx
    from _gcs import gcs_and_token, service_account_key

    with gcs_and_token() as (endpoint, token_url):
        rows = []
        for kind, label in (
            ("store", "gcs provider, `TenantStorage.put(stream)`"),
            ("sdk", "google-cloud-storage `upload_from_file` (8 MiB chunks), for comparison"),
        ):
            bucket = f"bench-upload-{kind}"
            httpx.post(
                f"{endpoint}/storage/v1/b", params={"project": "bench"}, json={"name": bucket}
            ).raise_for_status()
            command = [sys.executable, __file__, "--child", kind, "--endpoint", endpoint]
            command += ["--token-url", token_url, "--bucket", bucket, "--mib", str(args.mib)]
            done = subprocess.run(
                command, input=service_account_key(), capture_output=True, text=True, check=False
            )
            if done.returncode:
                raise SystemExit(done.stderr)
            result = json.loads(done.stdout)
            assert result["size"] == args.mib * MIB, result
            rows.append((label, result))
            # fake-gcs-server keeps objects in memory: free it for the next upload.
            name = quote(("bench/" if kind == "store" else "") + f"upload-{kind}.bin", safe="")
            httpx.delete(f"{endpoint}/storage/v1/b/{bucket}/o/{name}", timeout=120)

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
