"""HTTP responses, and their encoding as API Gateway proxy results.

A route returns a :class:`Response`, or anything JSON can hold (a dict, a list, a
pydantic model...), which becomes a ``200`` JSON response. The same result shape
serves REST APIs (payload 1.0) and HTTP APIs (payload 2.0)::

    {"statusCode": 200, "headers": {...}, "body": "...", "isBase64Encoded": false}
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_json

__all__ = ["JSON_TYPE", "Response", "to_json_bytes"]

JSON_TYPE = "application/json"


def to_json_bytes(value: Any) -> bytes:
    """JSON of dicts, lists, pydantic models, datetimes... (pydantic's encoder)."""
    if isinstance(value, BaseModel):
        return value.model_dump_json().encode()
    return to_json(value)


@dataclass
class Response:
    """An HTTP response.

    ``body`` is ``bytes`` or ``str`` (sent as is, with ``content_type``), ``None``
    (no body), or a value encoded as JSON.
    """

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None

    @classmethod
    def empty(cls, status: int = 204, headers: dict[str, str] | None = None) -> Response:
        return cls(None, status, dict(headers or {}))

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        """The body's bytes and the headers, with ``content-type`` filled in."""
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.body is None:
            return b"", headers
        if isinstance(self.body, bytes | bytearray):
            data = bytes(self.body)
            headers.setdefault("content-type", self.content_type or "application/octet-stream")
        elif isinstance(self.body, str):
            data = self.body.encode()
            headers.setdefault("content-type", self.content_type or "text/plain; charset=utf-8")
        else:
            data = to_json_bytes(self.body)
            headers.setdefault("content-type", self.content_type or JSON_TYPE)
        return data, headers

    def to_proxy_result(self, extra_headers: dict[str, str] | None = None) -> dict[str, Any]:
        """The Lambda proxy integration result."""
        data, headers = self.encoded()
        if extra_headers:
            for name, value in extra_headers.items():
                headers.setdefault(name.lower(), value)
        content_type = headers.get("content-type", "")
        textual = content_type.startswith("text/") or "json" in content_type or not data
        if textual:
            try:
                return {
                    "statusCode": self.status,
                    "headers": headers,
                    "body": data.decode(),
                    "isBase64Encoded": False,
                }
            except UnicodeDecodeError:
                pass
        return {
            "statusCode": self.status,
            "headers": headers,
            "body": base64.b64encode(data).decode(),
            "isBase64Encoded": True,
        }
