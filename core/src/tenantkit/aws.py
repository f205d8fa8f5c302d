"""AWS plumbing shared by the providers built on boto3 (DynamoDB, S3).

* :func:`make_client`: a botocore client for one tenant, with timeouts on every call
  and no hidden retries (the core's one :class:`tenantkit.RetryPolicy` retries,
  nothing else). Credentials come from the default chain (the Lambda function's
  role), or from a role in the tenant's own AWS account, assumed with STS; botocore
  keeps those session credentials and refreshes them before they expire.
* :func:`classify`: a botocore exception → the taxonomy, by the service's error code
  (the plugin's ``codes`` first, then the codes every AWS service shares), then the
  HTTP status.

boto3 is imported when a client is made, not when tenantkit is imported.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tenantkit.errors import (
    AuthenticationError,
    ConnectionFailed,
    InvalidRequest,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
    QuotaExceeded,
    TenantkitError,
    Throttled,
    Timeout,
    error_class_for_status,
)

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from botocore.loaders import Loader

__all__ = ["COMMON_CODES", "classify", "make_client", "role_session_name"]

DEFAULT_CONNECT_TIMEOUT = 3.0

#: Error codes AWS services share, mapped to the taxonomy. Plugins add their own.
COMMON_CODES: dict[str, type[TenantkitError]] = {
    # throttling
    "Throttling": Throttled,
    "ThrottlingException": Throttled,
    "ThrottledException": Throttled,
    "RequestThrottled": Throttled,
    "RequestThrottledException": Throttled,
    "RequestLimitExceeded": Throttled,
    "TooManyRequestsException": Throttled,
    "ProvisionedThroughputExceededException": Throttled,
    "SlowDown": Throttled,
    # credentials
    "UnrecognizedClientException": AuthenticationError,
    "InvalidClientTokenId": AuthenticationError,
    "InvalidSignatureException": AuthenticationError,
    "SignatureDoesNotMatch": AuthenticationError,
    "IncompleteSignature": AuthenticationError,
    "MissingAuthenticationToken": AuthenticationError,
    "MissingAuthenticationTokenException": AuthenticationError,
    "InvalidAccessKeyId": AuthenticationError,
    "InvalidToken": AuthenticationError,
    "ExpiredToken": AuthenticationError,
    "ExpiredTokenException": AuthenticationError,
    "TokenRefreshRequired": AuthenticationError,
    "AuthFailure": AuthenticationError,
    # permissions
    "AccessDenied": PermissionDenied,
    "AccessDeniedException": PermissionDenied,
    "AllAccessDisabled": PermissionDenied,
    "UnauthorizedOperation": PermissionDenied,
    # server side
    "InternalError": ProviderUnavailable,
    "InternalFailure": ProviderUnavailable,
    "InternalServerError": ProviderUnavailable,
    "ServiceUnavailable": ProviderUnavailable,
    "ServiceUnavailableException": ProviderUnavailable,
    "RequestTimeout": Timeout,
    "RequestTimeoutException": Timeout,
    # requests
    "ValidationException": InvalidRequest,
    "ValidationError": InvalidRequest,
    "InvalidParameterValue": InvalidRequest,
    "LimitExceededException": QuotaExceeded,
}

_ROLE_SESSION_NAME_MAX = 64

_loader: Loader | None = None
_lock = threading.Lock()


def make_client(
    service: str,
    *,
    region: str | None,
    endpoint_url: str | None = None,
    role_arn: str | None = None,
    external_id: str | None = None,
    role_session_name: str = "tenantkit",
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float,
    config: Mapping[str, Any] | None = None,
) -> BaseClient:
    """A botocore client for ``service`` in ``region``.

    Args:
        region: None for the default chain's (``AWS_REGION``, ``AWS_DEFAULT_REGION``).
        endpoint_url: an AWS-compatible endpoint (a local stack, an S3-compatible
            store). When set, the role is also assumed through it.
        role_arn: a role to assume with STS (the tenant's own account); ``external_id``
            goes with it. Nothing is called until the first request needs credentials.
        connect_timeout, read_timeout: seconds, on every request.
        config: further :class:`botocore.config.Config` options (``s3`` addressing...).
    """
    from botocore.config import Config

    options: dict[str, Any] = {
        "region_name": region,
        "connect_timeout": connect_timeout,
        "read_timeout": read_timeout,
        # One attempt per call: the core's RetryPolicy is the one retry loop (backoff,
        # jitter, a total time budget). botocore retrying underneath it would multiply
        # the attempts and overrun that budget.
        "retries": {"total_max_attempts": 1, "mode": "standard"},
        "tcp_keepalive": True,
        **(config or {}),
    }
    client_config = Config(**options)
    with _lock:
        session = _new_session() if role_arn else _default_session()
        if role_arn:
            _assume_role_credentials(
                session,
                role_arn=role_arn,
                external_id=external_id,
                role_session_name=role_session_name,
                region=region,
                endpoint_url=endpoint_url,
                config=client_config,
            )
        client: BaseClient = session.create_client(
            service, region_name=region, endpoint_url=endpoint_url, config=client_config
        )
    return client


def role_session_name(tenant_id: str) -> str:
    """The STS session name for a tenant, as it appears in the tenant's CloudTrail."""
    return f"tenantkit-{tenant_id}"[:_ROLE_SESSION_NAME_MAX]


def _new_session() -> Any:
    """A botocore session of its own, sharing the one loader of service models.

    A client that assumes a tenant's role gets a session of its own, so that one
    tenant's credentials never reach another's client; sharing the loader keeps the
    parsed service models (the slow part of making a client) in memory once per
    process.
    """
    import botocore.loaders
    import botocore.session

    global _loader
    if _loader is None:
        _loader = botocore.loaders.create_loader()
    session = botocore.session.Session()
    session.register_component("data_loader", _loader)
    return session


_CREDENTIAL_ENVIRONMENT = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)
_default: tuple[tuple[str | None, ...], Any] | None = None


