"""HTTP plumbing shared by providers that speak JSON over HTTP (the LLM plugins).

* :class:`ProviderHTTP`: the client a provider instance builds once (base URL,
  headers, error parser, code table, request-id header, secrets to redact) and calls
  with ``request`` / ``stream``: the one way an HTTP provider talks to its service.
* :func:`make_client`: an ``httpx.Client`` with timeouts on every phase and no hidden
  retries (the core's one :class:`tenantkit.RetryPolicy` retries, nothing else).
* :func:`send` and :func:`open_stream`: send a request, turn transport failures into
  the taxonomy, and hand error responses to :func:`classify` (what
  :class:`ProviderHTTP` calls).
* :func:`iter_sse`: Server-Sent Events parsed per the WHATWG HTML standard
  (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
* :func:`classify`: an error response → the taxonomy, by HTTP status, then the
  provider's error code, then the message text as a last resort.

httpx is imported when a client is made, not when tenantkit is imported.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import re
import ssl
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenantkit.errors import (
    AuthenticationError,
    ConnectionFailed,
    ContentFiltered,
    ContextWindowExceeded,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
    StreamInterrupted,
    TenantkitError,
    Timeout,
    error_class_for_status,
)
from tenantkit.redaction import redact

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ErrorInfo",
    "ProviderHTTP",
    "SSEEvent",
    "classify",
    "iter_sse",
    "make_client",
    "open_stream",
    "parse_retry_after",
    "redacting",
    "send",
]

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 120.0

#: Error codes the providers document, mapped to the taxonomy. Plugins may add their own.
COMMON_CODES: dict[str, type[TenantkitError]] = {
    # OpenAI / Azure OpenAI
    "insufficient_quota": QuotaExceeded,
    "context_length_exceeded": ContextWindowExceeded,
    "content_filter": ContentFiltered,
    "content_policy_violation": ContentFiltered,
    "rate_limit_exceeded": RateLimited,
    "invalid_api_key": AuthenticationError,
    "model_not_found": NotFound,
    "DeploymentNotFound": NotFound,
    # Anthropic
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDenied,
    "not_found_error": NotFound,
    "rate_limit_error": RateLimited,
    "overloaded_error": ProviderUnavailable,
    "api_error": ProviderUnavailable,
    "request_too_large": InvalidRequest,
    # Google (google.rpc.Code names)
    "UNAUTHENTICATED": AuthenticationError,
    "PERMISSION_DENIED": PermissionDenied,
    "NOT_FOUND": NotFound,
    "RESOURCE_EXHAUSTED": RateLimited,
    "UNAVAILABLE": ProviderUnavailable,
    "INTERNAL": ProviderUnavailable,
    "DEADLINE_EXCEEDED": Timeout,
    "INVALID_ARGUMENT": InvalidRequest,
    "FAILED_PRECONDITION": InvalidRequest,
}


# The patterns below read error messages only: compiled on the first error, not on
# every cold start.
@functools.cache
def _message_patterns() -> tuple[tuple[re.Pattern[str], type[TenantkitError]], ...]:
    return (
        # OpenAI answers a request larger than the whole per-minute token limit with 429
        # ``rate_limit_exceeded`` "Request too large ... on tokens per min (TPM): Limit
        # 30000, Requested 50000": no wait ever lets that request through, only a smaller
        # one does. The request is at fault, as with Anthropic's 413 ``request_too_large``.
        (re.compile(r"\brequest too large\b", re.IGNORECASE), InvalidRequest),
        (
            re.compile(
                r"context (length|window|limit)|maximum context|prompt is too long|"
                r"too many tokens|input token count.*exceeds|"
                r"exceeds the maximum number of tokens|reduce the length of the messages",
                re.IGNORECASE,
            ),
            ContextWindowExceeded,
        ),
        (re.compile(r"exceeded your current quota|quota exceeded|billing", re.I), QuotaExceeded),
        (
            re.compile(r"content (management )?(policy|filter)|safety system", re.I),
            ContentFiltered,
        ),
    )


#: "Please try again in 6ms", "Try again in 2 s", "try again in 1m30s": how long a 429's
#: message says to wait, for services that send no ``Retry-After`` header.
@functools.cache
def _try_again() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The sentence and one of its durations."""
    return (
        re.compile(
            r"try again in\s+((?:\d+(?:\.\d+)?\s*"
            r"(?:ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)(?![a-z])\s*)+)",
            re.IGNORECASE,
        ),
        re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)", re.IGNORECASE),
    )


_UNIT_SECONDS = {"ms": 0.001, "millisecond": 0.001, "s": 1.0, "sec": 1.0, "second": 1.0}
_UNIT_SECONDS |= {"m": 60.0, "min": 60.0, "minute": 60.0}

