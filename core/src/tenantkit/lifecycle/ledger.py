"""The checkpoint of a migration: where it stands, what it rejected, which keys it wrote.

A migration (``tenantkit migrate``) keeps one SQLite file next to its input: a small
state document (where to resume, the running counts and digests), the list of rejected
documents or files, and, for a database import, every key written so far, so that two
documents landing on one key are caught without holding the keys in memory. Each
finished page is one transaction: the state, its rejections and its keys are saved
together or not at all, so a resumed run starts exactly after the last finished page.
The file is created with mode 0600 (it names the input, no credential).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tenantkit.errors import InvalidRequest

__all__ = ["Ledger", "Rejection"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY, source TEXT NOT NULL, id TEXT NOT NULL,
    reason TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
    collection TEXT NOT NULL, pk TEXT NOT NULL, sk TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (collection, pk, sk)) WITHOUT ROWID;
"""

Rejection = tuple[str, str, str, str]
"""``(source, id, reason, detail)``: a table (or a directory) and the document id (or
file path) that was not migrated, a short reason code and what exactly is wrong."""


class Ledger:
    """A migration's checkpoint file (see the module).

    ``identity`` describes the input (file, size, mapping...): a ledger written for
    another input is refused on resume.
    """

    def __init__(self, path: str | Path, identity: dict[str, Any], *, resume: bool) -> None:
        self.path = Path(path)
        if not resume:
            self.path.unlink(missing_ok=True)
        fresh = not self.path.exists()
        if fresh:
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT doc FROM state").fetchone()
        self.resumed = row is not None
        self.state: dict[str, Any] = json.loads(row[0]) if row else {"identity": identity}
        if self.state.get("identity") != identity:
            self._db.close()
            raise InvalidRequest(
                f"checkpoint {self.path} belongs to another input (file, tenant or "
                "mapping changed); run without --resume to start again"
            )
        self._db.execute("BEGIN")

    def claim(self, collection: str, pk: str, sk: str, doc: str) -> str | None:
        """Record that ``doc`` goes to the key; the document already there, if any."""
        found = self._db.execute(
            "SELECT doc FROM keys WHERE collection = ? AND pk = ? AND sk = ?",
            (collection, pk, sk),
        ).fetchone()
        if found is not None:
            return str(found[0])
        self._db.execute("INSERT INTO keys VALUES (?, ?, ?, ?)", (collection, pk, sk, doc))
        return None

    def release(self, collection: str, pk: str, sk: str) -> None:
        """Forget a key claimed in this page (its document was rejected after all)."""
        self._db.execute(
            "DELETE FROM keys WHERE collection = ? AND pk = ? AND sk = ?", (collection, pk, sk)
        )

    def reject(self, rejection: Rejection) -> None:
        self._db.execute(
            "INSERT INTO rejected (source, id, reason, detail) VALUES (?, ?, ?, ?)", rejection
        )

    def commit(self) -> None:
        """Save the state with this page's keys and rejections, and begin the next page."""
        self._db.execute("INSERT OR REPLACE INTO state VALUES (1, ?)", (json.dumps(self.state),))
        self._db.execute("COMMIT")
        self._db.execute("BEGIN")

    def rejected_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM rejected").fetchone()[0])

    def rejections(self) -> Iterator[Rejection]:
        """Every rejection saved so far, in the order they were found."""
        cursor = self._db.execute("SELECT source, id, reason, detail FROM rejected ORDER BY seq")
        for row in cursor:
            yield row[0], row[1], row[2], row[3]

    def write_report(self, path: str | Path, source_name: str, id_name: str) -> int:
        """Write the rejections as JSON lines to ``path`` (replaced atomically); how many.

        Each line: ``{source_name: ..., id_name: ..., "reason": ..., "detail": ...}``.
        """
        target = Path(path)
        tmp = target.with_name(f".{target.name}.tmp")
        count = 0
        with open(tmp, "w", encoding="utf-8") as out:
            for source, ident, reason, detail in self.rejections():
                line = {source_name: source, id_name: ident, "reason": reason, "detail": detail}
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                count += 1
        os.replace(tmp, target)
        return count

    def close(self) -> None:
        """Leave without saving the unfinished page."""
        self._db.execute("ROLLBACK")
        self._db.close()
