"""Import a TinyDB database into a tenant's database provider (``migrate tinydb``).

Each table goes to a collection, each document to an item, keyed as the mapping says
(:mod:`tenantkit.lifecycle.mapping`). The file is read one document at a time
(:mod:`tenantkit.lifecycle.tinydb_file`) and written in pages of up to 100 documents of
one table with ``restore`` (the operator's write, as ``tenant import`` uses). After each
page the checkpoint (:mod:`tenantkit.lifecycle.ledger`) records the byte offset after
the page, the running counts and digest, the page's keys and its rejections, in one
transaction; ``resume=True`` continues after the last finished page.

A document that does not fit is rejected, never dropped in silence: listed in the
checkpoint and the report file with its table, id and reason (reasons:
``not_object``, ``missing_key_field``, ``bad_key``, ``duplicate_key``,
``reserved_field``, ``bad_field_name``, ``id_field_taken``, ``not_json``,
``refused``: the provider refused it alone, too large for instance).

At the end, the tenant's collections are counted and digested and compared with what
was written: a collection that holds anything else (data written before, or since) is
named in ``problems``.

Memory: one page of decoded documents (at most 100) plus the reader's buffer (64 KiB
and the largest document's text); the keys written live in the checkpoint, on disk.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tenantkit.db import MAX_BATCH_ITEMS, DbCapability, Item
from tenantkit.errors import CallerError, InvalidRequest, Unsupported
from tenantkit.identifiers import check_field_name, check_item_key, check_json_value
from tenantkit.lifecycle.archive import iter_entries
from tenantkit.lifecycle.digest import Tally
from tenantkit.lifecycle.ledger import Ledger
from tenantkit.lifecycle.mapping import DOC_ID, MappingFile, TableMapping
from tenantkit.lifecycle.migration import MigrationSummary
from tenantkit.lifecycle.progress import Progress
from tenantkit.lifecycle.tinydb_file import Document, Position, TableEnd, TableStart, read_tinydb
from tenantkit.resolver import Tenant

__all__ = ["PAGE", "import_tinydb"]

PAGE = MAX_BATCH_ITEMS


class _Rejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def import_tinydb(
    tenant: Tenant,
    path: str | Path,
    mapping: MappingFile,
    *,
    checkpoint: str | Path,
    report: str | Path,
    progress: Progress,
    resume: bool = False,
) -> MigrationSummary:
    """Import the TinyDB file at ``path`` into ``tenant`` (see the module)."""
    if DbCapability.EXPORT not in tenant.db.capabilities:
        raise Unsupported(
            f"the database provider {tenant.db.provider!r} cannot restore items "
            "(capability 'export'), which the import needs"
        )
    source = Path(path)
    try:
        stat = source.stat()
    except OSError as exc:
        raise InvalidRequest(f"{source}: {exc.strerror}") from None
    identity = {
        "kind": "tinydb",
        "file": str(source.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "tenant": tenant.id,
        "mapping": mapping.model_dump(mode="json"),
    }
    ledger = Ledger(checkpoint, identity, resume=resume)
    try:
        resumed = ledger.resumed
        run = _Run(tenant, mapping, ledger, progress)
        position = ledger.state.get("position")
        start = Position(**position) if position else None
        progress.total_bytes = stat.st_size - (start.offset if start else 0)
        if not ledger.state.get("done"):
            run.read(source, start)
        ledger.state["done"] = True
        ledger.commit()
        progress.done()
        written = Tally.from_dict(ledger.state.get("written") or {"count": 0, "digest": "0"})
        summary = MigrationSummary(
            kind="tinydb",
            tenant_id=tenant.id,
            written=written,
            rejected=ledger.rejected_count(),
            report=Path(report),
            seconds=progress.elapsed,
            resumed=resumed,
            sources=ledger.state.get("tables", {}),
        )
        ledger.write_report(report, "table", "doc_id")
    finally:
        ledger.close()
    summary.problems = _verify(tenant, summary)
    return summary


class _Run:
    """One run of an import: the state it updates and the page it builds."""

    def __init__(
        self, tenant: Tenant, mapping: MappingFile, ledger: Ledger, progress: Progress
    ) -> None:
        self.tenant = tenant
        self.mapping = mapping
        self.ledger = ledger
        self.progress = progress
        self.tables: dict[str, dict[str, Any]] = ledger.state.setdefault("tables", {})
        self.written = Tally.from_dict(ledger.state.get("written") or {"count": 0, "digest": "0"})
        self.offset = (ledger.state.get("position") or {}).get("offset", 0)

    def read(self, source: Path, start: Position | None) -> None:
        page: list[Document] = []
        for event in read_tinydb(source, start):
            if isinstance(event, TableStart):
                self.tables[event.table] = {
                    "collection": self.mapping.collection_of(event.table),
                    "read": 0,
                    "imported": 0,
                    "rejected": 0,
                }
            elif isinstance(event, Document):
                page.append(event)
                if len(page) == PAGE:
                    self.finish(page, Position(event.end, event.table, "table"))
                    page = []
            elif isinstance(event, TableEnd):
                self.finish(page, Position(event.end, event.table, "top"))
                page = []

    def finish(self, page: list[Document], position: Position) -> None:
        """Write a page, then save it as done (one checkpoint transaction)."""
        table = position.table
        counts = self.tables[table]
        collection: str = counts["collection"]
        rules = self.mapping.for_table(table)
        items: list[tuple[str, Item]] = []
        for doc in page:
            counts["read"] += 1
            try:
                item = _item_of(doc, rules)
                other = self.ledger.claim(collection, item.pk, item.sk, doc.doc_id)
                if other is not None:
                    raise _Rejected(
                        "duplicate_key", f"same pk and sk as document {other!r} of this table"
                    )
            except _Rejected as exc:
                self._reject(table, doc.doc_id, exc.reason, exc.detail)
                continue
            items.append((doc.doc_id, item))
        for item in _restore(self.tenant, collection, items, self._refused(table, collection)):
            self.written.add_item(collection, item)
            counts["imported"] += 1
        self.ledger.state["written"] = self.written.to_dict()
        self.ledger.state["position"] = {
            "offset": position.offset,
            "table": table,
            "inside": position.inside,
        }
        self.ledger.commit()
        self.progress.add(items=len(page), nbytes=position.offset - self.offset)
        self.offset = position.offset

    def _reject(self, table: str, doc_id: str, reason: str, detail: str) -> None:
        self.tables[table]["rejected"] += 1
        self.ledger.reject((table, doc_id, reason, detail))

    def _refused(self, table: str, collection: str) -> Callable[[str, Item, CallerError], None]:
        def refused(doc_id: str, item: Item, exc: CallerError) -> None:
            self.ledger.release(collection, item.pk, item.sk)
            self._reject(table, doc_id, "refused", f"{type(exc).__name__}: {exc.message}")

        return refused


def _restore(
    tenant: Tenant,
    collection: str,
    items: list[tuple[str, Item]],
    refused: Callable[[str, Item, CallerError], None],
) -> list[Item]:
    """Write the page; when the provider refuses it, each document alone, so that only
    the ones it refuses are rejected. The items written."""
    if not items:
        return []
    try:
        tenant.db.restore(collection, [item for _, item in items])
        return [item for _, item in items]
    except CallerError:
        pass  # one (or more) of them: find which
    written = []
    for doc_id, item in items:
        try:
            tenant.db.restore(collection, [item])
        except CallerError as exc:
            refused(doc_id, item, exc)
            continue
        written.append(item)
    return written


def _key(doc_id: str, value: dict[str, Any], source: str, which: str) -> str:
    if source == DOC_ID:
        key: object = doc_id
    elif source not in value:
        raise _Rejected("missing_key_field", f"field {source!r} ({which}) is missing")
    else:
        key = value[source]
        if isinstance(key, int) and not isinstance(key, bool):
            key = str(key)
        elif not isinstance(key, str):
            raise _Rejected(
                "bad_key",
                f"field {source!r} ({which}) must be text or an integer, not {_json_type(key)}",
            )
    try:
        return check_item_key(key, field=which)
    except InvalidRequest as exc:
        raise _Rejected("bad_key", exc.message) from None


def _item_of(doc: Document, rules: TableMapping) -> Item:
    """The item a document becomes; :class:`_Rejected` says why it cannot."""
    value = doc.value
    if not isinstance(value, dict):
        raise _Rejected("not_object", f"the document is {_json_type(value)}, not an object")
    pk = _key(doc.doc_id, value, rules.pk, "pk")
    sk = _key(doc.doc_id, value, rules.sk, "sk") if rules.sk else ""
    key_fields = {rules.pk, rules.sk}
    data: dict[str, Any] = {}
    for name, field in value.items():
        if name in ("pk", "sk"):
            if name in key_fields:
                continue  # the item's key itself
            raise _Rejected(
                "reserved_field", f"field {name!r} is the item's key: map it as pk or sk"
            )
        try:
            check_field_name(name)
        except InvalidRequest:
            raise _Rejected(
                "bad_field_name",
                f"field name {name!r} is not a field name (letters, digits, underscores, "
                "starting with a letter, at most 64)",
            ) from None
        try:
            check_json_value(field, path=name)
        except InvalidRequest as exc:
            raise _Rejected("not_json", exc.message) from None
        data[name] = field
    if rules.id_field:
        if rules.id_field in data:
            raise _Rejected(
                "id_field_taken", f"id_field {rules.id_field!r} is already a field of it"
            )
        data[rules.id_field] = int(doc.doc_id) if _is_int(doc.doc_id) else doc.doc_id
    return Item(pk=pk, sk=sk, data=data, version="-")


def _is_int(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) < 19


def _json_type(value: object) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "text"}
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return names.get(type(value), type(value).__name__)


def _verify(tenant: Tenant, summary: MigrationSummary) -> list[str]:
    """Count and digest the tenant's collections the import wrote and compare."""
    collections = {str(t["collection"]) for t in summary.sources.values()}
    found = Tally()
    for entries, _ in iter_entries(tenant.db):
        for collection, item in entries:
            if collection in collections:
                found.add_item(collection, item)
    problems = []
    want = summary.written.by_collection
    for collection in sorted(collections):
        have, expected = found.by_collection.get(collection, 0), want.get(collection, 0)
        if have != expected:
            problems.append(f"collection {collection!r}: {have} items found, {expected} imported")
    if not problems and found.digest != summary.written.digest:
        problems.append("same counts, different content (digest): written over since?")
    return problems
