"""Access tokens for Cloud Storage: google-auth's credentials behind an ``httpx.Auth``.

google-auth does the grant (the OAuth 2.0 JWT bearer grant of a service account
key, https://developers.google.com/identity/protocols/oauth2/service-account#httprest;
or the AWS workload identity federation: Google STS token exchange,
https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token, then
``generateAccessToken``,
https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken).
Its HTTP requests go through :class:`_Transport`, a ``ProviderHTTP`` that turns any
error answer into the taxonomy's error at once, so google-auth's own retry loop for
the token endpoint never runs: the core's retry policy is the only one.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Generator, Mapping
from typing import Any

import httpx
from google.auth import credentials as ga_credentials
from google.auth import exceptions as ga_exceptions
from google.auth import transport as ga_transport

from tenantkit.errors import AuthenticationError, TenantkitError
from tenantkit.http import ProviderHTTP
from tenantkit_store_gcs._wire import CODES, PROVIDER, parse_error
from tenantkit_store_gcs.settings import GCSSettings

__all__ = ["SCOPE", "BearerAuth", "build_credentials"]

SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
_AWS_VERIFICATION_URL = (
    "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"
)


class _Response(ga_transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


class _Transport(ga_transport.Request):
    """google-auth's ``Request`` over a :class:`ProviderHTTP` (absolute URLs)."""

    def __init__(self, http: ProviderHTTP) -> None:
        self._http = http

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _Response:
        return _Response(self._http.request(method, url, content=body, headers=dict(headers or {})))


def token_http() -> ProviderHTTP:
    """The client for the token endpoints (OAuth, STS, IAM credentials): absolute URLs."""
    return ProviderHTTP(
        PROVIDER,
        "",
        parse_error=parse_error,
        codes=CODES,
        read_timeout=30.0,
        max_connections=4,
    )


def build_credentials(settings: GCSSettings) -> ga_credentials.Credentials:
    """google-auth credentials for the settings' credential mode (no request is made)."""
    if settings.service_account_key is not None:
        from google.oauth2 import service_account

        info = json.loads(settings.service_account_key.get_secret_value())
        # The token endpoint is the operator's setting, never a URL taken from the key.
        info["token_uri"] = settings.token_url
        try:
            credentials: ga_credentials.Credentials = (
                service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                    info, scopes=[SCOPE]
                )
            )
            return credentials
        except (ValueError, ga_exceptions.GoogleAuthError) as exc:
            raise AuthenticationError(
                f"the gcs service account key is unusable ({type(exc).__name__})",
                provider=PROVIDER,
            ) from None
    identity = settings.workload_identity
    assert identity is not None  # the settings validator requires one mode
    from google.auth import aws

    return aws.Credentials(  # type: ignore[no-untyped-call]
        audience=identity.audience,
        subject_token_type="urn:ietf:params:aws:token-type:aws4_request",  # noqa: S106
        token_url=identity.sts_url,
        credential_source={
            "environment_id": "aws1",
            "regional_cred_verification_url": _AWS_VERIFICATION_URL,
        },
        service_account_impersonation_url=(
            f"{identity.iam_credentials_url.rstrip('/')}/v1/projects/-/serviceAccounts/"
            f"{identity.service_account}:generateAccessToken"
        ),
        scopes=[SCOPE],
    )


class BearerAuth(httpx.Auth):
    """Adds ``Authorization: Bearer``; the token is kept until shortly before it
    expires (google-auth's refresh threshold) and refreshed once on a 401."""

    def __init__(self, credentials: ga_credentials.Credentials, http: ProviderHTTP) -> None:
        self._credentials = credentials
        self._transport = _Transport(http)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"BearerAuth({type(self._credentials).__module__})"

    def token(self, *, stale: str | None = None) -> str:
        """A valid access token; a new one if the cached one is ``stale``."""
        with self._lock:
            creds = self._credentials
            if not creds.valid or (stale is not None and creds.token == stale):
                try:
                    creds.refresh(self._transport)  # type: ignore[no-untyped-call]
                except TenantkitError:
                    raise
                except (ga_exceptions.GoogleAuthError, ValueError, KeyError) as exc:
                    raise AuthenticationError(
                        f"gcs could not obtain an access token ({type(exc).__name__})",
                        provider=PROVIDER,
                    ) from None
            return str(creds.token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self.token(stale=token)}"
            yield request


class Signer:
    """Signs bytes as the service account: locally with the key, or with the IAM
    Credentials ``signBlob`` method for an impersonated account
    (https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/signBlob)."""

    def __init__(self, settings: GCSSettings, credentials: ga_credentials.Credentials) -> None:
        self._credentials = credentials
        identity = settings.workload_identity
        if identity is None:
            assert isinstance(credentials, ga_credentials.Signing)  # a key's credentials
            self.email: str = credentials.signer_email
            self._sign_blob_url: str | None = None
        else:
            self.email = identity.service_account
            self._sign_blob_url = (
                f"{identity.iam_credentials_url.rstrip('/')}/v1/projects/-/serviceAccounts/"
                f"{identity.service_account}:signBlob"
            )

    def sign(self, message: bytes, http: ProviderHTTP) -> bytes:
        """The RSA-SHA256 signature of ``message``; ``http`` carries the bearer token."""
        if self._sign_blob_url is None:
            assert isinstance(self._credentials, ga_credentials.Signing)
            return bytes(self._credentials.sign_bytes(message))  # type: ignore[no-untyped-call]
        response = http.request(
            "POST",
            self._sign_blob_url,
            json={"payload": base64.b64encode(message).decode("ascii")},
        )
        return base64.b64decode(response.json()["signedBlob"])
