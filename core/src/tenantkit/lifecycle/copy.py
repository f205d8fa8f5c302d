"""Copy a tenant's data to the providers a new secret names, verify it, cut over.

The copy runs in three phases, each resumable from its checkpoint file:

1. **bulk**: the source database is scanned page by page and each page restored on the
   target (fields and expiry kept); then every object is streamed across, chunk by
   chunk. After each finished page the checkpoint records the scan cursor and the
   running counts and digests, written atomically (a new file renamed over the old).
   A copy started again with the same checkpoint continues after the last finished
   page and never writes a finished page again.
2. **catch-up**: the application keeps writing during the bulk phase. A catch-up round
   compares both sides item by item (by content hash, since versions differ between
   providers) and object by object (by SHA-256 of the bytes): what differs or is
   missing on the target is copied again, what the source no longer holds is deleted
   from the target. Rounds repeat until one finds nothing to change (at most
   ``rounds``); that round's counts and digests, equal on both sides, are the copy's
   verification. A write landing after that round and before the cut-over would be
   missed: for a copy that must lose nothing, suspend the tenant's writes for the
   last round (``tenantkit tenant suspend``) and resume after the cut-over.
3. **cut-over** (:func:`cut_over`): the new secret is written. Secrets Manager keeps the
   previous version as ``AWSPREVIOUS``; a config directory keeps it as
   ``{tenant}.json.previous``. :func:`rollback` puts the previous secret back (and
   keeps the one it replaces as the previous, so a rollback can be undone the same way).

Memory stays bounded: one page of items, or one chunk of one object, at a time.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantkit.db import DbCapability, Item, Key
from tenantkit.errors import ConditionFailed, InvalidRequest, TenantNotFound
from tenantkit.lifecycle.archive import Summary, iter_entries, iter_objects
from tenantkit.lifecycle.digest import Tally, item_hash
from tenantkit.lifecycle.progress import Progress
from tenantkit.resolver import Tenant
from tenantkit.scoped import TenantDatabase, TenantStorage
from tenantkit.sources import DirectorySource, SecretsManagerSource

__all__ = ["Checkpoint", "copy_tenant", "cut_over", "rollback"]

COPY_PAGE = 100  # one scan page is one restore call (at most 100 items)
AWSPREVIOUS = "AWSPREVIOUS"


@dataclass
class Checkpoint:
    """Where a copy stands, saved to ``path`` after every finished page.

    ``signing_key`` signs this copy's scan and listing cursors, so that a resumed copy
    (a new process) can continue from them; it opens nothing but those cursors.
    """

    path: Path
    tenant_id: str
    target: str
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    phase: str = "items"
    cursor: str | None = None
    items: Tally = field(default_factory=Tally)
    objects: Tally = field(default_factory=Tally)
    pages: int = 0

    @classmethod
    def open(cls, path: str | Path, tenant_id: str, target: str) -> Checkpoint:
        """The checkpoint at ``path``, or a new one. ``target`` identifies the target
        secret: resuming with another target is refused."""
        file = Path(path)
        try:
            raw = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(file, tenant_id, target)
        except (OSError, ValueError) as exc:
            raise InvalidRequest(f"checkpoint {file}: unreadable: {exc}") from None
        if raw.get("tenant_id") != tenant_id or raw.get("target") != target:
            raise InvalidRequest(
                f"checkpoint {file} belongs to another copy (tenant {raw.get('tenant_id')!r}, "
                "another target secret); remove it to start again"
            )
        return cls(
            file,
            tenant_id,
            target,
            signing_key=bytes.fromhex(raw["signing_key"]),
            phase=raw["phase"],
            cursor=raw.get("cursor"),
            items=Tally.from_dict(raw["items"]),
            objects=Tally.from_dict(raw["objects"]),
            pages=raw.get("pages", 0),
        )

    def save(self) -> None:
        raw = {
            "tenant_id": self.tenant_id,
            "target": self.target,
            "signing_key": self.signing_key.hex(),
            "phase": self.phase,
            "cursor": self.cursor,
            "items": self.items.to_dict(),
            "objects": self.objects.to_dict(),
            "pages": self.pages,
        }
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(raw, f)
        os.replace(tmp, self.path)


def target_id(raw: dict[str, Any]) -> str:
    """An id of a target secret document (a hash: it holds credentials)."""
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# --- the copy -------------------------------------------------------------------------


def copy_tenant(
    source: Tenant,
    target: Tenant,
    checkpoint: Checkpoint,
    progress: Progress,
    *,
    rounds: int = 3,
) -> Summary:
    """Copy, catch up and verify (see the module). ``ConditionFailed`` when the two
    sides still differ after ``rounds`` catch-up rounds."""
    if checkpoint.phase == "items":
        _bulk_items(source.db, target.db, checkpoint, progress)
    if checkpoint.phase == "objects":
        _bulk_objects(source.storage, target.storage, checkpoint, progress)
    for _ in range(rounds):
        items, objects, changes = catch_up(source, target)
        if changes == 0:
            checkpoint.phase = "verified"
            checkpoint.items, checkpoint.objects = items, objects
            checkpoint.save()
            progress.done()
            return Summary(source.id, items, objects, progress.elapsed, verified=True)
    raise ConditionFailed(
        f"tenant {source.id}: the copy still differed after {rounds} catch-up rounds "
        "(writes continue): suspend the tenant's writes and run the copy again"
    )


def _bulk_items(
    source: TenantDatabase, target: TenantDatabase, checkpoint: Checkpoint, progress: Progress
) -> None:
    for entries, cursor in iter_entries(source, checkpoint.cursor, limit=COPY_PAGE):
        for collection, batch in _by_collection(entries):
            target.restore(collection, batch)
        nbytes = 0
        for collection, item in entries:
            checkpoint.items.add_item(collection, item)
            nbytes += len(json.dumps(item.data, ensure_ascii=False).encode())
        checkpoint.cursor = cursor
        checkpoint.pages += 1
        if cursor is None:
            checkpoint.phase = "objects"
        checkpoint.save()
        progress.add(items=len(entries), nbytes=nbytes)


def _bulk_objects(
    source: TenantStorage, target: TenantStorage, checkpoint: Checkpoint, progress: Progress
) -> None:
    for infos, cursor in iter_objects(source, checkpoint.cursor):
        for info in infos:
            size, sha = _copy_object(source, target, info.key, progress)
            checkpoint.objects.add_object(info.key, size, sha)
        checkpoint.cursor = cursor
        checkpoint.pages += 1
        if cursor is None:
            checkpoint.phase = "catch-up"
        checkpoint.save()
        progress.add(items=len(infos))


def _copy_object(
    source: TenantStorage, target: TenantStorage, key: str, progress: Progress
) -> tuple[int, str]:
    head = source.head(key)
    digest = hashlib.sha256()
    size = 0

    def chunks() -> Iterator[bytes]:
        nonlocal size
        for chunk in source.stream(key):
            digest.update(chunk)
            size += len(chunk)
            progress.add(nbytes=len(chunk))
            yield chunk

    target.put(key, chunks(), content_type=head.content_type, metadata=head.metadata)
    return size, digest.hexdigest()


def _by_collection(entries: list[tuple[str, Item]]) -> Iterator[tuple[str, list[Item]]]:
    groups: dict[str, list[Item]] = {}
    for collection, item in entries:
        groups.setdefault(collection, []).append(item)
    yield from groups.items()


# --- catch-up -------------------------------------------------------------------------


def _fetch(db: TenantDatabase, collection: str, keys: list[Key]) -> dict[Key, Item]:
    if DbCapability.BATCH in db.capabilities:
        return {item.key: item for item in db.batch_get(collection, keys)}
    found = {}
    for key in keys:
        item = db.get(collection, key.pk, key.sk, consistent=True)
        if item is not None:
            found[key] = item
    return found


def _object_sha(storage: TenantStorage, key: str) -> str | None:
    if not storage.exists(key):
        return None
    digest = hashlib.sha256()
    for chunk in storage.stream(key):
        digest.update(chunk)
    return digest.hexdigest()


def catch_up(source: Tenant, target: Tenant) -> tuple[Tally, Tally, int]:
    """One catch-up round: make the target equal to the source as read now.

    Returns the tallies of the data as compared and the number of changes made; a
    round with no change has compared two equal sides.
    """
    items, objects = Tally(), Tally()
    changes = 0
    for entries, _ in iter_entries(source.db, limit=COPY_PAGE):
        for collection, batch in _by_collection(entries):
            there = _fetch(target.db, collection, [i.key for i in batch])
            stale = [
                item
                for item in batch
                if item.key not in there
                or item_hash(collection, there[item.key]) != item_hash(collection, item)
            ]
            if stale:
                target.db.restore(collection, stale)
                changes += len(stale)
            for item in batch:
                items.add_item(collection, item)
    for entries, _ in iter_entries(target.db, limit=COPY_PAGE):
        for collection, batch in _by_collection(entries):
            here = _fetch(source.db, collection, [i.key for i in batch])
            for item in batch:
                if item.key not in here:
                    target.db.delete(collection, item.pk, item.sk)
                    changes += 1
    for infos, _ in iter_objects(source.storage):
        for info in infos:
            want = _object_sha(source.storage, info.key)
            if want is None:
                continue  # deleted since the listing
            size = info.size
            if _object_sha(target.storage, info.key) != want:
                size, want = _copy_object(source.storage, target.storage, info.key, _QUIET)
                changes += 1
            objects.add_object(info.key, size, want)
    for infos, _ in iter_objects(target.storage):
        for info in infos:
            if not source.storage.exists(info.key):
                target.storage.delete(info.key)
                changes += 1
    return items, objects, changes


_QUIET = Progress("catch-up", quiet=True)


# --- cut-over and rollback ------------------------------------------------------------

SecretSource = DirectorySource | SecretsManagerSource


def _previous_file(source: DirectorySource, tenant_id: str) -> Path:
    return source.directory / f"{tenant_id}.json.previous"


def cut_over(source: SecretSource, tenant_id: str, raw: dict[str, Any]) -> str:
    """Write the tenant's new secret, keeping the current one as the previous."""
    if isinstance(source, DirectorySource):
        current = source.read(tenant_id)
        _write_private(_previous_file(source, tenant_id), current)
    return source.put(tenant_id, raw)


def rollback(source: SecretSource, tenant_id: str) -> str:
    """Put the previous secret back; the one it replaces becomes the previous."""
    if isinstance(source, DirectorySource):
        previous_path = _previous_file(source, tenant_id)
        try:
            previous = json.loads(previous_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TenantNotFound(
                f"no previous secret of tenant {tenant_id!r} to roll back to"
            ) from None
        current = source.read(tenant_id)
        version = source.put(tenant_id, previous)
        _write_private(previous_path, current)
        return version
    return source.put(tenant_id, source.read(tenant_id, stage=AWSPREVIOUS))


def _write_private(path: Path, raw: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(raw, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
