"""How TinyDB tables and documents become collections and items: the mapping file.

Without a mapping file every table gets the default mapping: the collection is the
table's name (TinyDB's default table ``_default`` becomes ``default``), the partition
key is the document id and the sort key is empty. A mapping file (JSON) chooses, per
table, the collection and the fields the keys come from::

    {"version": 1,
     "tables": {
       "_default": {"collection": "notes"},
       "orders":   {"pk": "customer", "sk": "$id", "id_field": "legacy_id"},
       "users":    {"pk": "email"}}}

``pk`` and ``sk`` name a top-level field of the document, or ``$id`` for the document
id; ``sk`` may be left out (empty sort key). A key field must hold text or an integer
(written in decimal). ``id_field`` also keeps the document id, as an integer when it
is one, in that field. Tables the file does not name get the default mapping.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tenantkit.errors import InvalidRequest
from tenantkit.identifiers import COLLECTION_NAME, check_collection, check_field_name
from tenantkit.validation import field_errors

__all__ = ["DOC_ID", "MappingFile", "TableMapping", "default_collection", "load_mapping"]

DOC_ID = "$id"
"""A key taken from the document id rather than from a field."""

_strict = ConfigDict(extra="forbid", frozen=True)


class TableMapping(BaseModel):
    """Where one table's documents go."""

    model_config = _strict

    collection: str | None = Field(
        default=None, description="the collection (default: the table's name)"
    )
    pk: str = Field(default=DOC_ID, min_length=1, description="field of the partition key")
    sk: str | None = Field(default=None, min_length=1, description="field of the sort key")
    id_field: str | None = Field(default=None, description="field that keeps the document id")

    @field_validator("collection")
    @classmethod
    def _collection(cls, value: str | None) -> str | None:
        if value is not None and not COLLECTION_NAME.fullmatch(value):
            raise ValueError(
                "use 1-63 lowercase letters, digits and underscores, starting with a letter"
            )
        return value

    @field_validator("id_field")
    @classmethod
    def _id_field(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                check_field_name(value)
            except InvalidRequest:
                raise ValueError(
                    "use 1-64 letters, digits and underscores, starting with a letter, "
                    "not 'pk' or 'sk'"
                ) from None
        return value


class MappingFile(BaseModel):
    """A mapping file: ``version`` 1 and a :class:`TableMapping` per table named."""

    model_config = _strict

    version: Literal[1] = 1
    tables: dict[str, TableMapping] = Field(default_factory=dict)

    def for_table(self, table: str) -> TableMapping:
        """The table's mapping (the default one when the file does not name it)."""
        return self.tables.get(table) or TableMapping()

    def collection_of(self, table: str) -> str:
        """The table's collection; ``InvalidRequest`` naming the mapping field when the
        table's name is no collection name and the file does not give one."""
        chosen = self.for_table(table).collection
        if chosen is not None:
            return chosen
        name = default_collection(table)
        try:
            return check_collection(name)
        except InvalidRequest:
            raise InvalidRequest(
                f"table {table!r} has no valid collection name: set "
                f"tables.{table}.collection in a mapping file (--mapping)"
            ) from None


def default_collection(table: str) -> str:
    """The collection a table goes to by default: its name (``_default``: ``default``)."""
    return "default" if table == "_default" else table


def load_mapping(path: str | Path | None) -> MappingFile:
    """The mapping file at ``path`` (``None``: the default mapping); ``InvalidRequest``
    naming the file and every field that is wrong."""
    if path is None:
        return MappingFile()
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidRequest(f"mapping {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise InvalidRequest(f"mapping {path}: not JSON: {exc}") from None
    try:
        return MappingFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(str(e) for e in field_errors(exc, model=MappingFile))
        raise InvalidRequest(f"mapping {path}: {problems}") from None
