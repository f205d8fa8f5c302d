"""How each request is authorized: an ``httpx.Auth`` per mode.

* :class:`SharedKeyAuth` signs each request with the account key (``Authorization:
  SharedKey account:signature``), dated with ``x-ms-date``.
* :class:`SasAuth` adds a SAS token's fields to each request's query.
* Entra ID is :class:`tenantkit.azure.EntraToken`, a bearer token it fetches and renews.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Generator

import httpx

from tenantkit.azure import request_date
from tenantkit_store_azure_blob._signing import sas_pairs, shared_key_string, sign

__all__ = ["SasAuth", "SharedKeyAuth"]


class SharedKeyAuth(httpx.Auth):
    """Signs each request with the storage account's shared key."""

    def __init__(self, account: str, account_key: str) -> None:
        try:
            self._key = base64.b64decode(account_key, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("account_key is not base64") from None
        self._account = account

    def __repr__(self) -> str:
        return f"SharedKeyAuth(account={self._account!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["x-ms-date"] = request_date()
        raw_path = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
        text = shared_key_string(
            request.method,
            self._account,
            raw_path,
            request.url.params.multi_items(),
            request.headers,
        )
        request.headers["Authorization"] = f"SharedKey {self._account}:{sign(self._key, text)}"
        yield request


class SasAuth(httpx.Auth):
    """Adds a SAS token's fields to each request's query string."""

    def __init__(self, token: str) -> None:
        self._pairs = sas_pairs(token)

    def __repr__(self) -> str:
        return "SasAuth()"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        params = request.url.params
        for name, value in self._pairs:
            params = params.add(name, value)
        request.url = request.url.copy_with(params=params)
        yield request
