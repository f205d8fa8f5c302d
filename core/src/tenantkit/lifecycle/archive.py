"""Export a tenant's data to a directory and import it back: the portable format.

A tenant export is a directory::

    manifest.json    written last: an export without it is incomplete
    items.jsonl      one database item per line
    objects.jsonl    one stored object per line
    files/KEY        each object's bytes, at its key (relative to the tenant)
    conflicts/HASH   an object whose key cannot be a file path next to another key
                     (``a`` and ``a/b``): SHA-256 of the key, hex

``items.jsonl`` lines: ``{"collection", "pk", "sk", "data", "expires_at"}`` (the fields
as the application wrote them; ``expires_at`` in Unix epoch seconds or ``null``).
``objects.jsonl`` lines: ``{"key", "file", "size", "sha256", "content_type",
"metadata"}`` (``file``: the path of its bytes in the export, ``sha256``: of the bytes).

``manifest.json``::

    {"format": "tenantkit-tenant-export", "format_version": 1, "tenant_id": "acme",
     "exported_at": "2026-01-01T00:00:00Z", "providers": {"db": "sqlite", "storage": "local"},
     "items": {"count": 120, "by_collection": {"notes": 120}, "digest": "…",
               "file": "items.jsonl", "sha256": "…"},
     "objects": {"count": 3, "bytes": 5120, "digest": "…",
                 "file": "objects.jsonl", "sha256": "…"}}

``sha256`` is the checksum of the file; ``digest`` the order-independent digest of
the data (:mod:`tenantkit.lifecycle.digest`), the same for every copy of the same data
on any provider. An import checks every checksum before it writes, and compares the
counts and digests of the tenant afterwards with the manifest.

Memory stays bounded: a page of items (or one chunk of an object) at a time.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tenantkit.db import MAX_BATCH_ITEMS, Item
from tenantkit.errors import ConditionFailed, InvalidRequest
from tenantkit.identifiers import check_collection, check_storage_key
from tenantkit.lifecycle.digest import Tally
from tenantkit.lifecycle.progress import Progress
from tenantkit.resolver import Tenant
from tenantkit.scoped import TenantDatabase, TenantStorage
from tenantkit.storage import DEFAULT_CHUNK_SIZE, ObjectInfo

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Summary",
    "export_tenant",
    "file_sha256",
    "import_tenant",
    "iter_entries",
    "iter_objects",
    "tally_tenant",
]

FORMAT = "tenantkit-tenant-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ITEMS = "items.jsonl"
OBJECTS = "objects.jsonl"
SCAN_PAGE = 500


@dataclass(frozen=True)
class Summary:
    """What an export, an import or a copy moved, and its verification."""

    tenant_id: str
    items: Tally
    objects: Tally
    seconds: float
    verified: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "items": self.items.to_dict(),
            "objects": self.objects.to_dict(),
            "seconds": round(self.seconds, 3),
            "verified": self.verified,
        }


# --- reading a tenant -----------------------------------------------------------------


def iter_entries(
    db: TenantDatabase, cursor: str | None = None, limit: int = SCAN_PAGE
) -> Iterator[tuple[list[tuple[str, Item]], str | None]]:
    """Pages of ``(collection, item)`` and the cursor after each, to the end."""
    while True:
        page = db.scan(cursor=cursor, limit=limit)
        yield page.entries, page.cursor
        if page.cursor is None:
            return
        cursor = page.cursor


def iter_objects(
    storage: TenantStorage, cursor: str | None = None, prefix: str = ""
) -> Iterator[tuple[list[ObjectInfo], str | None]]:
    """Pages of every object of the tenant (under ``prefix``) and the cursor after
    each, to the end."""
    while True:
        listing = storage.list(prefix, cursor=cursor)
        yield listing.objects, listing.cursor
        if listing.cursor is None:
            return
        cursor = listing.cursor


def object_sha256(storage: TenantStorage, key: str) -> str:
    digest = hashlib.sha256()
    for chunk in storage.stream(key, chunk_size=DEFAULT_CHUNK_SIZE):
        digest.update(chunk)
    return digest.hexdigest()


def tally_tenant(tenant: Tenant, *, with_storage: bool = True) -> tuple[Tally, Tally]:
    """Count and digest every item and (reading them) every object of the tenant."""
    items, objects = Tally(), Tally()
    for entries, _ in iter_entries(tenant.db):
        for collection, item in entries:
            items.add_item(collection, item)
    if with_storage:
        for infos, _ in iter_objects(tenant.storage):
            for info in infos:
                objects.add_object(info.key, info.size, object_sha256(tenant.storage, info.key))
    return items, objects


# --- export ---------------------------------------------------------------------------


def _line(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode() + b"\n"


def _file_for(root: Path, key: str) -> Path:
    """Where an object's bytes go: ``files/KEY``, or ``conflicts/HASH`` when a file or
    directory of another key is in the way."""
    path = root / "files" / key
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            return path
    except (FileExistsError, NotADirectoryError):
        pass
    (root / "conflicts").mkdir(exist_ok=True)
    return root / "conflicts" / hashlib.sha256(key.encode()).hexdigest()


def export_tenant(tenant: Tenant, directory: str | Path, progress: Progress) -> Summary:
    """Write every item and object of ``tenant`` to ``directory`` (empty or new)."""
    root = Path(directory)
    if root.exists() and any(root.iterdir()):
        raise InvalidRequest(f"export directory {root} is not empty")
    root.mkdir(parents=True, exist_ok=True)
    items, objects = Tally(), Tally()
    items_sha, objects_sha = hashlib.sha256(), hashlib.sha256()
    with open(root / ITEMS, "wb") as out:
        for entries, _ in iter_entries(tenant.db):
            for collection, item in entries:
                line = _line(
                    {
                        "collection": collection,
                        "pk": item.pk,
                        "sk": item.sk,
                        "data": item.data,
                        "expires_at": item.expires_at,
                    }
                )
                out.write(line)
                items_sha.update(line)
                items.add_item(collection, item)
                progress.add(items=1, nbytes=len(line))
    with open(root / OBJECTS, "wb") as out:
        for infos, _ in iter_objects(tenant.storage):
            for listed in infos:
                info = tenant.storage.head(listed.key)  # listings omit type and metadata
                path = _file_for(root, info.key)
                content_sha = hashlib.sha256()
                size = 0
                with open(path, "wb") as body:
                    for chunk in tenant.storage.stream(info.key):
                        body.write(chunk)
                        content_sha.update(chunk)
                        size += len(chunk)
                        progress.add(nbytes=len(chunk))
                line = _line(
                    {
                        "key": info.key,
                        "file": path.relative_to(root).as_posix(),
                        "size": size,
                        "sha256": content_sha.hexdigest(),
                        "content_type": info.content_type,
                        "metadata": dict(info.metadata),
                    }
                )
                out.write(line)
                objects_sha.update(line)
                objects.add_object(info.key, size, content_sha.hexdigest())
                progress.add(items=1)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tenant_id": tenant.id,
        "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "providers": {"db": tenant.db.provider, "storage": tenant.storage.provider},
        "items": {**items.to_dict(), "file": ITEMS, "sha256": items_sha.hexdigest()},
        "objects": {**objects.to_dict(), "file": OBJECTS, "sha256": objects_sha.hexdigest()},
    }
    tmp = root / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, root / MANIFEST)
    progress.done()
    return Summary(tenant.id, items, objects, progress.elapsed, verified=True)


# --- import ---------------------------------------------------------------------------


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """The export's manifest, checked for its format; ``InvalidRequest`` if unusable."""
    path = Path(directory) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidRequest(f"{path}: missing (an incomplete export?)") from None
    except (OSError, ValueError) as exc:
        raise InvalidRequest(f"{path}: unreadable: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidRequest(f"{path}: not a {FORMAT} manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise InvalidRequest(
            f"{path}: format_version {manifest.get('format_version')!r} is not supported "
            f"(this tenantkit reads {FORMAT_VERSION})"
        )
    for part in ("items", "objects"):
        section = manifest.get(part)
        if not isinstance(section, dict) or not all(
            isinstance(section.get(k), t)
            for k, t in (("count", int), ("digest", str), ("file", str), ("sha256", str))
        ):
            raise InvalidRequest(f"{path}: {part}: needs count, digest, file and sha256")
    return manifest


def file_sha256(path: str | Path) -> str:
    """The SHA-256 (hex) of a file's bytes, read a chunk at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(DEFAULT_CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def _inside(root: Path, name: object, where: str) -> Path:
    if not isinstance(name, str):
        raise InvalidRequest(f"{where}: file must be a string")
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()) or path == root.resolve():
        raise InvalidRequest(f"{where}: file {name!r} is outside the export")
    return path


def _lines(path: Path, what: str) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                value = json.loads(raw)
            except ValueError:
                raise InvalidRequest(f"{what} line {number}: not JSON") from None
            if not isinstance(value, dict):
                raise InvalidRequest(f"{what} line {number}: not a JSON object")
            yield number, value


def _item_of(line: dict[str, Any], where: str) -> tuple[str, Item]:
    try:
        collection = check_collection(line.get("collection"))
        expires = line.get("expires_at")
        if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int)):
            raise InvalidRequest("expires_at must be an integer or null")
        item = Item(
            pk=line["pk"],
            sk=line.get("sk", ""),
            data=line.get("data") or {},
            version="-",
            expires_at=expires,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidRequest(f"{where}: not an item: {exc}") from None
    except InvalidRequest as exc:
        raise InvalidRequest(f"{where}: {exc.message}") from None
    return collection, item


def check_archive(root: Path, manifest: dict[str, Any]) -> None:
    """Compare every file of the export with its checksum; ``ConditionFailed`` if one
    differs (nothing has been written yet)."""
    for part in ("items", "objects"):
        section = manifest[part]
        path = _inside(root, section["file"], f"manifest {part}")
        if not path.is_file() or file_sha256(path) != section["sha256"]:
            raise ConditionFailed(f"{section['file']}: checksum does not match the manifest")
    objects_path = _inside(root, manifest["objects"]["file"], "manifest objects")
    for number, line in _lines(objects_path, OBJECTS):
        path = _inside(root, line.get("file"), f"{OBJECTS} line {number}")
        if not path.is_file() or file_sha256(path) != line.get("sha256"):
            raise ConditionFailed(
                f"{OBJECTS} line {number}: the bytes of {line.get('key')!r} do not match "
                "their checksum"
            )


def import_tenant(
    tenant: Tenant, directory: str | Path, progress: Progress, *, verify: bool = True
) -> Summary:
    """Write an export into ``tenant`` (idempotent: items and objects are replaced).

    Every checksum is checked first; afterwards the tenant is counted and digested and
    compared with the manifest (``ConditionFailed`` when they differ, for instance
    because the tenant held other data before).
    """
    root = Path(directory)
    manifest = read_manifest(root)
    check_archive(root, manifest)
    progress.total_items = manifest["items"]["count"] + manifest["objects"]["count"]
    items_path = _inside(root, manifest["items"]["file"], "manifest items")
    batch: list[Item] = []
    batch_collection = ""
    for number, line in _lines(items_path, ITEMS):
        collection, item = _item_of(line, f"{ITEMS} line {number}")
        if batch and (collection != batch_collection or len(batch) >= MAX_BATCH_ITEMS):
            tenant.db.restore(batch_collection, batch)
            progress.add(items=len(batch))
            batch = []
        batch_collection = collection
        batch.append(item)
    if batch:
        tenant.db.restore(batch_collection, batch)
        progress.add(items=len(batch))
    objects_path = _inside(root, manifest["objects"]["file"], "manifest objects")
    for number, line in _lines(objects_path, OBJECTS):
        where = f"{OBJECTS} line {number}"
        key = check_storage_key(line.get("key"))
        path = _inside(root, line.get("file"), where)
        metadata = line.get("metadata") or {}
        content_type = line.get("content_type")
        if not isinstance(metadata, dict) or not (
            content_type is None or isinstance(content_type, str)
        ):
            raise InvalidRequest(f"{where}: bad metadata or content_type")
        with open(path, "rb") as body:
            tenant.storage.put(key, body, content_type=content_type, metadata=metadata)
        progress.add(items=1, nbytes=path.stat().st_size)
    progress.done()
    items, objects = Tally(), Tally()
    if verify:
        items, objects = tally_tenant(tenant)
        compare(manifest, items, objects, f"tenant {tenant.id} after import")
    return Summary(tenant.id, items, objects, progress.elapsed, verified=verify)


def compare(manifest: dict[str, Any], items: Tally, objects: Tally, what: str) -> None:
    """``ConditionFailed`` naming what differs when the tallies disagree with a manifest."""
    problems = []
    for name, tally in (("items", items), ("objects", objects)):
        want = manifest[name]
        if tally.count != want["count"]:
            problems.append(f"{name}: {tally.count} found, {want['count']} expected")
        elif tally.hexdigest != want["digest"]:
            problems.append(f"{name}: same count, different content (digest)")
    if problems:
        raise ConditionFailed(f"{what} does not match the export: {'; '.join(problems)}")
