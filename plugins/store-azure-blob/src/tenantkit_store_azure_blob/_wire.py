"""The Blob service's wire formats: error bodies, listings, block lists, delegation keys.

* Errors: https://learn.microsoft.com/rest/api/storageservices/status-and-error-codes2
  and https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes
* List Blobs: https://learn.microsoft.com/rest/api/storageservices/list-blobs
* Put Block List: https://learn.microsoft.com/rest/api/storageservices/put-block-list
* Get User Delegation Key: https://learn.microsoft.com/rest/api/storageservices/get-user-delegation-key

XML comes from the operator's configured endpoint; expat (2.4.1 and later, as every
supported Python ships) refuses entity-expansion attacks.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from xml.sax.saxutils import escape

import httpx

from tenantkit.errors import (
    AuthenticationError,
    ConditionFailed,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    TenantkitError,
    Throttled,
    Timeout,
)
from tenantkit.http import ErrorInfo
from tenantkit.storage import ObjectInfo
from tenantkit_store_azure_blob._signing import UserDelegationKey

__all__ = [
    "CODES",
    "META_PREFIX",
    "BlobListing",
    "block_list_xml",
    "delegation_key_request",
    "object_info",
    "parse_delegation_key",
    "parse_error",
    "parse_listing",
]

META_PREFIX = "x-ms-meta-"

#: The service's error codes that the HTTP status alone does not tell apart.
CODES: Mapping[str, type[TenantkitError]] = {
    "BlobNotFound": NotFound,
    "ContainerNotFound": NotFound,
    "CannotVerifyCopySource": NotFound,
    "ConditionNotMet": ConditionFailed,
    "SourceConditionNotMet": ConditionFailed,
    "TargetConditionNotMet": ConditionFailed,
    "AuthenticationFailed": AuthenticationError,
    "InvalidAuthenticationInfo": AuthenticationError,
    "AuthorizationFailure": PermissionDenied,
    "AuthorizationPermissionMismatch": PermissionDenied,
    "AuthorizationResourceTypeMismatch": PermissionDenied,
    "InsufficientAccountPermissions": PermissionDenied,
    "AccountIsDisabled": PermissionDenied,
    "ServerBusy": Throttled,
    "OperationTimedOut": Timeout,
    "InvalidRange": InvalidRequest,
    # Committing a block list discards the blob's other uncommitted blocks: a concurrent
    # upload to the same key that commits first makes ours fail here (a conflict).
    "InvalidBlockList": ConditionFailed,
    "RequestBodyTooLarge": InvalidRequest,
}


def parse_error(response: httpx.Response) -> ErrorInfo:
    """The error code (``x-ms-error-code``, else the body's ``<Code>``) and message."""
    code = response.headers.get("x-ms-error-code") or None
    message = ""
    body = response.content
    if body:
        try:
            root = ET.fromstring(body)  # noqa: S314 - see the module docstring
        except ET.ParseError:
            message = response.text[:300]
        else:
            code = code or (root.findtext("Code") or None)
            message = (root.findtext("Message") or "").split("\n", 1)[0]
    return ErrorInfo(code=code, message=message or (code or ""))


@dataclass(frozen=True)
class BlobListing:
    """One page of List Blobs: (name, properties) pairs, prefixes and the next marker."""

    blobs: Sequence[tuple[str, Mapping[str, str]]]
    prefixes: Sequence[str]
    next_marker: str | None


def parse_listing(body: bytes) -> BlobListing:
    root = ET.fromstring(body)  # noqa: S314 - see the module docstring
    blobs: list[tuple[str, Mapping[str, str]]] = []
    prefixes: list[str] = []
    container = root.find("Blobs")
    if container is not None:
        for element in container:
            name = element.findtext("Name") or ""
            if element.tag == "Blob":
                props = element.find("Properties")
                fields = {p.tag: p.text or "" for p in props} if props is not None else {}
                blobs.append((name, fields))
            elif element.tag == "BlobPrefix":
                prefixes.append(name)
    return BlobListing(blobs, prefixes, root.findtext("NextMarker") or None)


def block_list_xml(block_ids: Sequence[str]) -> bytes:
    latest = "".join(f"<Latest>{escape(block_id)}</Latest>" for block_id in block_ids)
    return f'<?xml version="1.0" encoding="utf-8"?><BlockList>{latest}</BlockList>'.encode()


def delegation_key_request(start: str, expiry: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<KeyInfo><Start>{start}</Start><Expiry>{expiry}</Expiry></KeyInfo>"
    ).encode()


def parse_delegation_key(body: bytes) -> UserDelegationKey:
    root = ET.fromstring(body)  # noqa: S314 - see the module docstring

    def field(name: str) -> str:
        value = root.findtext(name)
        if not value:
            raise ValueError(f"the user delegation key has no {name}")
        return value

    return UserDelegationKey(
        signed_oid=field("SignedOid"),
        signed_tid=field("SignedTid"),
        signed_start=field("SignedStart"),
        signed_expiry=field("SignedExpiry"),
        signed_service=field("SignedService"),
        signed_version=field("SignedVersion"),
        value=field("Value"),
    )


def object_info(key: str, headers: Mapping[str, str]) -> ObjectInfo:
    """An object's description from Get Blob Properties / Get Blob response headers."""
    metadata = {
        name[len(META_PREFIX) :].lower(): value
        for name, value in headers.items()
        if name.lower().startswith(META_PREFIX)
    }
    length = headers.get("content-length", "0")
    content_range = headers.get("content-range")
    if content_range and "/" in content_range:
        length = content_range.rsplit("/", 1)[1]
    return ObjectInfo(
        key=key,
        size=int(length),
        etag=etag(headers.get("etag")),
        content_type=headers.get("content-type") or None,
        last_modified=http_date(headers.get("last-modified")),
        metadata=metadata,
    )


def listed_info(key: str, properties: Mapping[str, str]) -> ObjectInfo:
    return ObjectInfo(
        key=key,
        size=int(properties.get("Content-Length") or 0),
        etag=etag(properties.get("Etag")),
        content_type=properties.get("Content-Type") or None,
        last_modified=http_date(properties.get("Last-Modified")),
    )


def etag(value: str | None) -> str | None:
    return value.strip('"') if value else None


_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def http_date(value: str | None) -> datetime | None:
    """An HTTP date. The service writes RFC 1123 in GMT (``Wed, 04 Dec 2024 17:20:00
    GMT``), read here directly; any other form goes to the general parser."""
    if not value:
        return None
    parts = value.split(" ")
    if len(parts) == 6 and parts[5] == "GMT" and parts[2] in _MONTHS:
        clock = parts[4].split(":")
        if len(clock) == 3 and all(p.isdigit() for p in (parts[1], parts[3], *clock)):
            try:
                return datetime(
                    int(parts[3]), _MONTHS[parts[2]], int(parts[1]),
                    int(clock[0]), int(clock[1]), int(clock[2]), tzinfo=UTC,
                )  # fmt: skip
            except ValueError:
                return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
