"""The Cosmos DB REST wire: request signing, error bodies, status and substatus codes.

Reference: https://learn.microsoft.com/rest/api/cosmos-db/ ("Access control on Cosmos
DB resources", "Common Azure Cosmos DB REST request headers", "HTTP status codes").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Generator
from typing import Any
from urllib.parse import quote, unquote

import httpx

from tenantkit.azure import EntraToken, request_date
from tenantkit.errors import (
    ConditionFailed,
    ConfigurationError,
    ProviderUnavailable,
    TenantkitError,
)
from tenantkit.http import ErrorInfo

API_VERSION = "2020-07-15"
ENTRA_SCOPE = "https://cosmos.azure.com/.default"
REQUEST_ID_HEADER = "x-ms-activity-id"
SESSION_HEADER = "x-ms-session-token"
# Characters the SDKs leave unquoted in the Authorization header.
_SAFE = "-_.!~*'()"

#: Cosmos's error codes (the body's ``code``), beyond what the HTTP status says.
CODES: dict[str, type[TenantkitError]] = {
    "RetryWith": ProviderUnavailable,  # 449: a transient write conflict, safe to retry
    "Gone": ProviderUnavailable,  # 410: a partition moved; the request may be repeated
    "PreconditionFailed": ConditionFailed,
    "Conflict": ConditionFailed,
}

#: The code of a status whose body does not name one.
_STATUS_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    408: "RequestTimeout",
    409: "Conflict",
    410: "Gone",
    412: "PreconditionFailed",
    413: "RequestEntityTooLarge",
    429: "TooManyRequests",
    449: "RetryWith",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}


class Codes(dict[str, type[TenantkitError]]):
    """The code table, looked up by the code without its substatus (``"Code/1002"``)."""

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.split("/", 1)[0], default)


def parse_error(response: httpx.Response) -> ErrorInfo:
    """Cosmos's error body ``{"code": ..., "message": ...}``; the substatus
    (``x-ms-substatus``) is kept on the code: ``"PreconditionFailed/1002"``."""
    code: str | None = None
    message: str = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("code"), str):
            code = body["code"]
        if isinstance(body.get("message"), str):
            message = body["message"]
    code = code or _STATUS_CODES.get(response.status_code)
    substatus = response.headers.get("x-ms-substatus")
    if code and substatus and substatus != "0":
        code = f"{code}/{substatus}"
    return ErrorInfo(code=code, message=message.split("\r\nActivityId:", 1)[0])


def substatus(error: TenantkitError) -> int | None:
    """The ``x-ms-substatus`` an error carries on its code, if any."""
    if error.code and "/" in error.code:
        tail = error.code.split("/", 1)[1]
        return int(tail) if tail.isdigit() else None
    return None


def resource_of(path: str) -> tuple[str, str]:
    """The resource type and resource link the signature covers, from a request path.

    ``/dbs/d/colls/c/docs`` (a feed) is type ``docs`` of ``dbs/d/colls/c``;
    ``/dbs/d/colls/c/docs/x`` (an item) is type ``docs`` of ``dbs/d/colls/c/docs/x``.
    """
    parts = [unquote(p) for p in path.strip("/").split("/") if p]
    if not parts:
        return "", ""
    if len(parts) % 2:
        return parts[-1], "/".join(parts[:-1])
    return parts[-2], "/".join(parts)


def master_signature(key: bytes, verb: str, resource_type: str, link: str, date: str) -> str:
    """The ``type=master`` token: HMAC-SHA256 over the verb, type, link and date."""
    text = f"{verb.lower()}\n{resource_type.lower()}\n{link}\n{date.lower()}\n\n"
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()
    return f"type=master&ver=1.0&sig={base64.b64encode(digest).decode()}"


def _stamp(request: httpx.Request) -> None:
    request.headers["x-ms-date"] = request_date()
    request.headers["x-ms-version"] = API_VERSION


class MasterKeyAuth(httpx.Auth):
    """Signs every request with the account key (``type=master``)."""

    def __init__(self, key: str) -> None:
        try:
            self._key = base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            raise ConfigurationError("cosmos: key is not a base64 account key") from None

    def __repr__(self) -> str:
        return "MasterKeyAuth(key=**********)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        _stamp(request)
        resource_type, link = resource_of(request.url.path)
        token = master_signature(
            self._key, request.method, resource_type, link, request.headers["x-ms-date"]
        )
        request.headers["Authorization"] = quote(token, safe=_SAFE)
        yield request


class ResourceTokenAuth(httpx.Auth):
    """Sends a resource token (``type=resource``, from a Cosmos permission) as it is."""

    def __init__(self, token: str) -> None:
        self._header = quote(token, safe=_SAFE)

    def __repr__(self) -> str:
        return "ResourceTokenAuth(token=**********)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        _stamp(request)
        request.headers["Authorization"] = self._header
        yield request


class EntraAuth(httpx.Auth):
    """A Microsoft Entra ID token of a service principal (``type=aad``).

    The token comes from :class:`tenantkit.azure.EntraToken`; a 401 forgets it and the
    request is sent once more with a new one.
    """

    def __init__(self, token: EntraToken) -> None:
        self._token = token

    def __repr__(self) -> str:
        return f"EntraAuth({self._token!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        _stamp(request)
        token = self._token.token()
        request.headers["Authorization"] = quote(f"type=aad&ver=1.0&sig={token}", safe=_SAFE)
        response = yield request
        if response.status_code == 401:
            self._token.invalidate(token)
            _stamp(request)
            fresh = self._token.token()
            request.headers["Authorization"] = quote(f"type=aad&ver=1.0&sig={fresh}", safe=_SAFE)
            yield request

    def close(self) -> None:
        self._token.close()
