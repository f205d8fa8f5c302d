"""RDS IAM authentication tokens, used as the password of new connections.

A token is a presigned URL made locally from the process's AWS credentials; RDS
accepts it for 15 minutes. Tokens are only checked when a connection opens, so a
pooled connection outlives its token; new connections get a token that is refreshed
well before it expires.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from tenantkit.errors import AuthenticationError, ConfigurationError

TOKEN_LIFETIME = 15 * 60.0
REFRESH_AFTER = 10 * 60.0
"""Make a new token once the current one is this old (5 minutes before it expires)."""


class IamTokenSource:
    """Makes and caches the RDS IAM token for one (host, port, user, region)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        user: str,
        region: str | None,
        clock: Callable[[], float] = time.monotonic,
        client_factory: Callable[[str | None], Any] | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._user = user
        self._region = region
        self._clock = clock
        self._client_factory = client_factory or _rds_client
        self._client: Any = None
        self._token: str | None = None
        self._made_at = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"IamTokenSource(host={self._host!r}, user={self._user!r}, token=**********)"

    def token(self) -> str:
        """A token with at least five minutes of life left."""
        with self._lock:
            now = self._clock()
            if self._token is None or now - self._made_at >= REFRESH_AFTER:
                self._token = self._generate()
                self._made_at = now
            return self._token

    def _generate(self) -> str:
        if self._client is None:
            self._client = self._client_factory(self._region)
        try:
            token = self._client.generate_db_auth_token(
                DBHostname=self._host, Port=self._port, DBUsername=self._user
            )
        except Exception as exc:
            # botocore's messages name the missing piece (credentials, region), never a secret.
            raise AuthenticationError(
                f"could not make an RDS IAM token for user {self._user!r}: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        return str(token)


def _rds_client(region: str | None) -> Any:
    # Through tenantkit.aws: the function's credentials come from the session every
    # client signing as the function shares (resolved once per cold start).
    from tenantkit.aws import make_client

    try:
        return make_client("rds", region=region, read_timeout=5)
    except ConfigurationError:
        raise ConfigurationError(
            "iam_auth needs boto3: pip install 'tenantkit-db-postgres[iam]'"
        ) from None
    except Exception as exc:
        raise ConfigurationError(
            f"could not set up RDS IAM authentication: {type(exc).__name__}: {exc}"
        ) from None
