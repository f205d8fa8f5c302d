"""Read a TinyDB database file one document at a time.

TinyDB's ``JSONStorage`` keeps the whole database as one JSON object, tables of
documents keyed by their id as text (``tinydb/storages.py``: ``json.dumps(data)``;
``tinydb/table.py``: ``table[str(doc_id)] = dict(doc)``)::

    {"_default": {"1": {...}, "2": {...}}, "users": {"1": {...}}}

An empty file is an empty database. Reading it with ``json.load`` would hold all of it
(and its Python objects, several times its size) at once; :func:`read_tinydb` walks the
two outer levels itself and decodes one document at a time with the standard decoder,
so memory holds the read buffer (64 KiB) plus the largest document's text. It reports
each document with the byte offset just after it, and can start again at such an
offset (a resumed import seeks there instead of reading the file again).

Python's ``json`` writes ``NaN`` and ``Infinity`` and TinyDB uses it, so the reader
accepts them (the importer rejects them as values no provider keeps).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from tenantkit.errors import InvalidRequest

__all__ = ["READ_CHUNK", "Document", "Position", "TableEnd", "TableStart", "read_tinydb"]

READ_CHUNK = 64 * 1024
_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"
# A value cut off by the end of the buffer fails within a few characters of it (a
# literal such as ``-Infinity``, an escape such as ``\\u12``) or as an unterminated string.
_CUT_MARGIN = 16


@dataclass(frozen=True)
class Position:
    """Where a resumed read starts: ``offset`` bytes into the file, either inside
    ``table`` after one of its documents (``inside="table"``) or after the end of
    ``table`` (``inside="top"``)."""

    offset: int
    table: str
    inside: Literal["table", "top"]


@dataclass(frozen=True)
class TableStart:
    """A table begins (its documents follow)."""

    table: str


@dataclass(frozen=True)
class Document:
    """One document: its table, its id (as the file writes it), its decoded value
    (any JSON value; TinyDB writes objects), its size as JSON text in bytes and the
    byte offset just after it."""

    table: str
    doc_id: str
    value: Any
    size: int
    end: int


@dataclass(frozen=True)
class TableEnd:
    """A table ends; ``end`` is the byte offset just after its closing brace."""

    table: str
    end: int


Event = TableStart | Document | TableEnd


class _Buffer:
    """Decoded text of the file from ``offset`` on, refilled on demand."""

    def __init__(self, file: BinaryIO, name: str, offset: int) -> None:
        self._file = file
        self.name = name
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.text = ""
        self.pos = 0
        self.offset = offset  # byte offset of text[pos]
        self.eof = False
        file.seek(offset)

    def more(self, want: int = READ_CHUNK) -> bool:
        """Read at least ``want`` more bytes (fewer at the end); whether any came."""
        if self.eof:
            return False
        raw = self._file.read(max(want, READ_CHUNK))
        try:
            chunk = self._decoder.decode(raw, final=not raw)
        except UnicodeDecodeError:
            raise InvalidRequest(f"{self.name}: not UTF-8 text after byte {self.offset}") from None
        if not raw:
            self.eof = True
        if self.pos > len(self.text) // 2:  # drop what was consumed, now and then
            self.text = self.text[self.pos :]
            self.pos = 0
        self.text += chunk
        return bool(raw)

    def advance(self, to: int) -> None:
        self.offset += len(self.text[self.pos : to].encode())
        self.pos = to

    def skip_space(self) -> str:
        """The next non-blank character ('' at the end of the file), not consumed."""
        while True:
            text, pos = self.text, self.pos
            while pos < len(text) and text[pos] in _WHITESPACE:
                pos += 1
            self.advance(pos)
            if pos < len(text):
                return text[pos]
            if not self.more():
                return ""

    def expect(self, allowed: str, where: str) -> str:
        char = self.skip_space()
        if not char or char not in allowed:
            found = repr(char) if char else "the end of the file"
            wanted = " or ".join(repr(c) for c in allowed)
            raise InvalidRequest(
                f"{self.name}: not a TinyDB file: expected {wanted} {where} at byte "
                f"{self.offset}, found {found}"
            )
        self.advance(self.pos + 1)
        return char

    def closes(self, *, first: bool, where: str) -> bool:
        """Consume the ``}`` that closes an object (True), or the ``,`` before its next
        member (False); the first member has no comma before it."""
        if first and self.skip_space() == "}":
            self.advance(self.pos + 1)
            return True
        return not first and self.expect(",}", where) == "}"

    def value(self, where: str) -> tuple[Any, int]:
        """The JSON value that starts here, and its size in bytes."""
        self.skip_space()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                cut = exc.pos >= len(self.text) - _CUT_MARGIN or exc.msg.startswith(
                    "Unterminated string"
                )
                if cut and self.more(len(self.text)):  # doubles: linear in the value
                    continue
                raise InvalidRequest(
                    f"{self.name}: not a TinyDB file: invalid JSON {where} near byte "
                    f"{self.offset}: {exc.msg}"
                ) from None
            start = self.offset
            self.advance(end)
            return value, self.offset - start


def read_tinydb(path: str | Path, start: Position | None = None) -> Iterator[Event]:
    """The tables and documents of the TinyDB file at ``path``, in file order, from
    the beginning or from ``start``. A file that is not TinyDB's format raises
    :class:`InvalidRequest` naming the byte where it stops being one."""
    name = str(path)
    with open(path, "rb") as file:
        buf = _Buffer(file, name, start.offset if start else 0)
        if start is None:
            first = buf.skip_space()
            if not first:
                return  # TinyDB reads an empty file as an empty database
            buf.expect("{", "at the start")
            top_first = True
        elif start.inside == "table":
            yield from _table(buf, start.table, first=False)
            top_first = False
        else:
            top_first = False
        while True:
            if buf.closes(first=top_first, where="between tables"):
                break
            table, _ = buf.value("as a table name")
            if not isinstance(table, str):
                raise InvalidRequest(f"{name}: not a TinyDB file: a table name is not text")
            buf.expect(":", f"after table name {table!r}")
            buf.expect("{", f"as table {table!r}")
            yield TableStart(table)
            yield from _table(buf, table, first=True)
            top_first = False
        if buf.skip_space():
            raise InvalidRequest(
                f"{name}: not a TinyDB file: text after its end (byte {buf.offset})"
            )


def _table(buf: _Buffer, table: str, *, first: bool) -> Iterator[Event]:
    where = f"in table {table!r}"
    while not buf.closes(first=first, where=where):
        first = False
        doc_id, _ = buf.value(f"as a document id {where}")
        if not isinstance(doc_id, str):
            raise InvalidRequest(
                f"{buf.name}: not a TinyDB file: a document id {where} is not text"
            )
        buf.expect(":", f"after document {doc_id!r} {where}")
        value, size = buf.value(f"as document {doc_id!r} {where}")
        yield Document(table, doc_id, value, size, buf.offset)
    yield TableEnd(table, buf.offset)
