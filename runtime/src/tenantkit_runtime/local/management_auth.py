"""Who may call the local Management API: requests signed with the deployment's credentials.

On AWS the API Gateway Management API (``POST``/``GET``/``DELETE
/@connections/{id}``) takes only requests signed with Signature Version 4 by a
principal IAM allows (https://docs.aws.amazon.com/apigateway/latest/developerguide/
apigateway-how-to-call-websocket-api-connections.html). ``tenantkit serve`` asks the
same of its stand-in: the request must be SigV4-signed with the AWS credentials of the
server's own process, which are the credentials the functions' ``boto3`` client signs
with (the ambient ones, or the stand-ins ``tenantkit serve`` sets when there are none).
Anyone else who learns a connection id, a tenant included, is refused with 403.

The signature is recomputed with botocore's own SigV4 signer over the request as
received (the signed headers, the path and query as sent, the body) and compared in
constant time; the timestamp must be within 15 minutes, as AWS requires.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["ManagementAuth", "Refusal"]

log = logging.getLogger("tenantkit_runtime.local")

_ALGORITHM = "AWS4-HMAC-SHA256"
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/aws4_request,\s*SignedHeaders=(?P<headers>[a-z0-9;\-]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)
_TIMESTAMP = "%Y%m%dT%H%M%SZ"
_MAX_SKEW_SECONDS = 15 * 60


class Refusal(Exception):
    """Why a Management API request is refused: ``error_type`` is the
    ``x-amzn-ErrorType`` API Gateway answers with, the message its ``message``."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def _process_credentials() -> Any:
    """The credentials ``boto3.client(...)`` signs with in this process (its default
    session), which is how the functions' push client signs."""
    import boto3

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    credentials = boto3.DEFAULT_SESSION.get_credentials()
    return None if credentials is None else credentials.get_frozen_credentials()


class ManagementAuth:
    """Checks that a request carries a valid SigV4 signature by the deployment's credentials.

    Args:
        credentials: returns the deployment's ``botocore`` frozen credentials (or
            ``None`` when there are none: every request is then refused); by default
            those of this process's default ``boto3`` session, read on every request.
        clock: seconds since the epoch.
    """

    def __init__(
        self,
        credentials: Callable[[], Any] = _process_credentials,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._resolve = credentials
        self._warned = False
        self._clock = clock

    def check(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> None:
        """Accept the request or raise :class:`Refusal`.

        ``url`` is the request's URL as sent (path and query still percent-encoded);
        ``headers`` are lower-cased names.
        """
        authorization = headers.get("authorization")
        if not authorization:
            raise Refusal("MissingAuthenticationTokenException", "Missing Authentication Token")
        match = _AUTHORIZATION.fullmatch(authorization.strip())
        if match is None:
            raise Refusal("IncompleteSignatureException", "The authorization header is malformed.")
        credentials = self._deployment_credentials()
        if credentials is None or not hmac.compare_digest(
            match["key"].encode(), credentials.access_key.encode()
        ):
            raise Refusal(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        token = headers.get("x-amz-security-token")
        if (credentials.token or token) and not hmac.compare_digest(
            (token or "").encode(), (credentials.token or "").encode()
        ):
            raise Refusal(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        timestamp = headers.get("x-amz-date", "")
        self._check_time(timestamp, match["date"])
        signed = match["headers"].split(";")
        if "host" not in signed or any(name not in headers for name in signed):
            raise Refusal("IncompleteSignatureException", "The signed headers are incomplete.")
        declared = headers.get("x-amz-content-sha256")
        if declared is not None and declared != hashlib.sha256(body).hexdigest():
            raise Refusal("InvalidSignatureException", "The payload hash does not match.")
        expected = _signature(
            credentials,
            method,
            url,
            {name: headers[name] for name in signed},
            body,
            timestamp,
            region=match["region"],
            service=match["service"],
        )
        if not hmac.compare_digest(expected, match["signature"]):
            raise Refusal(
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided.",
            )

    def _deployment_credentials(self) -> Any:
        credentials = self._resolve()
        if credentials is None and not self._warned:
            self._warned = True
            log.warning(
                "the Management API refuses every request: "
                "this process has no AWS credentials to check signatures with"
            )
        return credentials

    def _check_time(self, timestamp: str, scope_date: str) -> None:
        try:
            signed_at = datetime.strptime(timestamp, _TIMESTAMP).replace(tzinfo=UTC)
        except ValueError:
            raise Refusal(
                "IncompleteSignatureException", "The request has no valid X-Amz-Date."
            ) from None
        now = self._clock() if self._clock is not None else datetime.now(UTC).timestamp()
        if abs(now - signed_at.timestamp()) > _MAX_SKEW_SECONDS or not timestamp.startswith(
            scope_date
        ):
            raise Refusal("InvalidSignatureException", "Signature expired.")


def _signature(
    credentials: Any,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    timestamp: str,
    *,
    region: str,
    service: str,
) -> str:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    request.context["timestamp"] = timestamp
    signer = SigV4Auth(credentials, service, region)
    canonical = signer.canonical_request(request)
    return str(signer.signature(signer.string_to_sign(request, canonical), request))
