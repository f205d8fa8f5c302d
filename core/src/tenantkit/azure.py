"""Azure plumbing shared by the Azure provider plugins (Cosmos DB, Blob Storage).

:class:`EntraToken` is the Microsoft Entra ID access token of a service principal,
obtained with the OAuth 2.0 client credentials grant
(https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow):
``POST {authority}/{tenant}/oauth2/v2.0/token`` with ``grant_type=client_credentials``,
``client_id``, ``client_secret`` and ``scope``; the answer carries ``access_token``
and ``expires_in`` (seconds). It is an ``httpx.Auth``: hand it to
:class:`tenantkit.http.ProviderHTTP` and every request carries
``Authorization: Bearer …``. The token is cached until shortly before it expires,
fetched by one caller at a time, and fetched again once when the service answers 401
(a token revoked early).

:func:`request_date` is the ``x-ms-date`` header value every signed request carries.

httpx is imported when a token is first fetched, not when this module is imported.
"""

from __future__ import annotations

import email.utils
import re
import threading
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

import httpx

from tenantkit.errors import (
    AuthenticationError,
    InvalidRequest,
    ProviderUnavailable,
    TenantkitError,
)
from tenantkit.http import ErrorInfo, ProviderHTTP

if TYPE_CHECKING:
    import ssl

__all__ = ["DEFAULT_AUTHORITY", "EntraToken", "request_date"]

#: The public cloud's login endpoint (sovereign clouds have their own).
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"

#: A directory (tenant) id: a GUID or a verified domain name; it goes into the URL path.
_DIRECTORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253}[A-Za-z0-9])?")

#: Error codes of the token endpoint (RFC 6749 section 5.2 and Entra's own).
_CODES: dict[str, type[TenantkitError]] = {
    "invalid_client": AuthenticationError,
    "unauthorized_client": AuthenticationError,
    "invalid_grant": AuthenticationError,
    "invalid_request": InvalidRequest,
    "invalid_scope": InvalidRequest,
    "temporarily_unavailable": ProviderUnavailable,
}


_date: tuple[int, str] = (0, "")


def request_date() -> str:
    """Now, as the ``x-ms-date`` request header carries it (RFC 1123, GMT).

    The text changes once a second; it is formatted once a second, not per request.
    """
    global _date
    second = int(time.time())
    cached = _date
    if cached[0] != second:
        cached = _date = (second, email.utils.formatdate(second, usegmt=True))
    return cached[1]


def _parse_error(response: httpx.Response) -> ErrorInfo:
    body = response.json()
    return ErrorInfo(code=body.get("error"), message=body.get("error_description") or "")


class EntraToken(httpx.Auth):
    """The bearer token of an Entra ID service principal, as an ``httpx.Auth``.

    Args:
        provider: the provider name that errors carry (``"cosmos"``, ``"azure-blob"``).
        tenant_id: the Entra directory (tenant) id of the service principal.
        client_id: the application (client) id.
        client_secret: the client secret; it never appears in an error or a repr.
        scope: the resource's ``.default`` scope (``https://storage.azure.com/.default``).
        authority: the login endpoint.
        refresh_margin: seconds before expiry at which the token is fetched again.
        clock: the time source (tests).
        verify: a TLS context for the login endpoint (a test server's CA).
    """

    def __init__(
        self,
        provider: str,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        scope: str,
        *,
        authority: str = DEFAULT_AUTHORITY,
        refresh_margin: float = 300.0,
        clock: Callable[[], float] = time.time,
        verify: ssl.SSLContext | None = None,
    ) -> None:
        if not _DIRECTORY.fullmatch(tenant_id):
            raise InvalidRequest(
                "tenant_id must be a directory GUID or domain name", provider=provider
            )
        self._provider = provider
        self._path = f"/{tenant_id}/oauth2/v2.0/token"
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": scope,
        }
        self._refresh_margin = refresh_margin
        self._clock = clock
        self._http = ProviderHTTP(
            provider,
            authority.rstrip("/"),
            parse_error=_parse_error,
            codes=_CODES,
            request_id_header="x-ms-request-id",
            secrets=[client_secret],
            verify=verify,
        )
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def __repr__(self) -> str:
        return f"EntraToken({self._provider!r}, client_id={self._form['client_id']!r})"

    def token(self) -> str:
        """A valid access token: the cached one, or a new one when it is about to expire."""
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at - self._refresh_margin:
                self._token, self._expires_at = self._fetch()
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (the service refused it); the next call fetches a new one."""
        with self._lock:
            if self._token == token:
                self._token = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            self.invalidate(token)
            request.headers["Authorization"] = f"Bearer {self.token()}"
            yield request

    def close(self) -> None:
        """Close the connection to the login endpoint."""
        self._http.close()

    def _fetch(self) -> tuple[str, float]:
        started = self._clock()
        response = self._http.request("POST", self._path, data=self._form)
        try:
            body = response.json()
            token = body["access_token"]
            expires_in = float(body["expires_in"])
        except (ValueError, KeyError, TypeError):
            raise ProviderUnavailable(
                "the Entra ID token endpoint answered without a usable token",
                provider=self._provider,
                status=response.status_code,
            ) from None
        if not isinstance(token, str) or not token:
            raise ProviderUnavailable(
                "the Entra ID token endpoint answered an empty token", provider=self._provider
            )
        return token, started + expires_in
