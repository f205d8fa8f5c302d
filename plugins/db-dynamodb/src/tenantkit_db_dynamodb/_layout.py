r"""How items sit in the table: key attributes, index attributes, and the JSON codec.

One table holds every collection of a namespace (the tenant id), see the README::

    _pk   "{ns}#{collection}#{pk}"      partition key (ns and collection never hold "#")
    _sk   sk, or "\0" for ""            sort key (never empty; no key holds NUL, so
                                        "\0" sorts before every other sort key)
    _v    version                       a new opaque value on every write
    _exp  expiry, epoch seconds         the table's TTL attribute
    _ipk:{gsi}  "{ns}#{value}"          an index's partition key, when the field is a string
    _isk:{gsi}  "{sort}\0{pk}\0{sk}"  an index's sort key: (sort field, pk, sk) order,
                                        cut to DynamoDB's 1,024 bytes

Application fields are top-level attributes; their names start with a letter, so they
never collide with the attributes above.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tenantkit.db import IndexSpec, Item, Key
from tenantkit.errors import ConfigurationError, InvalidCursor, InvalidRequest

PK = "_pk"
SK = "_sk"
VERSION = "_v"
EXPIRES = "_exp"
SEP = "#"
EMPTY_SORT_KEY = "\x00"
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
_NUL = "\x00"
_GSI_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")

AttributeValue = dict[str, Any]


def partition_key(ns: str, collection: str, pk: str) -> str:
    return f"{ns}{SEP}{collection}{SEP}{pk}"


def sort_key(sk: str) -> str:
    return sk or EMPTY_SORT_KEY


def key_attributes(ns: str, collection: str, key: Key) -> dict[str, AttributeValue]:
    return {
        PK: {"S": partition_key(ns, collection, key.pk)},
        SK: {"S": sort_key(key.sk)},
    }


# --- secondary indexes ----------------------------------------------------------------


@dataclass(frozen=True)
class Index:
    """A declared :class:`IndexSpec` as a global secondary index of the table."""

    spec: IndexSpec

    @property
    def gsi(self) -> str:
        return f"{self.spec.collection}.{self.spec.name}"

    @property
    def pk_attr(self) -> str:
        return f"_ipk:{self.gsi}"

    @property
    def sk_attr(self) -> str:
        return f"_isk:{self.gsi}"

    @classmethod
    def of(cls, spec: IndexSpec) -> Index:
        index = cls(spec)
        if not 3 <= len(index.gsi) <= 255 or not set(index.gsi) <= _GSI_NAME_CHARS:
            raise ConfigurationError(
                f"index {spec.name!r} on {spec.collection!r} cannot be a DynamoDB index "
                "name: use letters, digits, '_', '.' and '-'"
            )
        return index

    def partition_value(self, ns: str, value: str) -> str:
        text = f"{ns}{SEP}{value}"
        if len(text.encode()) > MAX_PARTITION_KEY_BYTES:
            raise InvalidRequest(
                f"{self.spec.partition_field}: DynamoDB indexes values of at most "
                f"{MAX_PARTITION_KEY_BYTES - len(ns) - 1} bytes"
            )
        return text

    def sort_value(self, head: str, pk: str, sk: str) -> str:
        """The index sort key of an item whose sort field is ``head`` (``""`` without one).

        DynamoDB keeps 1,024 bytes of a sort key: the (pk, sk) tie-breaker is cut to
        fit, so items whose sort value and first key bytes are equal tie.
        """
        if len(head.encode()) >= MAX_SORT_KEY_BYTES:
            raise InvalidRequest(
                f"{self.spec.sort_field}: DynamoDB sorts an index by values of at most "
                f"{MAX_SORT_KEY_BYTES - 1} bytes"
            )
        text = f"{head}{_NUL}{pk}{_NUL}{sk}"
        raw = text.encode()
        if len(raw) <= MAX_SORT_KEY_BYTES:
            return text
        return raw[:MAX_SORT_KEY_BYTES].decode(errors="ignore")

    def attributes(self, ns: str, pk: str, sk: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """The index attributes of an item with these fields (absent: not indexed)."""
        found: dict[str, AttributeValue] = {}
        value = fields.get(self.spec.partition_field)
        if isinstance(value, str):
            found[self.pk_attr] = {"S": self.partition_value(ns, value)}
        sort = fields.get(self.spec.sort_field) if self.spec.sort_field else ""
        if isinstance(sort, str):
            found[self.sk_attr] = {"S": self.sort_value(sort, pk, sk)}
        return found


# --- the JSON codec -------------------------------------------------------------------

# DynamoDB numbers: up to 38 significant digits, magnitude 1E-130 to below 1E+126.
_MAX_DIGITS = 38
_MIN_EXPONENT = -130
_MAX_EXPONENT = 125


def encode(value: Any, path: str) -> AttributeValue:
    """A JSON value as a DynamoDB attribute value.

    Integers are written as plain digits and floats as their shortest repr with a
    decimal point or an exponent, so :func:`decode` gives back the same type.
    """
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        _check_number(Decimal(value), path)
        return {"N": str(value)}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidRequest(f"{path}: numbers must be finite")
        number = Decimal(repr(value))
        _check_number(number, path)
        return {"N": str(number)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list | tuple):
        return {"L": [encode(v, f"{path}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, Mapping):
        if "" in value:
            raise InvalidRequest(f"{path}: DynamoDB cannot store an object key that is empty")
        return {"M": {str(k): encode(v, f"{path}.{k}") for k, v in value.items()}}
    raise InvalidRequest(f"{path}: {type(value).__name__} is not a JSON value")


def _check_number(number: Decimal, path: str) -> None:
    if number.is_zero():
        return
    digits = "".join(map(str, number.as_tuple().digits)).strip("0")
    if len(digits) > _MAX_DIGITS or not _MIN_EXPONENT <= number.adjusted() <= _MAX_EXPONENT:
        raise InvalidRequest(
            f"{path}: DynamoDB numbers hold at most {_MAX_DIGITS} significant digits "
            f"and magnitudes from 1E{_MIN_EXPONENT} to 1E+{_MAX_EXPONENT + 1}"
        )


def decode(value: AttributeValue) -> Any:
    """A DynamoDB attribute value as JSON: plain digits as int, other numbers as float."""
    ((tag, inner),) = value.items()
    if tag == "S":
        return inner
    if tag == "N":
        return _from_number(inner)
    if tag == "BOOL":
        return bool(inner)
    if tag == "NULL":
        return None
    if tag == "M":
        return {k: decode(v) for k, v in inner.items()}
    if tag == "L":
        return [decode(v) for v in inner]
    if tag == "SS":
        return list(inner)
    if tag == "NS":
        return [_from_number(v) for v in inner]
    raise InvalidRequest(f"attribute type {tag} is not JSON")  # B and BS: not written here


def _from_number(text: str) -> int | float:
    if text.lstrip("-").isdigit():
        return int(text)
    return float(text)


def encode_fields(fields: Mapping[str, Any]) -> dict[str, AttributeValue]:
    return {name: encode(value, name) for name, value in fields.items()}


def decode_item(raw: Mapping[str, AttributeValue]) -> Item:
    """An :class:`Item` from a stored item (table or index query, projection ALL)."""
    pk = raw[PK]["S"].split(SEP, 2)[2]
    sk = raw[SK]["S"]
    if sk == EMPTY_SORT_KEY:
        sk = ""
    data = {name: decode(value) for name, value in raw.items() if not name.startswith("_")}
    expires = raw.get(EXPIRES)
    return Item(
        pk=pk,
        sk=sk,
        data=data,
        version=raw[VERSION]["S"] if VERSION in raw else "",
        expires_at=int(float(expires["N"])) if expires else None,
    )


def expired(raw: Mapping[str, AttributeValue], now: float) -> bool:
    expires = raw.get(EXPIRES)
    return expires is not None and float(expires["N"]) <= now


# --- cursors --------------------------------------------------------------------------


def encode_cursor(key: Mapping[str, AttributeValue]) -> str:
    """The provider cursor: the last returned item's key attributes, base64url JSON."""
    plain = {name: value["S"] for name, value in key.items()}
    raw = json.dumps(plain, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, names: frozenset[str]) -> dict[str, AttributeValue]:
    """The ``ExclusiveStartKey`` a cursor holds; it must name exactly ``names``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = json.loads(raw)
    except (ValueError, TypeError):
        raise InvalidCursor("malformed cursor") from None
    if (
        not isinstance(plain, dict)
        or set(plain) != names
        or not all(isinstance(v, str) for v in plain.values())
    ):
        raise InvalidCursor("malformed cursor")
    return {name: {"S": value} for name, value in plain.items()}
