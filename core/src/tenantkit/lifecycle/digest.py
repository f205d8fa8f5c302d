"""Order-independent digests of a tenant's data, to compare two copies of it.

A scan's order is each provider's own (sqlite and PostgreSQL by key, DynamoDB by hash),
so a digest that must match across providers cannot hash a stream. Each item (or object)
is hashed alone, SHA-256 over a canonical encoding, and the digest is the sum of those
hashes modulo 2**256: the same whatever the order, computed in constant memory, and
extendable page by page (a resumed copy carries the partial sum in its checkpoint).

* an item: SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of
  ``[collection, pk, sk, fields, expires_at]``; versions are left out (every provider
  gives a written item a new one).
* an object: SHA-256 of ``key``, a NUL byte, and the SHA-256 of its bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from tenantkit.db import Item
from tenantkit.errors import InvalidRequest

__all__ = ["Tally", "item_hash", "object_hash"]

_MOD = 1 << 256


def canonical_json(value: object) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def item_hash(collection: str, item: Item) -> int:
    document = [collection, item.pk, item.sk, item.data, item.expires_at]
    return int.from_bytes(hashlib.sha256(canonical_json(document)).digest())


def object_hash(key: str, content_sha256: str) -> int:
    raw = key.encode() + b"\0" + bytes.fromhex(content_sha256)
    return int.from_bytes(hashlib.sha256(raw).digest())


@dataclass
class Tally:
    """A running count and digest of items or objects (and their bytes)."""

    count: int = 0
    bytes: int = 0
    digest: int = 0
    by_collection: dict[str, int] = field(default_factory=dict)

    def add_item(self, collection: str, item: Item) -> None:
        self.count += 1
        self.digest = (self.digest + item_hash(collection, item)) % _MOD
        self.by_collection[collection] = self.by_collection.get(collection, 0) + 1

    def add_object(self, key: str, size: int, content_sha256: str) -> None:
        self.count += 1
        self.bytes += size
        self.digest = (self.digest + object_hash(key, content_sha256)) % _MOD

    @property
    def hexdigest(self) -> str:
        return f"{self.digest:064x}"

    def to_dict(self) -> dict[str, object]:
        found: dict[str, object] = {"count": self.count, "digest": self.hexdigest}
        if self.by_collection:
            found["by_collection"] = dict(sorted(self.by_collection.items()))
        if self.bytes:
            found["bytes"] = self.bytes
        return found

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Tally:
        by = data.get("by_collection") or {}
        count, size, digest = data.get("count", 0), data.get("bytes", 0), data.get("digest")
        if not (
            isinstance(by, dict)
            and isinstance(count, int)
            and isinstance(size, int)
            and isinstance(digest, str)
        ):
            raise InvalidRequest(f"not a tally: {sorted(data)}")
        try:
            value = int(digest, 16)
        except ValueError:
            raise InvalidRequest("a tally's digest must be hexadecimal") from None
        return cls(count=count, bytes=size, digest=value, by_collection=dict(by))
