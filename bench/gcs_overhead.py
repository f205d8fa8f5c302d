"""Overhead of the ``gcs`` provider against a raw httpx client, side by side in one run.

Both sides make the same JSON API calls on the same fake-gcs-server (its own process)
and bucket: put a 4 KiB object (one multipart upload request), get it, head it, list a
prefix of 20 objects (asking for the same ``fields``). The provider side goes through
what application code uses, ``TenantStorage`` (key validation, the retry policy,
cursor sealing, answer checks) over ``GCSStore`` (bearer token from google-auth's
cached credentials); the raw side is an ``httpx.Client`` with a fixed bearer header.
Calls alternate between the sides, in an order drawn at random per round
(``bench/_sides.py``).

    uv run python bench/gcs_overhead.py [--rounds 300]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
from typing import Any
from urllib.parse import quote

import httpx
from _gcs import TOKEN, gcs_and_token, service_account_key
from _sides import interleave, profile, table
from _tenant import tenant_storage

from tenantkit import ProviderContext
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0, help="of the random order of sides")
    parser.add_argument(
        "--profile", metavar="OPERATION", help="also profile 500 provider calls of OPERATION"
    )
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
        storage = tenant_storage(store, "gcs")
        raw = Raw(endpoint)
        for i in range(20):
            storage.put(f"listing/o{i:02d}", BODY)
            raw.put(f"raw/listing/o{i:02d}")
        # Each side turns over 10 objects: a round's put writes the next, its get and head
        # (later in the same round) read it.
        mine, theirs = itertools.count(), itertools.count()
        last = {"provider": 0, "raw": 0}

        def put_mine() -> object:
            last["provider"] = next(mine) % 10
            return storage.put(f"objects/o{last['provider']}", BODY)

        def put_theirs() -> object:
            last["raw"] = next(theirs) % 10
            return raw.put(f"raw/objects/o{last['raw']}")

        ops = {
            "put (4 KiB)": {"provider": put_mine, "raw httpx": put_theirs},
            "get (4 KiB)": {
                "provider": lambda: storage.get(f"objects/o{last['provider']}"),
                "raw httpx": lambda: raw.get(f"raw/objects/o{last['raw']}"),
            },
            "head": {
                "provider": lambda: storage.head(f"objects/o{last['provider']}"),
                "raw httpx": lambda: raw.head(f"raw/objects/o{last['raw']}"),
            },
            "list (20 objects)": {
                "provider": lambda: storage.list("listing/"),
                "raw httpx": lambda: raw.list("raw/listing/"),
            },
        }
        samples = interleave(ops, args.rounds, warmup=10, seed=args.seed)
        if args.profile:
            print(profile(ops[args.profile]["provider"], 500))
        print(f"{args.rounds} rounds, seed {args.seed}, load {os.getloadavg()[0]:.2f}\n")
        print(table(samples, "provider", ["raw httpx"]))
        store.close()
        raw.client.close()


if __name__ == "__main__":
    main()
