"""Azure Storage signatures: SharedKey request signing, service SAS and user delegation SAS.

Each string to sign follows the service's documentation exactly, and the tests check
each against the official SDK's own signing code:

* SharedKey: https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key
* Service SAS: https://learn.microsoft.com/rest/api/storageservices/create-service-sas
* User delegation SAS: https://learn.microsoft.com/rest/api/storageservices/create-user-delegation-sas
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

__all__ = [
    "API_VERSION",
    "UserDelegationKey",
    "delegation_sas",
    "format_time",
    "service_sas",
    "shared_key_string",
    "sign",
]

#: The Blob service REST version every request sends and every SAS is signed for
#: (Entra ID needs 2017-11-09 or later; the user delegation SAS layout below is 2026-04-06's).
API_VERSION = "2026-06-06"

#: The request headers SharedKey signs, in order (``Range`` as sent; we send ``x-ms-range``).
_SIGNED_HEADERS = (
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
)


def sign(key: bytes, text: str) -> str:
    """Base64 of HMAC-SHA256 of ``text`` under ``key``."""
    return base64.b64encode(hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()).decode()


def format_time(moment: datetime) -> str:
    """ISO 8601 UTC to the second, as SAS fields carry it (``2026-01-31T12:00:00Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shared_key_string(
    method: str,
    account: str,
    raw_path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
) -> str:
    """The SharedKey string to sign of one request (service version 2009-09-19 and later).

    ``raw_path`` is the path as sent (percent-encoded); ``query`` the decoded query
    pairs; ``headers`` the request's headers (names in any case).
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    if lowered.get("content-length") == "0":
        lowered.pop("content-length")
    standard = "".join(lowered.get(name, "") + "\n" for name in _SIGNED_HEADERS)
    ms_headers = sorted(
        ((name, value) for name, value in lowered.items() if name.startswith("x-ms-")),
        key=lambda item: _collation_key(item[0]),
    )
    canonical_headers = "".join(f"{name}:{value.strip()}\n" for name, value in ms_headers)
    values: dict[str, list[str]] = {}
    for name, value in query:
        values.setdefault(name.lower(), []).append(value)
    canonical_query = "".join(
        f"\n{name}:{','.join(sorted(values[name]))}" for name in sorted(values)
    )
    return f"{method.upper()}\n{standard}{canonical_headers}/{account}{raw_path}{canonical_query}"


def _collation_key(name: str) -> tuple[str, str]:
    """Sort key for ``x-ms-*`` header names as the service compares them: hyphens are
    ignored at first and ``_`` sorts before digits and letters, ties broken by the name.
    Header names here are lowercase letters, digits, ``-`` and ``_`` only."""
    return name.replace("-", "").replace("_", "!"), name


@dataclass(frozen=True)
class UserDelegationKey:
    """A key from Get User Delegation Key, which signs user delegation SAS."""

    signed_oid: str
    signed_tid: str
    signed_start: str
    signed_expiry: str
    signed_service: str
    signed_version: str
    value: str

    def __repr__(self) -> str:
        return f"UserDelegationKey(signed_oid={self.signed_oid!r}, expiry={self.signed_expiry!r})"

    @property
    def expiry(self) -> datetime:
        return datetime.strptime(self.signed_expiry, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class SasFields:
    """The fields of a blob SAS that this provider sets."""

    account: str
    container: str
    blob: str
    permissions: str
    expiry: str
    version: str = API_VERSION
    protocol: str | None = None

    @property
    def canonical_resource(self) -> str:
        return f"/blob/{self.account}/{self.container}/{self.blob}"


def service_sas(fields: SasFields, account_key: str) -> str:
    """A service SAS for one blob, signed with the account key (version 2020-12-06+).

    The string to sign is ``sp, st, se, resource, si, sip, spr, sv, sr, snapshot time,
    ses, rscc, rscd, rsce, rscl, rsct``, one per line; unused fields are empty.
    """
    text = "\n".join(
        [
            fields.permissions,
            "",
            fields.expiry,
            fields.canonical_resource,
            "",
            "",
            fields.protocol or "",
            fields.version,
            "b",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ]
    )
    signature = sign(base64.b64decode(account_key), text)
    return _token(
        [
            ("se", fields.expiry),
            ("sp", fields.permissions),
            ("spr", fields.protocol),
            ("sv", fields.version),
            ("sr", "b"),
            ("sig", signature),
        ]
    )


def delegation_sas(fields: SasFields, key: UserDelegationKey) -> str:
    """A user delegation SAS for one blob, signed with a user delegation key
    (version 2026-04-06+: the key's fields, then the delegated-user, request header and
    request query fields, all empty here)."""
    text = "\n".join(
        [
            fields.permissions,
            "",
            fields.expiry,
            fields.canonical_resource,
            key.signed_oid,
            key.signed_tid,
            key.signed_start,
            key.signed_expiry,
            key.signed_service,
            key.signed_version,
            "",  # saoid
            "",  # suoid
            "",  # scid
            "",  # skdutid
            "",  # sduoid
            "",  # sip
            fields.protocol or "",
            fields.version,
            "b",
            "",  # snapshot time
            "",  # ses
            "",  # srh
            "",  # srq
            "",  # rscc
            "",  # rscd
            "",  # rsce
            "",  # rscl
            "",  # rsct
        ]
    )
    signature = sign(base64.b64decode(key.value), text)
    return _token(
        [
            ("se", fields.expiry),
            ("sp", fields.permissions),
            ("spr", fields.protocol),
            ("sv", fields.version),
            ("sr", "b"),
            ("skoid", key.signed_oid),
            ("sktid", key.signed_tid),
            ("skt", key.signed_start),
            ("ske", key.signed_expiry),
            ("sks", key.signed_service),
            ("skv", key.signed_version),
            ("sig", signature),
        ]
    )


def _token(pairs: list[tuple[str, str | None]]) -> str:
    return "&".join(f"{name}={quote(value, safe='')}" for name, value in pairs if value)


def sas_pairs(token: str) -> list[tuple[str, str]]:
    """The decoded ``name=value`` pairs of a SAS token."""
    pairs = []
    for part in token.lstrip("?").split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((name, unquote(value)))
    return pairs