# Classes a code or message may refine; an explicit status class like 401 is kept.
_REFINABLE: frozenset[type[TenantkitError]] = frozenset(
    {InvalidRequest, RateLimited, PermissionDenied, ProviderError, ProviderUnavailable, NotFound}
)


@dataclass(frozen=True)
class ErrorInfo:
    """What a plugin extracted from an error response body.

    ``retry_after`` is for providers that say how long to wait in the body rather
    than in a header (Google's ``RetryInfo.retryDelay``); a header still wins.
    ``request_id`` is for providers that repeat their request id in the error body
    (Anthropic's ``request_id``); the bound request-id header still wins.
    """

    code: str | None = None
    message: str = ""
    retry_after: float | None = None
    request_id: str | None = None

    def without(self, *secrets: str) -> ErrorInfo:
        """This information with ``secrets`` masked in the message (:func:`redact`)."""
        message = redact(self.message, secrets)
        return self if message == self.message else dataclasses.replace(self, message=message)


def redacting(
    parse: Callable[[httpx.Response], ErrorInfo], *secrets: str
) -> Callable[[httpx.Response], ErrorInfo]:
    """``parse`` with ``secrets`` masked in the message, should the API echo one."""

    def parse_redacted(response: httpx.Response) -> ErrorInfo:
        return parse(response).without(*secrets)

    return parse_redacted


def classify(
    provider: str,
    status: int,
    info: ErrorInfo,
    *,
    headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
    codes: Mapping[str, type[TenantkitError]] | None = None,
) -> TenantkitError:
    """The taxonomy error for an error response.

    The class comes from the HTTP status, refined by the provider's error code
    (``codes`` first, then :data:`COMMON_CODES`) and, as a last resort, by the message.
    A code found in the provider's own ``codes`` is its last word: the message does
    not refine it further (Gemini's 429 ``RESOURCE_EXHAUSTED`` says "exceeded your
    current quota" of every rate limit). Authentication and permission errors never
    carry the provider's message text, which may quote part of the key.

    How long to wait comes from the ``Retry-After`` headers, else from the body
    (``info.retry_after``), else, for a retryable error, from a "try again in 6ms"
    in its message.
    """
    cls = error_class_for_status(status)
    decided = False
    if info.code:
        own = (codes or {}).get(info.code)
        by_code = own or COMMON_CODES.get(info.code)
        if by_code is not None and (cls in _REFINABLE or by_code is cls):
            cls = by_code
            decided = own is not None
    if cls in _REFINABLE and info.message and not decided:
        for pattern, refined in _message_patterns():
            if pattern.search(info.message):
                cls = refined
                break
    retry_after = parse_retry_after(headers or {})
    if retry_after is None:
        retry_after = info.retry_after
    if retry_after is None and cls.retryable and info.message:
        retry_after = _retry_after_in(info.message)
    if cls in (AuthenticationError, PermissionDenied):
        what = "rejected the credentials" if cls is AuthenticationError else "denied permission"
        message = f"{provider} {what} (HTTP {status})"
    else:
        text = info.message.strip() or "no error message"
        message = f"{provider} answered HTTP {status}: {_shorten(text)}"
    return cls(
        message,
        provider=provider,
        status=status,
        code=info.code,
        request_id=request_id or info.request_id,
        retry_after=retry_after,
    )


def _retry_after_in(message: str) -> float | None:
    """Seconds an error message asks to wait ("Please try again in 1m30.5s"), if it says."""
    sentence, duration = _try_again()
    found = sentence.search(message)
    if found is None:
        return None
    total = 0.0
    for amount, unit in duration.findall(found.group(1)):
        unit = unit.lower()
        scale = _UNIT_SECONDS.get(unit) or _UNIT_SECONDS.get(unit.rstrip("s"))
        if scale is None:
            return None
        total += float(amount) * scale
    return total