def _default_session() -> Any:
    """The session of the process's own credentials (the default chain), shared.

    Every client signing as the function itself uses it, so a cold start resolves
    those credentials and builds the endpoint resolver once, not once per client.
    A change of the credential environment (tests do that) gets a new session.
    """
    global _default
    key = tuple(os.environ.get(name) for name in _CREDENTIAL_ENVIRONMENT)
    if _default is None or _default[0] != key:
        _default = (key, _new_session())
    return _default[1]


def _assume_role_credentials(
    session: Any,
    *,
    role_arn: str,
    external_id: str | None,
    role_session_name: str,
    region: str | None,
    endpoint_url: str | None,
    config: Any,
) -> None:
    """Make ``session`` sign with the role's credentials, refreshed before they expire.

    The STS client signs with the default chain's credentials (the function's own
    role). botocore's refreshable credentials hold the role's session credentials and
    call STS again 15 minutes before they expire (blocking only in the last 10).
    """
    from botocore.credentials import CredentialProvider, DeferredRefreshableCredentials

    sts = _default_session().create_client(
        "sts", region_name=region, endpoint_url=endpoint_url, config=config
    )
    params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": role_session_name}
    if external_id:
        params["ExternalId"] = external_id

    credentials = DeferredRefreshableCredentials(
        refresh_using=lambda: _assume_role(sts, params),
        method="assume-role",
        time_fetcher=lambda: _utc_now(),
    )

    class AssumedRole(CredentialProvider):
        METHOD = "assume-role"
        CANONICAL_NAME = "tenantkit-assume-role"

        def load(self) -> Any:
            return credentials

    session.get_component("credential_provider").insert_before("env", AssumedRole())


def _assume_role(sts: Any, params: dict[str, Any]) -> dict[str, str]:
    answer = sts.assume_role(**params)["Credentials"]
    return {
        "access_key": answer["AccessKeyId"],
        "secret_key": answer["SecretAccessKey"],
        "token": answer["SessionToken"],
        "expiry_time": answer["Expiration"].isoformat(),
    }


def _utc_now() -> datetime:
    return datetime.now(UTC)


def classify(
    exc: Exception,
    provider: str,
    *,
    codes: Mapping[str, type[TenantkitError]] | None = None,
) -> TenantkitError:
    """The taxonomy error for a botocore exception raised by a call to ``provider``.

    Authentication errors never carry AWS's message text; other messages carry the
    error code and AWS's message, which name actions and resources, never secrets.
    """
    from botocore.exceptions import (
        ClientError,
        ConnectionError,
        ConnectTimeoutError,
        CredentialRetrievalError,
        HTTPClientError,
        NoCredentialsError,
        ParamValidationError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        return _client_error(exc, provider, codes or {})
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
        what = type(exc).__name__
        return Timeout(f"{provider} did not answer in time ({what})", provider=provider)
    if isinstance(exc, ConnectionError | HTTPClientError):
        what = type(exc).__name__
        return ConnectionFailed(f"could not reach {provider}: {what}", provider=provider)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError):
        return AuthenticationError(
            f"{provider}: no usable AWS credentials ({type(exc).__name__})", provider=provider
        )
    if isinstance(exc, ParamValidationError):
        return InvalidRequest(f"{provider} rejected the request: {exc}", provider=provider)
    return ProviderError(f"{provider} failed: {type(exc).__name__}: {exc}", provider=provider)


def _client_error(
    exc: Any, provider: str, codes: Mapping[str, type[TenantkitError]]
) -> TenantkitError:
    response: dict[str, Any] = exc.response or {}
    error = response.get("Error", {})
    meta = response.get("ResponseMetadata", {})
    code = str(error.get("Code") or "") or None
    status = meta.get("HTTPStatusCode")
    request_id = meta.get("RequestId") or meta.get("HTTPHeaders", {}).get("x-amz-request-id")
    text = str(error.get("Message") or "").strip()
    cls = (code and (codes.get(code) or COMMON_CODES.get(code))) or error_class_for_status(status)
    operation = getattr(exc, "operation_name", "")
    if operation == "AssumeRole" and cls not in (Throttled, ProviderUnavailable, Timeout):
        # The tenant's role could not be assumed: its credentials are unusable.
        cls = AuthenticationError
        message = (
            f"{provider}: assuming the tenant's role failed ({code}); check role_arn, "
            "external_id and the role's trust policy"
        )
    elif cls is AuthenticationError:
        message = f"{provider} rejected the credentials ({code or status})"
    else:
        message = f"{provider} {operation or 'call'} failed: {code or status}"
        if text:
            message += f": {_shorten(text)}"
    return cls(message, provider=provider, status=status, code=code, request_id=request_id)


def _shorten(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
