"""Pagination cursors bound to a tenant and a query, signed with HMAC-SHA256.

The core wraps the provider's own cursor in an envelope naming the tenant and a
fingerprint of the query, and signs it. A cursor that was changed, that belongs to
another tenant, or that was issued for another query is refused with
:class:`tenantkit.errors.InvalidCursor` before any provider sees it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from tenantkit.errors import InvalidCursor

__all__ = ["CursorSigner"]

_VERSION = 1
_TAG_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorSigner:
    """Seals and opens cursors with one deployment-wide key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the cursor signing key must be at least 16 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "CursorSigner(key=**********)"

    def seal(self, tenant_id: str, query: Any, inner: str) -> str:
        payload = json.dumps(
            {"v": _VERSION, "t": tenant_id, "q": self._fingerprint(query), "c": inner},
            separators=(",", ":"),
        ).encode()
        return f"{_b64(payload)}.{_b64(self._tag(payload))}"

    def open(self, tenant_id: str, query: Any, cursor: str) -> str:
        try:
            body, _, tag = cursor.partition(".")
            payload = _unb64(body)
            valid = hmac.compare_digest(_unb64(tag), self._tag(payload))
        except (ValueError, TypeError, AttributeError):
            raise InvalidCursor("malformed cursor") from None
        if not valid:
            raise InvalidCursor("cursor signature does not match: it was altered or forged")
        data = json.loads(payload)
        if data.get("v") != _VERSION or data.get("t") != tenant_id:
            raise InvalidCursor("cursor belongs to another tenant")
        if data.get("q") != self._fingerprint(query):
            raise InvalidCursor("cursor was issued for a different query")
        inner = data.get("c")
        if not isinstance(inner, str):
            raise InvalidCursor("malformed cursor")
        return inner

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_TAG_BYTES]

    @staticmethod
    def _fingerprint(query: Any) -> str:
        raw = json.dumps(query, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(raw.encode()).hexdigest()[:24]