def _shorten(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` (``x-ms-retry-after-ms`` in Cosmos DB) or
    ``Retry-After`` (seconds or HTTP date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms") or lowered.get("x-ms-retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        import email.utils  # only for an HTTP-date, rare

        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def make_client(
    base_url: str,
    *,
    headers: Mapping[str, str] | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    max_connections: int = 10,
    verify: ssl.SSLContext | None = None,
    params: Mapping[str, str] | None = None,
) -> httpx.Client:
    """An ``httpx.Client`` for one provider instance (kept warm across invocations).

    Every client shares one TLS context: loading the CA bundle costs tens of
    milliseconds, which a warm container would otherwise pay again for each tenant.
    ``verify`` replaces it with another context (one that also trusts a private CA,
    for a test server); certificate checks are never turned off. ``params`` are sent
    with every request (Azure's ``api-version``).
    """
    import httpx

    return httpx.Client(
        base_url=base_url,
        params=dict(params or {}),
        verify=verify or _tls_context(),
        headers=dict(headers or {}),
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=5),
        follow_redirects=False,
    )


class ProviderHTTP:
    """An HTTP client bound once to one provider instance.

    Everything that is the same for every call of a provider lives here, set once in
    the provider's constructor: the base URL, default headers and query parameters,
    how to read the service's error body (``parse_error``), the service's own error
    codes (``codes``), the header that carries its request id, and the secret values
    that must never reach an error message. Each call is then just the request::

        self._http = ProviderHTTP(
            "claude", settings.base_url,
            headers={"x-api-key": key},
            parse_error=parse_error, codes=CODES,
            request_id_header="request-id", secrets=[key],
        )
        answer = self._http.json(self._http.request("POST", "/v1/messages", json=body))
        with self._http.stream("POST", "/v1/messages", json=body) as response: ...

    A failed call raises the taxonomy's error (:func:`classify`); transport failures
    become :class:`Timeout` or :class:`ConnectionFailed`, and a stream that breaks
    while being read :class:`StreamInterrupted`. An error the service reports inside
    a stream that began well is classified the same way with :meth:`stream_error`. Nothing
    here retries: the core's one retry policy does. ``auth`` is an ``httpx.Auth`` for
    services that sign each request (Azure SharedKey, a bearer token that refreshes).
    """

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        parse_error: Callable[[httpx.Response], ErrorInfo],
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        codes: Mapping[str, type[TenantkitError]] | None = None,
        request_id_header: str | None = None,
        secrets: Iterable[str] = (),
        auth: httpx.Auth | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_connections: int = 10,
        verify: ssl.SSLContext | None = None,
    ) -> None:
        self.provider = provider
        self.request_id_header = request_id_header
        self._codes = codes
        self._secrets = tuple(secret for secret in secrets if secret)
        self._parse_error = redacting(parse_error, *self._secrets)
        self._auth = auth
        self.client: httpx.Client = make_client(
            base_url,
            headers=headers,
            params=params,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_connections=max_connections,
            verify=verify,
        )

    def __repr__(self) -> str:
        return f"ProviderHTTP({self.provider!r}, base_url={str(self.client.base_url)!r})"

    def request(
        self, method: str, url: str, *, accept: Collection[int] = (), **kwargs: Any
    ) -> httpx.Response:
        """Send one request; the response when it succeeded, else the taxonomy's error.

        ``accept`` names statuses besides 2xx that are answers, not errors (a
        resumable upload's ``308 Resume Incomplete``).
        """
        if self._auth is not None:
            kwargs.setdefault("auth", self._auth)
        return send(
            self.client,
            self.provider,
            method,
            url,
            parse_error=self._parse_error,
            request_id_header=self.request_id_header,
            codes=self._codes,
            accept=accept,
            **kwargs,
        )

    def stream(
        self, method: str, url: str, **kwargs: Any
    ) -> contextlib.AbstractContextManager[httpx.Response]:
        """Open a streamed request (see :func:`open_stream`); use it as a context manager."""
        if self._auth is not None:
            kwargs.setdefault("auth", self._auth)
        return open_stream(
            self.client,
            self.provider,
            method,
            url,
            parse_error=self._parse_error,
            request_id_header=self.request_id_header,
            codes=self._codes,
            **kwargs,
        )

    def json(self, response: httpx.Response) -> Any:
        """The JSON body of a successful response.

        A body that is not JSON (a proxy's HTML page, a truncated answer) is
        :class:`ProviderUnavailable`, retryable, naming the provider and the request id.
        """
        try:
            return response.json()
        except ValueError:
            raise ProviderUnavailable(
                f"{self.provider} answered HTTP {response.status_code} with a malformed body "
                "(not JSON)",
                provider=self.provider,
                status=response.status_code,
                request_id=self.request_id(response),
            ) from None

    def stream_error(
        self, status: int, info: ErrorInfo, *, request_id: str | None, delivered: bool
    ) -> TenantkitError:
        """The taxonomy's error for an error the service reported inside a stream that
        began with HTTP 200 (an ``error`` event or chunk).

        ``status`` is the HTTP status the service documents for that error, to
        classify it with the bound codes; the error carries no status. Before any
        content reached the caller (``delivered`` false) it is the plain error, which
        may be retried; after, it is :class:`StreamInterrupted` with the plain error
        as its cause. The bound secrets never reach its message.
        """
        info = info.without(*self._secrets)
        error = classify(self.provider, status, info, request_id=request_id, codes=self._codes)
        error.status = None
        if not isinstance(error, AuthenticationError | PermissionDenied):
            text = info.message.strip() or "no error message"
            error.message = (
                f"the {self.provider} stream reported {info.code or 'an error'}: {_shorten(text)}"
            )
            error.args = (error.message,)
        if not delivered:
            return error
        interrupted = StreamInterrupted(
            error.message, provider=self.provider, code=info.code, request_id=request_id
        )
        interrupted.__cause__ = error
        return interrupted

    def request_id(self, response: httpx.Response) -> str | None:
        """The service's request id of a response, from the bound header."""
        return _header(response, self.request_id_header)

    def close(self) -> None:
        """Close the pooled connections."""
        self.client.close()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    import httpx

    return httpx.create_ssl_context()


def send(
    client: httpx.Client,
    provider: str,
    method: str,
    url: str,
    *,
    parse_error: Callable[[httpx.Response], ErrorInfo],
    request_id_header: str | None = None,
    codes: Mapping[str, type[TenantkitError]] | None = None,
    accept: Collection[int] = (),
    **kwargs: Any,
) -> httpx.Response:
    """Send a request; return the response when it succeeded (or its status is in
    ``accept``), else raise the taxonomy error.

    ``parse_error(response) -> ErrorInfo`` reads the provider's error body.
    """
    with _transport_errors(provider):
        response = client.request(method, url, **kwargs)
    if response.is_success or response.status_code in accept:
        return response
    raise _error(response, provider, parse_error, request_id_header, codes)


@contextmanager
def open_stream(
    client: httpx.Client,
    provider: str,
    method: str,
    url: str,
    *,
    parse_error: Callable[[httpx.Response], ErrorInfo],
    request_id_header: str | None = None,
    codes: Mapping[str, type[TenantkitError]] | None = None,
    **kwargs: Any,
) -> Iterator[httpx.Response]:
    """Open a streamed request; errors before the body are raised as usual, and
    transport failures while the body is read become :class:`StreamInterrupted`."""
    import httpx

    with _transport_errors(provider), client.stream(method, url, **kwargs) as response:
        if not response.is_success:
            response.read()
            raise _error(response, provider, parse_error, request_id_header, codes)
        try:
            yield response
        except (httpx.TransportError, httpx.StreamError) as exc:
            raise StreamInterrupted(
                f"the {provider} stream broke: {type(exc).__name__}",
                provider=provider,
                request_id=_header(response, request_id_header),
            ) from None


@contextmanager
def _transport_errors(provider: str) -> Iterator[None]:
    """Failures to connect or to get an answer in time, as the taxonomy's errors."""
    import httpx

    try:
        yield
    except httpx.TimeoutException as exc:
        raise Timeout(
            f"{provider} did not answer in time ({type(exc).__name__})", provider=provider
        ) from None
    except httpx.TransportError as exc:
        raise ConnectionFailed(
            f"could not reach {provider}: {type(exc).__name__}", provider=provider
        ) from None


def _header(response: httpx.Response, name: str | None) -> str | None:
    return response.headers.get(name) if name else None


def _error(
    response: httpx.Response,
    provider: str,
    parse_error: Callable[[httpx.Response], ErrorInfo],
    request_id_header: str | None,
    codes: Mapping[str, type[TenantkitError]] | None,
) -> TenantkitError:
    try:
        info = parse_error(response)
    except Exception:  # an unparseable error body still has a status to classify
        info = ErrorInfo(message=response.text[:500] if response.text else "")
    return classify(
        provider,
        response.status_code,
        info,
        headers=response.headers,
        request_id=_header(response, request_id_header),
        codes=codes,
    )


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched Server-Sent Event."""

    event: str
    data: str
    id: str | None = None
    retry: int | None = None


def iter_sse(lines: Iterator[str]) -> Iterator[SSEEvent]:
    """Parse an event stream from its lines (``response.iter_lines()``).

    Comment lines (``:``) are skipped; ``data`` lines are joined with ``\\n``; an
    event is dispatched at a blank line, or at the end of the stream if data is
    pending (the standard drops an unterminated last event; providers that close the
    connection right after their last ``data`` line rely on it being kept, and a
    truncated JSON payload still fails to parse); the event type defaults to ``message``.
    """
    event = ""
    data: list[str] = []
    last_id: str | None = None
    retry: int | None = None
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield SSEEvent(event or "message", "\n".join(data), last_id, retry)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id" and "\x00" not in value:
            last_id = value
        elif name == "retry" and value.isdigit():
            retry = int(value)
    if data:
        yield SSEEvent(event or "message", "\n".join(data), last_id, retry)
