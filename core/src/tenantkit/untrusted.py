"""Parsing JSON that comes from outside the deployment: bounded depth, one value per key.

Python's ``json`` recurses once per nesting level, so ``[[[...]]]`` a few thousand
levels deep raises ``RecursionError`` (a crash, not a refusal). :func:`loads` measures
the nesting first, without recursing, and refuses anything deeper than
:data:`MAX_JSON_DEPTH`; it also refuses an object that repeats a key (RFC 8259 leaves
the meaning to the parser: one reader takes the first value, another the last, and a
check made by one is bypassed through the other) and the non-standard constants
``NaN`` and ``Infinity``. Every refusal is an :class:`~tenantkit.errors.InvalidRequest`
naming what was parsed; the input itself is never quoted.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from tenantkit.errors import InvalidRequest

__all__ = ["MAX_JSON_DEPTH", "json_depth", "loads", "require_depth"]

#: The deepest nesting of arrays and objects accepted in untrusted JSON. JSON schemas of
#: tools and structured output stay far below it; Python's own parser fails near 1,000.
MAX_JSON_DEPTH = 64

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(text: str | bytes) -> int:
    """The deepest nesting of arrays and objects in ``text`` (0 for a scalar).

    Linear in the length of ``text`` and never recursive. Brackets inside strings do
    not count; on malformed JSON the figure is an estimate the parser will refuse
    anyway.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", data))
    return max(0, max(accumulate(_STEP[b] for b in brackets), default=0))


def require_depth(text: str | bytes, *, what: str, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse ``text`` when it nests deeper than ``max_depth``.

    Raises:
        InvalidRequest: ``what`` is nested too deeply.
    """
    if json_depth(text) > max_depth:
        raise InvalidRequest(f"{what} is nested deeper than {max_depth} levels")


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
    require_depth(text, what=what, max_depth=max_depth)
    try:
        # bytes are UTF-8 (RFC 8259, section 8.1): json.loads would guess UTF-16 or -32
        document = text.decode("utf-8") if isinstance(text, bytes) else text
        return json.loads(
            document, object_pairs_hook=_unique_keys(what), parse_constant=_no_constant(what)
        )
    except InvalidRequest:
        raise
    except (ValueError, UnicodeDecodeError, TypeError):
        raise InvalidRequest(f"{what} is not valid JSON") from None


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
