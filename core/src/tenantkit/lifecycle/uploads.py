"""Import a directory of legacy uploads into a tenant's storage (``migrate uploads``).

Every regular file under the directory becomes the object ``PREFIX`` + its path
relative to the directory (``/``-separated). The walk is depth first with each
directory's entries sorted by name, so that its order is the order of the paths'
components and a resumed run skips every file up to the last one saved.

Idempotent by size and checksum: each object is written with its SHA-256 in its
metadata (``sha256``); a file whose object already has its size and SHA-256 is not
sent again. The checkpoint (:mod:`tenantkit.lifecycle.ledger`) is saved every 100
files or 64 MiB; a resumed run starts after the last saved file (files finished since
are found unchanged and not sent again).

A file that cannot be migrated is rejected, listed with its path and reason:
``bad_key`` (the path is no storage key: control characters, backslashes, not UTF-8,
too long), ``symlink`` (links are not followed), ``not_a_file`` (a device, a socket),
``unreadable`` and ``refused`` (the provider refused it: too large, ...).

At the end the tenant's objects under the prefix are listed: their count and bytes
must equal the files migrated (other objects under the prefix are named as a problem).

Memory: one 1 MiB chunk of one file, and one directory's entry names per level.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from tenantkit.errors import CallerError, InvalidRequest, NotFound
from tenantkit.identifiers import check_storage_key, check_storage_prefix
from tenantkit.lifecycle.archive import file_sha256, iter_objects
from tenantkit.lifecycle.digest import Tally
from tenantkit.lifecycle.ledger import Ledger
from tenantkit.lifecycle.migration import MigrationSummary
from tenantkit.lifecycle.progress import Progress
from tenantkit.resolver import Tenant

__all__ = ["SHA256_METADATA", "import_uploads"]

SHA256_METADATA = "sha256"
_SAVE_FILES = 100
_SAVE_BYTES = 64 * 1024 * 1024

Entry = tuple[tuple[str, ...], os.DirEntry[str]]


class _Migrated(NamedTuple):
    key: str
    size: int
    sha256: str
    sent: bool


class _Refusal(NamedTuple):
    reason: str
    detail: str


def import_uploads(
    tenant: Tenant,
    directory: str | Path,
    *,
    prefix: str = "",
    checkpoint: str | Path,
    report: str | Path,
    progress: Progress,
    resume: bool = False,
) -> MigrationSummary:
    """Copy every file under ``directory`` to ``tenant``'s storage (see the module)."""
    root = Path(directory)
    if not root.is_dir():
        raise InvalidRequest(f"{root}: not a directory")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    check_storage_prefix(prefix)
    identity = {
        "kind": "uploads",
        "dir": str(root.resolve()),
        "tenant": tenant.id,
        "prefix": prefix,
    }
    files, total = _totals(root)
    progress.total_items, progress.total_bytes = files, total
    ledger = Ledger(checkpoint, identity, resume=resume)
    try:
        resumed = ledger.resumed
        state = ledger.state
        counts = state.setdefault("counts", {"files": 0, "uploaded": 0, "unchanged": 0})
        written = Tally.from_dict(state.get("written") or {"count": 0, "digest": "0"})
        last = tuple(state.get("last") or ())
        pending_files = pending_bytes = 0
        for parts, entry in _walk(root):
            if state.get("done") or (last and parts <= last):
                continue
            shown = "/".join(_shown(p) for p in parts)
            outcome = _upload(tenant, prefix, parts, entry)
            if isinstance(outcome, _Refusal):
                ledger.reject((str(root), shown, outcome.reason, outcome.detail))
                size = 0
            else:
                size = outcome.size
                written.add_object(outcome.key, size, outcome.sha256)
                counts["uploaded" if outcome.sent else "unchanged"] += 1
            counts["files"] += 1
            progress.add(items=1, nbytes=size)
            pending_files += 1
            pending_bytes += size
            state["last"] = list(parts)
            if pending_files >= _SAVE_FILES or pending_bytes >= _SAVE_BYTES:
                state["written"] = written.to_dict()
                ledger.commit()
                pending_files = pending_bytes = 0
        state["written"] = written.to_dict()
        state["done"] = True
        ledger.commit()
        progress.done()
        summary = MigrationSummary(
            kind="uploads",
            tenant_id=tenant.id,
            written=written,
            rejected=ledger.rejected_count(),
            report=Path(report),
            seconds=progress.elapsed,
            resumed=resumed,
            sources={str(root): {"prefix": prefix, **counts}},
        )
        ledger.write_report(report, "directory", "path")
    finally:
        ledger.close()
    summary.problems = _verify(tenant, prefix, written)
    return summary


def _upload(
    tenant: Tenant, prefix: str, parts: tuple[str, ...], entry: os.DirEntry[str]
) -> _Migrated | _Refusal:
    """The migrated file, or why it is not."""
    if entry.is_symlink():
        return _Refusal("symlink", "a symbolic link (links are not followed)")
    if not entry.is_file(follow_symlinks=False):
        return _Refusal("not_a_file", "not a regular file")
    try:
        key = check_storage_key(prefix + "/".join(parts))
    except InvalidRequest as exc:
        return _Refusal("bad_key", exc.message)
    try:
        size, sha = os.stat(entry.path).st_size, file_sha256(entry.path)
    except OSError as exc:
        return _Refusal("unreadable", str(exc.strerror))
    try:
        there = tenant.storage.head(key)
    except NotFound:
        there = None
    if there is not None and there.size == size and there.metadata.get(SHA256_METADATA) == sha:
        return _Migrated(key, size, sha, sent=False)
    content_type = mimetypes.guess_type(entry.name)[0]
    try:
        with open(entry.path, "rb") as body:
            tenant.storage.put(
                key, body, content_type=content_type, metadata={SHA256_METADATA: sha}
            )
    except OSError as exc:
        return _Refusal("unreadable", str(exc.strerror))
    except CallerError as exc:
        return _Refusal("refused", f"{type(exc).__name__}: {exc.message}")
    return _Migrated(key, size, sha, sent=True)


def _walk(root: Path, parts: tuple[str, ...] = ()) -> Iterator[Entry]:
    """Every entry but directories, depth first, each directory sorted by name."""
    with os.scandir(root) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    for entry in entries:
        here = (*parts, entry.name)
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path), here)
        else:
            yield here, entry


def _totals(root: Path) -> tuple[int, int]:
    files = size = 0
    for _, entry in _walk(root):
        if entry.is_file(follow_symlinks=False):
            files += 1
            size += entry.stat(follow_symlinks=False).st_size
    return files, size


def _shown(name: str) -> str:
    """A file name as text, bytes that are not UTF-8 escaped (for the report)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _verify(tenant: Tenant, prefix: str, written: Tally) -> list[str]:
    count = size = 0
    for infos, _ in iter_objects(tenant.storage, prefix=prefix):
        count += len(infos)
        size += sum(info.size for info in infos)
    if (count, size) != (written.count, written.bytes):
        return [
            f"prefix {prefix!r}: {count} objects ({size} bytes) found, "
            f"{written.count} ({written.bytes} bytes) migrated"
        ]
    return []
