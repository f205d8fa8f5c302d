"""V4 signed URLs, as documented at
https://cloud.google.com/storage/docs/access-control/signing-urls-manually
(canonical request, string to sign, ``GOOG4-RSA-SHA256``).

The tests compare these URLs with ``google-cloud-storage``'s own
``generate_signed_url(version="v4")`` for the same instant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from urllib.parse import quote, urlsplit

__all__ = ["signed_url"]

ALGORITHM = "GOOG4-RSA-SHA256"


def _encode(value: str) -> str:
    return quote(value, safe="~")


def signed_url(
    *,
    endpoint: str,
    bucket: str,
    name: str,
    method: str,
    expires_in: int,
    email: str,
    sign: Callable[[bytes], bytes],
    now: datetime,
    headers: Mapping[str, str] | None = None,
) -> str:
    """A URL that lets anyone send ``method`` to the object for ``expires_in`` seconds
    from ``now`` (UTC). Every header in ``headers`` is signed, so the request must
    send it with that value."""
    timestamp = now.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{timestamp[:8]}/auto/storage/goog4_request"
    resource = f"/{bucket}/{quote(name, safe='/~')}"
    signed = {"host": urlsplit(endpoint).netloc}
    for header, value in (headers or {}).items():
        signed[header.lower()] = " ".join(value.split())
    ordered = sorted(signed.items())
    signed_headers = ";".join(header for header, _ in ordered)
    query = {
        "X-Goog-Algorithm": ALGORITHM,
        "X-Goog-Credential": f"{email}/{scope}",
        "X-Goog-Date": timestamp,
        "X-Goog-Expires": str(expires_in),
        "X-Goog-SignedHeaders": signed_headers,
    }
    canonical_query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(query.items()))
    canonical_request = "\n".join(
        [
            method,
            resource,
            canonical_query,
            "".join(f"{header}:{value}\n" for header, value in ordered),
            signed_headers,
            "UNSIGNED-PAYLOAD",
        ]
    )
    string_to_sign = "\n".join(
        [
            ALGORITHM,
            timestamp,
            scope,
            hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
        ]
    )
    signature = sign(string_to_sign.encode("ascii")).hex()
    return f"{endpoint}{resource}?{canonical_query}&X-Goog-Signature={signature}"
