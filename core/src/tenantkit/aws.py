"""AWS plumbing: every boto3/botocore client tenantkit makes goes through here.

* :func:`make_client`: a botocore client for one tenant, with timeouts on every call
  and no hidden retries (the core's one :class:`tenantkit.RetryPolicy` retries,
  nothing else; a ``config`` cannot turn botocore's retries back on). Credentials
  come from the default chain (the Lambda function's role), whose session every
  such client shares, or from a role in the tenant's own AWS account, assumed with
  STS; botocore keeps those session credentials and refreshes them before they
  expire.
* :class:`ProviderAWS`: a client bound once to its provider name, the service's own
  error codes and a plugin's refinements; its :meth:`~ProviderAWS.call` (or, where
  a plugin reads a botocore answer itself, :meth:`~ProviderAWS.translating`) turns
  every botocore failure into the taxonomy. The one way an AWS client is called.
* :class:`AWSSettings`: the settings every AWS provider shares (region, endpoint, the
  role to assume and its external id), and :func:`tenant_client`, the client they
  describe.
* :func:`classify`: a botocore exception → the taxonomy, by the service's error code
  (the plugin's ``codes`` first, then the codes every AWS service shares), then the
  HTTP status (the table :mod:`tenantkit.http` uses: 429 without a known code is
  :class:`RateLimited`, AWS's throttling codes are :class:`Throttled`), with
  ``Retry-After`` read into ``retry_after``.

boto3 is an extra (``pip install 'tenantkit[aws]'``) imported when a client is made,
not when tenantkit is imported.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

from pydantic import Field, model_validator

from tenantkit.errors import (
    AuthenticationError,
    ConfigurationError,
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
from tenantkit.http import parse_retry_after
from tenantkit.settings import ProviderSettings, Secret

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from botocore.loaders import Loader

__all__ = [
    "COMMON_CODES",
    "AWSSettings",
    "ProviderAWS",
    "classify",
    "forget_sessions",
    "make_client",
    "role_session_name",
    "tenant_client",
]

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

_MISSING_EXTRA = "AWS support needs boto3: pip install 'tenantkit[aws]'"

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
        region: None for ``AWS_REGION`` (which Lambda sets; botocore itself does not
            read it), else botocore's default chain (``AWS_DEFAULT_REGION``, the profile).
        endpoint_url: an AWS-compatible endpoint (a local stack, an S3-compatible
            store). When set, the role is also assumed through it.
        role_arn: a role to assume with STS (the tenant's own account); ``external_id``
            goes with it. Nothing is called until the first request needs credentials.
        connect_timeout, read_timeout: seconds, on every request.
        config: further :class:`botocore.config.Config` options (``s3`` addressing...).
    """
    try:
        from botocore.config import Config
        from botocore.exceptions import NoRegionError
    except ImportError:
        raise ConfigurationError(f"{service}: {_MISSING_EXTRA}") from None

    region = region or os.environ.get("AWS_REGION") or None
    options: dict[str, Any] = {
        "region_name": region,
        "connect_timeout": connect_timeout,
        "read_timeout": read_timeout,
        "tcp_keepalive": True,
        **(config or {}),
        # One attempt per call: the core's RetryPolicy is the one retry loop (backoff,
        # jitter, a total time budget). botocore retrying underneath it would multiply
        # the attempts and overrun that budget, so no config turns it back on.
        "retries": {"total_max_attempts": 1, "mode": "standard"},
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
        try:
            client: BaseClient = session.create_client(
                service, region_name=region, endpoint_url=endpoint_url, config=client_config
            )
        except NoRegionError:
            raise ConfigurationError(f"{service}: no AWS region: set AWS_REGION") from None
    return client


class AWSSettings(ProviderSettings):
    """The settings every AWS provider has: subclass it and add the service's own.

    Credentials come from the runtime's own role, or, with ``role_arn``, from a role in
    the tenant's AWS account that the runtime assumes (with ``external_id`` when the
    role's trust policy requires one).
    """

    region: str = Field(
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
        max_length=32,
        description="AWS region, e.g. eu-west-1.",
    )
    endpoint_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="An AWS-compatible endpoint (a local stack, an S3-compatible store).",
    )
    role_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$",
        max_length=2048,
        description="Role to assume in the tenant's account.",
    )
    external_id: Secret | None = Field(
        default=None, min_length=2, max_length=1224, description="STS external id for the role."
    )

    @model_validator(mode="after")
    def _external_id_needs_role(self) -> Self:
        if self.external_id is not None and self.role_arn is None:
            raise ValueError("external_id is only used with role_arn")
        return self


