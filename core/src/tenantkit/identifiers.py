"""The formats of tenant ids, collection and field names, keys and storage keys.

Tenant ids are the root of isolation, so their format is fixed: 1 to 63 characters,
lowercase ASCII letters, digits and hyphens, starting and ending with a letter or
digit (a DNS label). They can never contain ``/``, ``#``, ``:``, ``.`` or NUL, the
separators providers use to keep tenants apart, so no tenant's scope is a prefix
of another's once a separator follows it (``abc/`` never matches ``abc-1/``).

One id of that format is reserved: :data:`RESERVED_NAMESPACE` names the namespace of
data that belongs to no tenant (the control plane's tenant registry). Every provider
can store it like a tenant's, and it is never accepted as a tenant id.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, TypeGuard

from tenantkit.errors import InvalidKey, InvalidRequest

__all__ = [
    "COLLECTION_NAME",
    "FIELD_NAME",
    "MAX_ITEM_KEY_BYTES",
    "MAX_STORAGE_KEY_BYTES",
    "RESERVED_NAMESPACE",
    "TENANT_ID",
    "check_collection",
    "check_field_name",
    "check_item_key",
    "check_json_value",
    "check_namespace",
    "check_storage_key",
    "check_storage_prefix",
    "check_tenant_id",
    "is_tenant_id",
]

TENANT_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
COLLECTION_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
MAX_ITEM_KEY_BYTES = 1024
MAX_STORAGE_KEY_BYTES = 1024
RESERVED_NAMESPACE = "tenantkit-control-plane"
_RESERVED_FIELDS = frozenset({"pk", "sk"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_tenant_id(value: object) -> TypeGuard[str]:
    return (
        isinstance(value, str)
        and TENANT_ID.fullmatch(value) is not None
        and value != RESERVED_NAMESPACE
    )


def check_tenant_id(value: object) -> str:
    if value == RESERVED_NAMESPACE:
        raise InvalidRequest(f"tenant id {value!r} is reserved")
    if not is_tenant_id(value):
        raise InvalidRequest(
            f"invalid tenant id {value!r}: use 1-63 lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit"
        )
    return str(value)


def check_namespace(value: object) -> str:
    """A provider namespace: a tenant id, or :data:`RESERVED_NAMESPACE`."""
    if value == RESERVED_NAMESPACE:
        return RESERVED_NAMESPACE
    return check_tenant_id(value)


def check_collection(name: object) -> str:
    if not isinstance(name, str) or not COLLECTION_NAME.fullmatch(name):
        raise InvalidRequest(
            f"invalid collection name {name!r}: use 1-63 lowercase letters, digits and "
            "underscores, starting with a letter"
        )
    return name


def check_field_name(name: object, *, where: str = "field") -> str:
    if not isinstance(name, str) or not FIELD_NAME.fullmatch(name) or name in _RESERVED_FIELDS:
        raise InvalidRequest(
            f"invalid {where} name {name!r}: use 1-64 letters, digits and underscores, "
            "starting with a letter; 'pk' and 'sk' are the key"
        )
    return name


def check_item_key(value: object, *, field: str) -> str:
    """A partition or sort key: a string without NUL of at most 1,024 UTF-8 bytes."""
    if not isinstance(value, str):
        raise InvalidKey(f"{field} must be a string, got {type(value).__name__}")
    if "\x00" in value:
        raise InvalidKey(f"{field} must not contain NUL characters")
    if not _is_unicode(value):
        raise InvalidKey(f"{field} must be valid Unicode text (it holds a lone surrogate)")
    if len(value.encode()) > MAX_ITEM_KEY_BYTES:
        raise InvalidKey(f"{field} is longer than {MAX_ITEM_KEY_BYTES} bytes")
    return value


def check_json_value(value: Any, *, path: str) -> None:
    """A JSON value that every provider stores verbatim: no NUL in strings, finite numbers."""
    problem = _json_problem(value)
    if problem is not None:
        where, message = problem
        raise InvalidRequest(f"{path}{where}: {message}")


def _json_problem(value: Any) -> tuple[str, str] | None:
    """Where (a path suffix) and what is wrong in ``value``, or ``None``.

    The path is built only when something is wrong: this runs on every write.
    """
    if value is None or isinstance(value, bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else ("", "numbers must be finite")
    if isinstance(value, str):
        if "\x00" in value:
            return "", "strings must not contain NUL characters"
        if not _is_unicode(value):
            return "", "strings must be valid Unicode (no lone surrogates)"
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            problem = _json_problem(item)
            if problem is not None:
                return f"[{i}]{problem[0]}", problem[1]
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return "", "object keys must be strings"
            if "\x00" in key or not _is_unicode(key):
                return "", "object keys must be valid Unicode without NUL characters"
            problem = _json_problem(item)
            if problem is not None:
                return f".{key}{problem[0]}", problem[1]
        return None
    return "", f"{type(value).__name__} is not a JSON value"


def _is_unicode(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _check_key_text(key: object, what: str) -> str:
    if not isinstance(key, str):
        raise InvalidKey(f"{what} must be a string, got {type(key).__name__}")
    if _CONTROL.search(key):
        raise InvalidKey(f"{what} {key!r} contains a control character")
    if "\\" in key:
        raise InvalidKey(f"{what} {key!r} contains a backslash")
    if not _is_unicode(key):
        raise InvalidKey(f"{what} must be valid Unicode text (it holds a lone surrogate)")
    if key.startswith("/"):
        raise InvalidKey(f"{what} {key!r} is absolute; keys are relative to the tenant")
    if len(key.encode()) > MAX_STORAGE_KEY_BYTES - 64:
        raise InvalidKey(f"{what} is longer than {MAX_STORAGE_KEY_BYTES - 64} bytes")
    segments = key.split("/")
    if any(s in (".", "..") for s in segments):
        raise InvalidKey(f"{what} {key!r} contains a '.' or '..' segment")
    return key


def check_storage_key(key: object) -> str:
    """An object key: relative, ``/``-separated, no empty, ``.`` or ``..`` segment,
    no control character or backslash, not ending in ``/``."""
    text = _check_key_text(key, "storage key")
    if not text:
        raise InvalidKey("storage key is empty")
    if "" in text.split("/"):
        raise InvalidKey(f"storage key {text!r} has an empty segment ('//' or a trailing '/')")
    return text


def check_storage_prefix(prefix: object) -> str:
    """A listing prefix: like a key, but may be empty or end with ``/``."""
    text = _check_key_text(prefix, "storage prefix")
    if "" in text.split("/")[:-1]:
        raise InvalidKey(f"storage prefix {text!r} has an empty segment ('//')")
    return text
