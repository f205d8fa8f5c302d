"""The public keys of trusted issuers, fetched once and kept while the process lives.

Behaves like aws-jwt-verify's ``SimpleJwksCache`` with its ``SimplePenaltyBox``
(https://github.com/awslabs/aws-jwt-verify, ``src/jwk.ts``):

* a JWKS is fetched the first time a key of its URL is needed, then kept;
* a key id that is not in the cached set triggers one refetch (keys get rotated);
* when a fetch succeeds but does not hold the wanted key, that URL is in the penalty
  box for ``penalty_seconds``: lookups of unknown key ids are refused without a
  fetch until the window ends. A flood of tokens with made-up key ids therefore
  costs one fetch per window, not one per token;
* a fetch that fails is an outage, not an unknown key: the keys already cached keep
  verifying tokens, a key id not cached raises the retryable error of the failed
  fetch (the caller cannot tell yet whether the token is good) and the URL is
  fetched again at most once per ``retry_seconds``;
* concurrent lookups of one URL share one fetch.

Fetches go through :mod:`tenantkit.http` (timeouts on every phase, no redirects, no
hidden retries); transport failures raise the taxonomy's retryable errors.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tenantkit.errors import ProviderError, ProviderUnavailable, TenantkitError
from tenantkit_runtime.auth.errors import TokenRejected, shown

if TYPE_CHECKING:
    import httpx

__all__ = ["Jwk", "JwksCache", "parse_jwks"]

Jwk = Mapping[str, Any]

_PROVIDER = "jwks"
_JWK_STRING_FIELDS = ("kty", "use", "alg", "kid", "crv", "n", "e", "x", "y")


class JwksCache:
    """Key sets by URL, with refetch on unknown key ids bounded by a penalty window.

    Args:
        penalty_seconds: how long a URL is not fetched again after a fetch that did
            not yield the wanted key.
        retry_seconds: how long a URL is not fetched again after a fetch that failed.
        timeout: connect and read timeout of one fetch, in seconds.
        client: the ``httpx.Client`` to fetch with (made on first use otherwise).
        monotonic: the clock of the penalty window (tests move it forward).
    """

    def __init__(
        self,
        *,
        penalty_seconds: float = 10.0,
        retry_seconds: float = 1.0,
        timeout: float = 3.0,
        client: httpx.Client | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._penalty_seconds = penalty_seconds
        self._timeout = timeout
        self._client = client
        self._monotonic = monotonic
        self._sets: dict[str, dict[str, Jwk]] = {}
        self._retry_seconds = retry_seconds
        self._penalty_until: dict[str, float] = {}
        self._outage: dict[str, tuple[float, str]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, url: str, kid: str) -> Jwk:
        """The key ``kid`` published at ``url``.

        Raises:
            TokenRejected: no such key (reason ``"kid"``), or the URL is in the penalty
                box and the key is not cached.
            tenantkit.errors.ProviderError: the key is not cached and the JWKS could not
                be fetched, now or less than ``retry_seconds`` ago (``Timeout``,
                ``ConnectionFailed``, ``ProviderUnavailable``...).
        """
        keys = self._sets.get(url)
        if keys is not None and kid in keys:
            return keys[kid]
        with self._lock(url):
            keys = self._sets.get(url)  # another thread may have fetched meanwhile
            if keys is not None and kid in keys:
                return keys[kid]
            now = self._monotonic()
            outage = self._outage.get(url)
            if outage is not None and now < outage[0]:
                raise ProviderUnavailable(
                    f"the JWKS at {url} could not be fetched ({outage[1]}); "
                    "it is fetched again shortly",
                    provider=_PROVIDER,
                    retry_after=outage[0] - now,
                )
            if now < self._penalty_until.get(url, float("-inf")):
                raise _unknown(kid)
            try:
                keys = self._fetch(url)
            except ProviderError as exc:
                self._outage[url] = (self._monotonic() + self._retry_seconds, exc.kind)
                raise
            self._outage.pop(url, None)
            self._sets[url] = keys
            if kid not in keys:
                self._penalty_until[url] = self._monotonic() + self._penalty_seconds
                raise _unknown(kid)
            self._penalty_until.pop(url, None)
            return keys[kid]

    def add(self, url: str, jwks: Mapping[str, Any]) -> None:
        """Use ``jwks`` for ``url`` without fetching it (a preloaded or local key set)."""
        keys = parse_jwks(jwks, url)
        with self._lock(url):
            self._sets[url] = keys
            self._penalty_until.pop(url, None)
            self._outage.pop(url, None)

    def close(self) -> None:
        """Close the HTTP client this cache made."""
        if self._client is not None:
            self._client.close()

    def _lock(self, url: str) -> threading.Lock:
        lock = self._locks.get(url)
        if lock is None:
            with self._guard:
                lock = self._locks.setdefault(url, threading.Lock())
        return lock

    def _fetch(self, url: str) -> dict[str, Jwk]:
        from tenantkit.http import ErrorInfo, make_client, send

        if self._client is None:
            self._client = make_client(
                "", connect_timeout=self._timeout, read_timeout=self._timeout
            )
        try:
            response = send(
                self._client,
                _PROVIDER,
                "GET",
                url,
                parse_error=lambda r: ErrorInfo(message=r.reason_phrase),
                headers={"accept": "application/json"},
            )
        except TenantkitError as exc:
            if isinstance(exc, ProviderError):
                raise
            # Whatever the status (a 404 too), the issuer failed to serve its keys: the
            # JWKS URL is the deployment's, not the caller's.
            raise ProviderUnavailable(
                f"the JWKS at {url} could not be fetched (HTTP {exc.status})",
                provider=_PROVIDER,
                status=exc.status,
            ) from None
        try:
            document = response.json()
        except ValueError:
            raise ProviderUnavailable(
                f"the JWKS at {url} is not JSON", provider=_PROVIDER
            ) from None
        return parse_jwks(document, url)


def _unknown(kid: str) -> TokenRejected:
    return TokenRejected(f"key id {shown(kid)} is not among the issuer's keys", reason="kid")


def parse_jwks(document: object, url: str) -> dict[str, Jwk]:
    """The keys of a JWKS document by key id; keys without a ``kid`` are left out.

    Raises:
        ProviderUnavailable: the document is not a JWKS (RFC 7517, section 5).
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ProviderUnavailable(f"the JWKS at {url} has no 'keys' list", provider=_PROVIDER)
    keys: dict[str, Jwk] = {}
    for position, jwk in enumerate(document["keys"]):
        if not isinstance(jwk, Mapping) or not isinstance(jwk.get("kty"), str):
            raise ProviderUnavailable(
                f"the JWKS at {url}: key {position} is not a JWK with a 'kty'",
                provider=_PROVIDER,
            )
        for name in _JWK_STRING_FIELDS:
            if name in jwk and not isinstance(jwk[name], str):
                raise ProviderUnavailable(
                    f"the JWKS at {url}: key {position} has a non-string {name!r}",
                    provider=_PROVIDER,
                )
        kid = jwk.get("kid")
        if kid:
            keys[kid] = dict(jwk)
    return keys