def tenant_client(
    service: str,
    settings: AWSSettings,
    tenant_id: str,
    *,
    read_timeout: float,
    config: Mapping[str, Any] | None = None,
) -> BaseClient:
    """:func:`make_client` for one tenant's provider: its region, endpoint and role, the
    role's session named after the tenant."""
    external_id = settings.external_id.get_secret_value() if settings.external_id else None
    return make_client(
        service,
        region=settings.region,
        endpoint_url=settings.endpoint_url,
        role_arn=settings.role_arn,
        external_id=external_id,
        role_session_name=role_session_name(tenant_id),
        read_timeout=read_timeout,
        config=config,
    )


class ProviderAWS:
    """A botocore client bound once to one provider instance.

    Everything that is the same for every call lives here, set once in the
    provider's constructor: the provider name errors carry, the service's own error
    codes, and ``refine``, which turns a classified error into the plugin's own (a
    missing table into a :class:`ConfigurationError` naming it). Each call is then
    just the request::

        self._aws = ProviderAWS(
            "dynamodb", make_client("dynamodb", region=..., read_timeout=10),
            codes=CODES, refine=self._refine,
        )
        answer = self._aws.call("get_item", TableName=table, Key=key)

    Where the plugin must look at botocore's answer itself (a streamed body, the old
    item of a failed condition), it calls ``self._aws.client`` inside
    ``with self._aws.translating():``; whatever botocore failure escapes the block
    is translated the same way. Nothing here retries: the core's policy does.
    """

    def __init__(
        self,
        provider: str,
        client: Any,
        *,
        codes: Mapping[str, type[TenantkitError]] | None = None,
        refine: Callable[[TenantkitError], TenantkitError] | None = None,
    ) -> None:
        self.provider = provider
        self.client = client
        self._codes = dict(codes or {})
        self._refine = refine

    def __repr__(self) -> str:
        return f"ProviderAWS({self.provider!r})"

    def call(self, operation: str, /, **params: Any) -> dict[str, Any]:
        """Call one operation (``"put_item"``) and return botocore's parsed answer."""
        with self.translating():
            answer: dict[str, Any] = getattr(self.client, operation)(**params)
        return answer

    @contextmanager
    def translating(self) -> Iterator[None]:
        """Turn a botocore failure raised in the block into the taxonomy's error."""
        try:
            yield
        except Exception as exc:
            if not _is_botocore_error(exc):
                raise
            raise self.error(exc) from None

    def error(self, exc: Exception) -> TenantkitError:
        """The taxonomy's error for a botocore exception of this provider's client."""
        error = classify(exc, self.provider, codes=self._codes)
        return self._refine(error) if self._refine is not None else error

    def close(self) -> None:
        self.client.close()


def _is_botocore_error(exc: Exception) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, ClientError | BotoCoreError)


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


def forget_sessions() -> None:
    """Drop the shared session of the process's own credentials (and the credentials it
    resolved): the next client resolves them again. For a process whose memory was
    copied (a Lambda SnapStart restore)."""
    global _default
    _default = None


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
    headers = meta.get("HTTPHeaders") or {}
    request_id = meta.get("RequestId") or headers.get("x-amz-request-id")
    retry_after = parse_retry_after(headers) if headers else None
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
    return cls(
        message,
        provider=provider,
        status=status,
        code=code,
        request_id=request_id,
        retry_after=retry_after,
    )


def _shorten(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
