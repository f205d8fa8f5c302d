"""The Cloud Storage JSON API's wire format: error bodies, object resources, URLs.

Error bodies (https://cloud.google.com/storage/docs/json_api/v1/status-codes) are
``{"error": {"code", "message", "errors": [{"reason", ...}]}}``; the OAuth 2.0 and STS
token endpoints answer ``{"error": "invalid_grant", "error_description": ...}``
(RFC 6749 section 5.2).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tenantkit.errors import (
    AuthenticationError,
    ConditionFailed,
    InvalidRequest,
    NotFound,
    RateLimited,
    TenantkitError,
)
from tenantkit.http import ErrorInfo
from tenantkit.storage import ObjectInfo

if TYPE_CHECKING:
    import httpx

PROVIDER = "gcs"

#: The ``reason`` values of Cloud Storage errors and the OAuth error codes, mapped to
#: the taxonomy where the HTTP status alone does not say it.
CODES: dict[str, type[TenantkitError]] = {
    "conditionNotMet": ConditionFailed,
    "rateLimitExceeded": RateLimited,
    "userRateLimitExceeded": RateLimited,
    "notFound": NotFound,
    "invalidRange": InvalidRequest,
    # RFC 6749 section 5.2 / RFC 8693 (token endpoint and STS)
    "invalid_grant": AuthenticationError,
    "invalid_client": AuthenticationError,
    "unauthorized_client": AuthenticationError,
}

REQUEST_ID_HEADER = "x-guploader-uploadid"


def parse_error(response: httpx.Response) -> ErrorInfo:
    """The code and message of a Cloud Storage, IAM, STS or OAuth error body."""
    try:
        body = response.json()
    except ValueError:
        return ErrorInfo(message=response.text[:500])
    if not isinstance(body, dict):
        return ErrorInfo()
    error = body.get("error")
    if isinstance(error, str):  # OAuth 2.0 / STS
        description = body.get("error_description")
        return ErrorInfo(code=error, message=description if isinstance(description, str) else "")
    if not isinstance(error, dict):
        return ErrorInfo()
    message = error.get("message") if isinstance(error.get("message"), str) else ""
    code: str | None = None
    details = error.get("errors")
    if isinstance(details, list) and details and isinstance(details[0], dict):
        reason = details[0].get("reason")
        code = reason if isinstance(reason, str) else None
    if code is None and isinstance(error.get("status"), str):
        code = error["status"]
    return ErrorInfo(code=code, message=str(message))


def object_path(bucket: str, name: str) -> str:
    """The JSON API path of an object (the name percent-encoded as one segment)."""
    return f"/storage/v1/b/{bucket}/o/{quote(name, safe='')}"


def object_info(key: str, resource: dict[str, Any]) -> ObjectInfo:
    """An object resource (https://cloud.google.com/storage/docs/json_api/v1/objects)
    as an :class:`ObjectInfo` for ``key``."""
    return ObjectInfo(**object_fields(key, resource))


def object_fields(key: str, resource: dict[str, Any]) -> dict[str, Any]:
    """The :class:`ObjectInfo` fields of an object resource, not yet validated (a
    listing validates all of its objects in one call)."""
    metadata = resource.get("metadata")
    return {
        "key": key,
        "size": int(resource.get("size", 0)),
        "etag": resource.get("etag") or resource.get("md5Hash") or None,
        "content_type": resource.get("contentType") or None,
        "last_modified": _timestamp(resource.get("updated")),
        "metadata": {str(k): str(v) for k, v in metadata.items()}
        if isinstance(metadata, dict)
        else {},
    }


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
