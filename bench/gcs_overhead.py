"""Overhead of the ``gcs`` provider against a raw httpx client, side by side in one run.

Both sides make the same JSON API calls on the same fake-gcs-server (its own process)
and bucket: put a 4 KiB object (one multipart upload request), get it, head it, list a
prefix of 20 objects (asking for the same ``fields``). The provider side goes through
what application code uses, ``TenantStorage`` (key validation, the retry policy,
cursor sealing, answer checks) over ``GCSStore`` (bearer token from google-auth's
cached credentials); the raw side is an ``httpx.Client`` with a fixed bearer header.
Calls alternate between the sides, and which side goes first alternates each round.

    uv run python bench/gcs_overhead.py [--rounds 300]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
from _gcs import TOKEN, gcs_and_token, service_account_key

from tenantkit import ProviderContext, TenantStorage
from tenantkit.cursors import CursorSigner
from tenantkit_store_gcs import GCSSettings
from tenantkit_store_gcs.store import GCSStore

BUCKET = "bench-overhead"
LIST_FIELDS = "items(name,size,etag,md5Hash,contentType,updated),prefixes,nextPageToken"
BODY = os.urandom(4096)


class Raw:
    """What an application would write with httpx alone."""

    def __init__(self, endpoint: str) -> None:
        self.client = httpx.Client(
            base_url=endpoint,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=httpx.Timeout(60, connect=5),
        )

    def _path(self, name: str) -> str:
        return f"/storage/v1/b/{BUCKET}/o/{quote(name, safe='')}"

    def put(self, name: str) -> dict[str, Any]:
        boundary = os.urandom(16).hex()
        meta = json.dumps({"name": name, "contentType": "application/octet-stream"})
        body = (
            (
                f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{meta}\r\n"
                f"--{boundary}\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + BODY
            + f"\r\n--{boundary}--\r\n".encode()
        )
        response = self.client.post(
            f"/upload/storage/v1/b/{BUCKET}/o",
            params={"uploadType": "multipart"},
            content=body,
            headers={"Content-Type": f"multipart/related; boundary={boundary}"},
        )
        response.raise_for_status()
        return dict(response.json())

    def get(self, name: str) -> bytes:
        response = self.client.get(self._path(name), params={"alt": "media"})
        response.raise_for_status()
        return response.content

    def head(self, name: str) -> dict[str, Any]:
        response = self.client.get(self._path(name))
        response.raise_for_status()
        return dict(response.json())

    def list(self, prefix: str) -> list[str]:
        response = self.client.get(
            f"/storage/v1/b/{BUCKET}/o",
            params={"prefix": prefix, "maxResults": 100, "fields": LIST_FIELDS},
        )
        response.raise_for_status()
        return [item["name"] for item in response.json().get("items", [])]


def _time(fn: Callable[[int], object], i: int) -> float:
    started = time.perf_counter()
    fn(i)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    with gcs_and_token() as (endpoint, token_url):
        httpx.post(
            f"{endpoint}/storage/v1/b", params={"project": "bench"}, json={"name": BUCKET}
        ).raise_for_status()
        settings = GCSSettings(
            bucket=BUCKET,
            endpoint=endpoint,
            token_url=token_url,
            service_account_key=service_account_key(),
        )
        store = GCSStore(settings, ProviderContext(tenant_id="bench", provider="gcs"))
        storage = TenantStorage(
            store,
            tenant_id="bench",
            provider="gcs",
            capabilities=frozenset(store.capabilities),
            signer=CursorSigner(os.urandom(32)),
        )
        raw = Raw(endpoint)
        for i in range(20):
            storage.put(f"listing/o{i:02d}", BODY)
            raw.put(f"raw/listing/o{i:02d}")
        operations: dict[str, tuple[Callable[[int], object], Callable[[int], object]]] = {
            "put (4 KiB)": (
                lambda i: storage.put(f"objects/o{i % 10}", BODY),
                lambda i: raw.put(f"raw/objects/o{i % 10}"),
            ),
            "get (4 KiB)": (
                lambda i: storage.get(f"objects/o{i % 10}"),
                lambda i: raw.get(f"raw/objects/o{i % 10}"),
            ),
            "head": (
                lambda i: storage.head(f"objects/o{i % 10}"),
                lambda i: raw.head(f"raw/objects/o{i % 10}"),
            ),
            "list (20 objects)": (
                lambda i: storage.list("listing/"),
                lambda i: raw.list("raw/listing/"),
            ),
        }
        for provider, direct in operations.values():  # warm-up
            for i in range(10):
                provider(i)
                direct(i)
        print("| operation | provider median (ms) | raw httpx median (ms) | median ratio |")
        print("|---|---:|---:|---:|")
        for name, (provider, direct) in operations.items():
            ours: list[float] = []
            theirs: list[float] = []
            for i in range(args.rounds):
                if i % 2:
                    ours.append(_time(provider, i))
                    theirs.append(_time(direct, i))
                else:
                    theirs.append(_time(direct, i))
                    ours.append(_time(provider, i))
            ratio = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))
            print(
                f"| {name} | {statistics.median(ours) * 1000:.2f} "
                f"| {statistics.median(theirs) * 1000:.2f} | {ratio:.3f} |"
            )
        store.close()
        raw.client.close()


if __name__ == "__main__":
    main()
