r"""How items sit in a Cosmos DB container: the document of an item, and sort order.

Every tenant's items are one logical partition of the container (partition key path
``/t``), so a query, an index query and a transactional batch of a tenant each reach
one partition. A document (see the README)::

    id    sha256 of "{collection}\0{pk}\0{sk}", hex   Cosmos ids cannot hold / \ ? #
    t     namespace (the tenant id)                 the partition key
    c     collection
    p     pk
    k     sk
    s     hex(utf-8(sk))                            sorts by code point under any
                                                    string order (UTF-16 or bytes)
    d     {application fields}                      never collide with Cosmos's own
                                                    properties (id, ttl, _etag, ...)
    x     expiry, epoch seconds                     absent: never expires
    ttl   seconds Cosmos keeps the item after its last write (Cosmos's own TTL)
    ix    {index: {"p": value, "s": "HEX(sort)00HEX(pk)00HEX(sk)"}}
    _etag the item's version (Cosmos's, new on every write)

No key holds NUL, so the byte 00 never occurs in a hex-encoded key: ``00`` at an even
offset separates the parts of an index sort value and sorts before every byte, as
DynamoDB's ``\0`` does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from tenantkit.db import IndexSpec, Item, SortKey
from tenantkit.errors import InvalidCursor, InvalidRequest

PARTITION_PATH = "/t"
_SEP = "00"


def item_id(collection: str, pk: str, sk: str) -> str:
    """The Cosmos id of an item: a digest, since keys may hold any character."""
    raw = f"{collection}\x00{pk}\x00{sk}".encode()
    return hashlib.sha256(raw).hexdigest()


def sort_hex(text: str) -> str:
    return text.encode().hex()


def index_sort_value(head: str, pk: str, sk: str) -> str:
    return f"{sort_hex(head)}{_SEP}{sort_hex(pk)}{_SEP}{sort_hex(sk)}"


def index_entries(
    indexes: Mapping[str, IndexSpec], fields: Mapping[str, Any], pk: str, sk: str
) -> dict[str, dict[str, str]]:
    """The ``ix`` property of an item with these fields (a sparse index per spec)."""
    entries: dict[str, dict[str, str]] = {}
    for name, spec in indexes.items():
        value = fields.get(spec.partition_field)
        sort = fields.get(spec.sort_field) if spec.sort_field else ""
        if isinstance(value, str) and isinstance(sort, str):
            entries[name] = {"p": value, "s": index_sort_value(sort, pk, sk)}
    return entries


def document(
    ns: str,
    collection: str,
    pk: str,
    sk: str,
    fields: Mapping[str, Any],
    *,
    expires_at: int | None,
    now: float,
    indexes: Mapping[str, IndexSpec],
) -> dict[str, Any]:
    """The document that stores an item."""
    doc: dict[str, Any] = {
        "id": item_id(collection, pk, sk),
        "t": ns,
        "c": collection,
        "p": pk,
        "k": sk,
        "s": sort_hex(sk),
        "d": dict(fields),
    }
    if expires_at is not None:
        doc["x"] = expires_at
        doc["ttl"] = cosmos_ttl(expires_at, now)
    entries = index_entries(indexes, fields, pk, sk)
    if entries:
        doc["ix"] = entries
    return doc


def cosmos_ttl(expires_at: int, now: float) -> int:
    """Cosmos's ``ttl``: whole seconds after the write, at least 1."""
    return max(1, math.ceil(expires_at - now))


def to_item(doc: Mapping[str, Any]) -> Item:
    return Item(
        pk=doc["p"],
        sk=doc["k"],
        data=doc.get("d") or {},
        version=doc["_etag"],
        expires_at=doc.get("x"),
    )


def live(doc: Mapping[str, Any] | None, now: float) -> bool:
    """Whether a document exists and has not expired."""
    if doc is None:
        return False
    expires = doc.get("x")
    return expires is None or expires > now


