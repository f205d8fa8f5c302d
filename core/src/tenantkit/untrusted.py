"""Parsing JSON that comes from outside the deployment: bounded depth, one value per key.

Python's ``json`` recurses once per nesting level, so ``[[[...]]]`` a few thousand
levels deep raises ``RecursionError`` (a crash, not a refusal). :func:`loads` is the
one place that reads untrusted JSON: it refuses anything nested deeper than
:data:`MAX_JSON_DEPTH` (however deep: the parser's own recursion guard is turned into
the same refusal); it refuses an object that repeats a key (RFC 8259 leaves the
meaning to the parser: one reader takes the first value, another the last, and a
check made by one is bypassed through the other), the non-standard constants ``NaN``
and ``Infinity``, and bytes that are not UTF-8. Every refusal is an
:class:`~tenantkit.errors.InvalidRequest` naming what was parsed; the input itself is
never quoted.
"""

from __future__ import annotations

import json
from typing import Any

from tenantkit.errors import InvalidRequest

__all__ = ["MAX_JSON_DEPTH", "loads"]

#: The deepest nesting of arrays and objects accepted in untrusted JSON. JSON schemas of
#: tools and structured output stay far below it; Python's own parser fails near 1,000.
MAX_JSON_DEPTH = 64


def loads(text: str | bytes, *, what: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``text`` parsed as JSON, within the limits of the module documentation.

    Args:
        text: the JSON document (bytes must be UTF-8).
        what: names the input in the error (``"the request body"``, ``"messages[0]..."``).
        max_depth: the deepest nesting accepted.

    Raises:
        InvalidRequest: not JSON, not UTF-8, nested too deeply, a repeated key, or
            ``NaN`` / ``Infinity``.
    """
    try:
        # bytes are UTF-8 (RFC 8259, section 8.1): json.loads would guess UTF-16 or -32
        document = text.decode("utf-8") if isinstance(text, bytes) else text
        value = json.loads(
            document, object_pairs_hook=_unique_keys(what), parse_constant=_no_constant(what)
        )
    except InvalidRequest:
        raise
    except RecursionError:
        raise _too_deep(what, max_depth) from None
    except (ValueError, TypeError):  # UnicodeDecodeError is a ValueError
        raise InvalidRequest(f"{what} is not valid JSON") from None
    # Fewer brackets than the limit cannot nest deeper: most documents stop here.
    if document.count("[") + document.count("{") > max_depth and _deeper_than(value, max_depth):
        raise _too_deep(what, max_depth)
    return value


def _too_deep(what: str, max_depth: int) -> InvalidRequest:
    return InvalidRequest(f"{what} is nested deeper than {max_depth} levels")


def _deeper_than(value: Any, max_depth: int) -> bool:
    """Whether a parsed value nests deeper than ``max_depth``, level by level (no
    recursion)."""
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        below: list[Any] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            below.extend(child for child in children if isinstance(child, dict | list))
        level = below
    return False


def _unique_keys(what: str) -> Any:
    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        value = dict(pairs)
        if len(value) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    shown = key if len(key) <= 64 else key[:63] + "…"
                    raise InvalidRequest(f"{what} repeats the key {shown!r}")
                seen.add(key)
        return value

    return build


def _no_constant(what: str) -> Any:
    def refuse(name: str) -> Any:
        raise InvalidRequest(f"{what} is not valid JSON ({name} is not a JSON number)")

    return refuse