def check_json(value: Any, path: str) -> None:
    """Refuse what JSON cannot carry to Cosmos (the core checks names and types)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidRequest(f"{path}: numbers must be finite")


# --- queries ----------------------------------------------------------------------------


class Query:
    """A Cosmos SQL query built from parts, with its parameters."""

    def __init__(self) -> None:
        self.where: list[str] = []
        self.parameters: list[dict[str, Any]] = []

    def param(self, value: Any) -> str:
        name = f"@v{len(self.parameters)}"
        self.parameters.append({"name": name, "value": value})
        return name

    def body(self, order_by: str | None = None, descending: bool = False) -> dict[str, Any]:
        """The query request body. Every value is a parameter; the text holds only
        property paths and operators of our own."""
        text = f"SELECT * FROM c WHERE {' AND '.join(self.where)}"  # noqa: S608
        if order_by is not None:
            text += f" ORDER BY {order_by} {'DESC' if descending else 'ASC'}"
        return {"query": text, "parameters": self.parameters}


def sort_condition(query: Query, field: str, sort: SortKey) -> bool:
    """Add the condition on a table sort value (``s``); False when nothing can match."""
    v = sort_hex(sort.value)
    match sort.op:
        case "eq":
            query.where.append(f"{field} = {query.param(v)}")
        case "lt":
            query.where.append(f"{field} < {query.param(v)}")
        case "lte":
            query.where.append(f"{field} <= {query.param(v)}")
        case "gt":
            query.where.append(f"{field} > {query.param(v)}")
        case "gte":
            query.where.append(f"{field} >= {query.param(v)}")
        case "begins_with":
            query.where.append(f"STARTSWITH({field}, {query.param(v)})")
        case "between":
            upper = sort.upper if sort.upper is not None else sort.value
            if sort.value > upper:
                return False
            lower_p, upper_p = query.param(v), query.param(sort_hex(upper))
            query.where.append(f"{field} >= {lower_p} AND {field} <= {upper_p}")
    return True


def index_sort_condition(query: Query, field: str, sort: SortKey) -> bool:
    """Add the condition on an index sort value ``HEX(sort)00HEX(pk)00HEX(sk)``.

    ``s < v`` exactly when ``hex(s)00…`` < ``hex(v)``, and ``s <= v`` exactly when
    ``hex(s)00…`` < ``hex(v)01`` (no key holds NUL).
    """
    v = sort_hex(sort.value)
    match sort.op:
        case "eq":
            query.where.append(f"STARTSWITH({field}, {query.param(v + _SEP)})")
        case "begins_with":
            query.where.append(f"STARTSWITH({field}, {query.param(v)})")
        case "lt":
            query.where.append(f"{field} < {query.param(v)}")
        case "lte":
            query.where.append(f"{field} < {query.param(v + '01')}")
        case "gt":
            query.where.append(f"{field} >= {query.param(v + '01')}")
        case "gte":
            query.where.append(f"{field} >= {query.param(v)}")
        case "between":
            upper = sort.upper if sort.upper is not None else sort.value
            if sort.value > upper:
                return False
            lower_p, upper_p = query.param(v), query.param(sort_hex(upper) + "01")
            query.where.append(f"{field} >= {lower_p} AND {field} < {upper_p}")
    return True


# --- cursors ----------------------------------------------------------------------------


def encode_cursor(after: str) -> str:
    """The provider cursor: the sort value of the page's last item, base64url JSON.

    Sort values are unique within a query (they end in the item's key), so the next
    page starts right after it whatever was written in between, as DynamoDB's
    ``ExclusiveStartKey`` does. Cosmos's own continuation token only serves the
    requests that fill one page.
    """
    raw = json.dumps({"a": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = json.loads(raw)
    except (ValueError, TypeError):
        raise InvalidCursor("malformed cursor") from None
    if not isinstance(plain, dict) or set(plain) != {"a"} or not isinstance(plain["a"], str):
        raise InvalidCursor("malformed cursor")
    after: str = plain["a"]
    if after and not all(ch in "0123456789abcdef" for ch in after):
        raise InvalidCursor("malformed cursor")
    return after
