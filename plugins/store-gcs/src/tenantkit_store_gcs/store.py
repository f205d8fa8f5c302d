"""The Cloud Storage provider: a tenant's objects in a bucket, under an optional root
prefix, over the JSON API (https://cloud.google.com/storage/docs/json_api).

* Bytes go up in one multipart upload request (metadata and media together); the
  core retries it whole. Streams go up as a resumable upload in chunks
  (https://cloud.google.com/storage/docs/performing-resumable-uploads#chunked-upload),
  one chunk in memory at a time; each chunk is retried with the deployment's retry
  policy after asking the server how much it kept.
* Copies are ``rewrite`` calls, looping on ``rewriteToken`` for large objects; each
  call is a step of one retry budget (an error the budget gave up on is not retried
  again by the core).
* Presigned URLs are V4 signed URLs (see :mod:`tenantkit_store_gcs._signing`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import secrets
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from tenantkit.errors import (
    ConfigurationError,
    InvalidRequest,
    IsolationViolation,
    NotFound,
    ProviderError,
    TenantkitError,
)
from tenantkit.http import ProviderHTTP
from tenantkit.registry import ProviderContext
from tenantkit.retry import RetryPolicy
from tenantkit.storage import (
    DEFAULT_CHUNK_SIZE,
    MAX_LIST_LIMIT,
    Body,
    Listing,
    ObjectInfo,
    ObjectStore,
    StorageCapability,
)
from tenantkit.uploads import Part, PartReader
from tenantkit_store_gcs._auth import BearerAuth, Signer, build_credentials, token_http
from tenantkit_store_gcs._signing import signed_url
from tenantkit_store_gcs._wire import (
    CODES,
    PROVIDER,
    REQUEST_ID_HEADER,
    object_fields,
    object_info,
    object_path,
    parse_error,
)
from tenantkit_store_gcs.settings import GCSSettings

if TYPE_CHECKING:
    import httpx

__all__ = ["GCSStore"]

log = logging.getLogger("tenantkit_store_gcs")

KIB = 1024
MIB = 1024 * KIB
CHUNK_GRANULE = 256 * KIB
"""Every chunk of a resumable upload but the last is a multiple of 256 KiB."""
DEFAULT_UPLOAD_CHUNK = 8 * MIB
_RESUME_INCOMPLETE = 308
_LIST_FIELDS = "items(name,size,etag,md5Hash,contentType,updated),prefixes,nextPageToken"


class GCSStore(ObjectStore):
    """A tenant's objects in one Cloud Storage bucket.

    Args:
        settings: the tenant's ``storage`` section.
        context: what the core says about the tenant; ``context.retry`` retries each
            step of a chunked upload and of a rewrite.
        chunk_size: bytes per chunk of a resumable upload (a multiple of 256 KiB), and
            the size from which a stream goes up in chunks. Memory use is about twice this.
        read_timeout: seconds to wait for an answer to any one request.
    """

    #: What the provider supports: presigned GET and PUT URLs (V4 signed URLs).
    capabilities: ClassVar[frozenset[StorageCapability]] = frozenset({StorageCapability.PRESIGN})

    def __init__(
        self,
        settings: GCSSettings,
        context: ProviderContext,
        *,
        chunk_size: int = DEFAULT_UPLOAD_CHUNK,
        read_timeout: float = 60.0,
    ) -> None:
        if chunk_size < CHUNK_GRANULE or chunk_size % CHUNK_GRANULE:
            raise ValueError(f"chunk_size must be a positive multiple of {CHUNK_GRANULE} bytes")
        self._settings = settings
        self._bucket = settings.bucket
        self._root = settings.prefix
        self._retry: RetryPolicy = context.retry
        self._chunk = chunk_size
        self._endpoint = settings.endpoint
        self._origin = _origin(settings.endpoint)
        self._tokens = token_http()
        credentials = build_credentials(settings)
        self._auth = BearerAuth(credentials, self._tokens)
        self._signer = Signer(settings, credentials)
        self._http = ProviderHTTP(
            PROVIDER,
            settings.endpoint,
            parse_error=parse_error,
            codes=CODES,
            request_id_header=REQUEST_ID_HEADER,
            auth=self._auth,
            read_timeout=read_timeout,
        )

    def __repr__(self) -> str:
        return f"GCSStore(bucket={self._bucket!r}, prefix={self._root!r})"

    # --- writing ------------------------------------------------------------------------

    def put(
        self,
        key: str,
        body: Body,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        resource = self._resource(key, content_type, metadata)
        if isinstance(body, bytes | bytearray | memoryview):
            return object_info(key, self._upload_whole(resource, bytes(body)))
        chunks = PartReader(body, self._chunk)
        whole = chunks.whole()
        if whole is not None:
            # The whole stream fits in one chunk: one request, retried here because the
            # core does not retry a stream (this step is safe to repeat: it is in memory).
            answer = self._retry.call(functools.partial(self._upload_whole, resource, bytes(whole)))
            return object_info(key, answer)
        return object_info(key, self._upload_resumable(resource, chunks))

    def _resource(
        self, key: str, content_type: str | None, metadata: Mapping[str, str] | None
    ) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "name": self._full(key),
            # Cloud Storage's own default, stated so every server agrees.
            "contentType": content_type or "application/octet-stream",
        }
        if metadata:
            resource["metadata"] = dict(metadata)
        return resource

    def _upload_whole(self, resource: dict[str, Any], data: bytes) -> dict[str, Any]:
        """A multipart upload: the object's resource and its bytes in one request
        (https://cloud.google.com/storage/docs/uploading-objects#uploading-an-object)."""
        boundary = secrets.token_hex(16)
        while boundary.encode() in data:  # pragma: no cover - 2**-128 per position
            boundary = secrets.token_hex(16)
        head = (
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
            f"{json.dumps(resource)}\r\n"
            f"--{boundary}\r\nContent-Type: {resource['contentType']}\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        response = self._http.request(
            "POST",
            f"/upload/storage/v1/b/{self._bucket}/o",
            params={"uploadType": "multipart"},
            # One buffer is one socket write; a large body goes as a list instead, so
            # it is not copied (a list, unlike an iterator, is sent again after a 401).
            content=head + data + tail if len(data) <= self._chunk else [head, data, tail],
            headers={
                "Content-Type": f"multipart/related; boundary={boundary}",
                "Content-Length": str(len(head) + len(data) + len(tail)),
            },
        )
        return self._json(response)

    def _upload_resumable(self, resource: dict[str, Any], chunks: PartReader) -> dict[str, Any]:
        """Upload ``chunks`` (at least two) as one resumable upload, holding the chunk
        being sent (the reader tells the last one with a small look-ahead)."""
        retry = self._retry.budget()  # every request of the upload is a step of one budget
        session = retry.call(functools.partial(self._start_session, resource))
        try:
            offset = 0
            for chunk in chunks:
                total = offset + len(chunk) if chunks.at_end() else None
                answer = retry.call(self._chunk_step(session, chunk, offset, total))
                offset += len(chunk)
                del chunk  # released before the next is read
                if total is not None:
                    assert answer is not None
                    return answer
        except BaseException:
            self._cancel(session)
            raise
        raise AssertionError("unreachable: the last chunk returns")  # pragma: no cover

    def _start_session(self, resource: dict[str, Any]) -> str:
        response = self._http.request(
            "POST",
            f"/upload/storage/v1/b/{self._bucket}/o",
            params={"uploadType": "resumable"},
            json=resource,
            headers={"X-Upload-Content-Type": resource["contentType"]},
        )
        session = str(response.headers.get("location", ""))
        if _origin(session) != self._origin:
            raise ProviderError(
                "gcs answered a resumable upload with a session URL outside its endpoint",
                provider=PROVIDER,
            )
        return session

    def _chunk_step(
        self, session: str, chunk: Part, offset: int, total: int | None
    ) -> Callable[[], dict[str, Any] | None]:
        """One step of the upload: send ``chunk`` (at ``offset``; ``total`` is known at
        the last chunk). A repeated attempt first asks how much the server kept and
        sends only the rest. The step answers the object's resource after the last chunk."""
        attempts = 0

        def step() -> dict[str, Any] | None:
            nonlocal attempts
            attempts += 1
            skip = 0
            if attempts > 1:
                kept = self._committed(session, total)
                if isinstance(kept, dict):
                    return kept
                skip = min(len(chunk), max(0, kept - offset))
                if skip == len(chunk) and total is None:
                    return None
            return self._send_chunk(
                session, memoryview(chunk)[skip:] if skip else chunk, offset + skip, total
            )

        return step

    def _send_chunk(
        self, session: str, part: Part, start: int, total: int | None
    ) -> dict[str, Any] | None:
        size = "*" if total is None else str(total)
        span = f"{start}-{start + len(part) - 1}" if len(part) else "*"
        body = _Body(part)
        try:
            response = self._http.request(
                "PUT",
                session,
                content=body,
                headers={
                    "Content-Range": f"bytes {span}/{size}",
                    "Content-Length": str(len(part)),
                },
                accept=(_RESUME_INCOMPLETE,),
            )
        finally:
            body.release()
        if total is None:
            if response.status_code != _RESUME_INCOMPLETE:
                raise ProviderError(
                    f"gcs finished a resumable upload early (HTTP {response.status_code})",
                    provider=PROVIDER,
                )
            return None
        if response.status_code == _RESUME_INCOMPLETE:
            raise ProviderError(
                "gcs did not finish the resumable upload after its last chunk", provider=PROVIDER
            )
        return self._json(response)

    def _committed(self, session: str, total: int | None) -> int | dict[str, Any]:
        """How many bytes the server kept (asked with ``Content-Range: bytes */N``), or
        the object's resource if the upload is already complete."""
        response = self._http.request(
            "PUT",
            session,
            headers={"Content-Range": f"bytes */{'*' if total is None else total}"},
            accept=(_RESUME_INCOMPLETE,),
        )
        if response.status_code != _RESUME_INCOMPLETE:
            return self._json(response)
        kept = response.headers.get("range", "")  # "bytes=0-N"
        return int(kept.rpartition("-")[2]) + 1 if kept else 0

    def _cancel(self, session: str) -> None:
        try:
            self._http.request("DELETE", session, accept=(499,))
        except TenantkitError as exc:
            # The caller needs the original failure; an abandoned session expires after
            # a week and stores nothing.
            log.warning("could not cancel a gcs resumable upload: %s", type(exc).__name__)

    # --- reading ------------------------------------------------------------------------

    def get(self, key: str, *, offset: int = 0, length: int | None = None) -> bytes:
        headers = {}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            headers["Range"] = f"bytes={offset}-{end}"
        try:
            response = self._http.request(
                "GET", self._path(key), params={"alt": "media"}, headers=headers
            )
        except InvalidRequest as exc:
            if exc.status == 416:
                self._drop_idle_connections()
            raise
        return response.content

    def stream(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        stack = contextlib.ExitStack()
        response = stack.enter_context(
            self._http.stream("GET", self._path(key), params={"alt": "media"})
        )
        return _read(stack, response, chunk_size)

    def head(self, key: str) -> ObjectInfo:
        return object_info(key, self._json(self._http.request("GET", self._path(key))))

    def list(
        self,
        prefix: str,
        *,
        delimiter: str | None = None,
        cursor: str | None = None,
        limit: int = MAX_LIST_LIMIT,
    ) -> Listing:
        params: dict[str, Any] = {
            "prefix": self._root + prefix,
            "maxResults": limit,
            "fields": _LIST_FIELDS,
        }
        if delimiter is not None:
            params["delimiter"] = delimiter
        if cursor is not None:
            params.update(_open_cursor(cursor))
        try:
            answer = self._json(
                self._http.request("GET", f"/storage/v1/b/{self._bucket}/o", params=params)
            )
        except NotFound:
            raise self._no_bucket() from None
        items: list[dict[str, Any]] = answer.get("items") or []
        prefixes: list[str] = answer.get("prefixes") or []
        following = answer.get("nextPageToken")
        cursor = _cursor("pageToken", following) if following else None
        if len(items) + len(prefixes) > limit or (following and prefixes):
            items, prefixes, cursor = _cut(items, prefixes, bool(following), limit, delimiter)
        # One validation for the page, not one per object.
        return Listing.model_validate(
            {
                "objects": [object_fields(self._strip(item["name"]), item) for item in items],
                "prefixes": [self._strip(name) for name in prefixes],
                "cursor": cursor,
            }
        )

    # --- copying and deleting -----------------------------------------------------------

    def copy(self, source: str, destination: str) -> ObjectInfo:
        url = (
            f"{self._path(source)}/rewriteTo/b/{self._bucket}/o/"
            f"{object_path(self._bucket, self._full(destination)).rpartition('/')[2]}"
        )
        token: str | None = None
        retry = self._retry.budget()  # every call of the rewrite is a step of one budget
        while True:
            answer = retry.call(functools.partial(self._rewrite, url, token))
            if answer.get("done"):
                return object_info(destination, answer["resource"])
            token = answer.get("rewriteToken")
            if not token:
                raise ProviderError(
                    "gcs answered an unfinished rewrite without a rewriteToken", provider=PROVIDER
                )

    def _rewrite(self, url: str, token: str | None) -> dict[str, Any]:
        """One call of ``objects.rewrite``
        (https://cloud.google.com/storage/docs/json_api/v1/objects/rewrite)."""
        params = {"rewriteToken": token} if token else {}
        return self._json(self._http.request("POST", url, params=params, json={}))

    def delete(self, key: str) -> None:
        with contextlib.suppress(NotFound):
            self._http.request("DELETE", self._path(key))

    # --- presigned URLs -----------------------------------------------------------------

    def presign_get(self, key: str, *, expires_in: int) -> str:
        return self._presign("GET", key, expires_in, {})

    def presign_put(self, key: str, *, expires_in: int, content_type: str | None = None) -> str:
        headers = {"Content-Type": content_type} if content_type is not None else {}
        return self._presign("PUT", key, expires_in, headers)

    def _presign(self, method: str, key: str, expires_in: int, headers: dict[str, str]) -> str:
        if not 1 <= expires_in <= 7 * 24 * 3600:
            raise InvalidRequest("expires_in must be from 1 to 604800 seconds (7 days)")
        return signed_url(
            endpoint=self._endpoint,
            bucket=self._bucket,
            name=self._full(key),
            method=method,
            expires_in=expires_in,
            email=self._signer.email,
            sign=lambda message: self._signer.sign(message, self._http),
            now=_now(),
            headers=headers,
        )

    def close(self) -> None:
        self._http.close()
        self._tokens.close()

    # --- helpers ------------------------------------------------------------------------

    def _full(self, key: str) -> str:
        return self._root + key

    def _path(self, key: str) -> str:
        return object_path(self._bucket, self._full(key))

    def _strip(self, full: str) -> str:
        if not full.startswith(self._root):
            raise IsolationViolation(
                f"gcs listed {full!r} outside the configured prefix {self._root!r}",
                provider=PROVIDER,
            )
        return full[len(self._root) :]

    def _drop_idle_connections(self) -> None:
        """Close the pooled connections. fake-gcs-server closes its connection after a
        416 without a ``Connection: close``; a request sent on it at once would race
        that close and fail. The next request opens a fresh connection."""
        self._http.client._transport.close()

    def _no_bucket(self) -> ConfigurationError:
        return ConfigurationError(
            f"gcs bucket {self._bucket!r} does not exist ({self._endpoint})", provider=PROVIDER
        )

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            answer = response.json()
        except ValueError:
            raise ProviderError(
                f"gcs answered HTTP {response.status_code} with a body that is not JSON",
                provider=PROVIDER,
            ) from None
        if not isinstance(answer, dict):
            raise ProviderError("gcs answered with JSON that is not an object", provider=PROVIDER)
        return answer


class _Body:
    """A request body that can be sent again (after a 401) until it is released.

    httpx's responses sit in reference cycles that only the garbage collector frees,
    and each keeps its request's body: releasing the chunk once its request is done
    keeps memory bounded to the chunks in hand, not to every chunk sent so far.
    """

    def __init__(self, data: Part) -> None:
        self._data: Part = data

    def __iter__(self) -> Iterator[Part]:
        yield self._data

    def release(self) -> None:
        self._data = bytearray()


def _now() -> datetime:
    return datetime.now(UTC)


def _cursor(kind: str, value: str) -> str:
    return json.dumps({kind: value}, separators=(",", ":"))


def _cut(
    items: list[dict[str, Any]],
    prefixes: list[str],
    more: bool,
    limit: int,
    delimiter: str | None,
) -> tuple[list[dict[str, Any]], list[str], str | None]:
    """A page cut to ``limit`` entries, and the cursor of what follows.

    Cloud Storage returns entries in name order and counts items and prefixes together
    against ``maxResults``; a server that returns more is cut here. While it has more
    items (``more``), prefixes past its last item are left for later, as items before
    them may be missing. The next page starts after the last entry kept
    (``startOffset`` lists names at or after it).
    """
    entries: list[tuple[str, dict[str, Any] | None]] = sorted(
        [(item["name"], item) for item in items] + [(p, None) for p in prefixes],
        key=lambda entry: entry[0].encode(),
    )
    kept = entries
    if more and items:
        last = max(item["name"].encode() for item in items)
        kept = [entry for entry in kept if entry[0].encode() <= last]
    kept = kept[:limit]
    cursor = _cursor("startOffset", _after(kept[-1][0], delimiter)) if kept else None
    if len(kept) == len(entries) and not more:
        cursor = None
    return (
        [item for _, item in kept if item is not None],
        [name for name, item in kept if item is None],
        cursor,
    )


def _after(name: str, delimiter: str | None) -> str:
    """The smallest name that sorts after ``name`` and, for a common prefix, after
    everything under it."""
    if delimiter and name.endswith(delimiter):
        return name[:-1] + chr(ord(name[-1]) + 1)
    return name + "\x00"


def _open_cursor(cursor: str) -> dict[str, str]:
    """The list parameter a cursor holds (``pageToken`` or ``startOffset``)."""
    try:
        data = json.loads(cursor)
    except ValueError:
        data = None
    if (
        not isinstance(data, dict)
        or len(data) != 1
        or not data.keys() <= {"pageToken", "startOffset"}
        or not all(isinstance(v, str) for v in data.values())
    ):
        raise InvalidRequest("not a gcs listing cursor")
    return data


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _read(stack: contextlib.ExitStack, response: httpx.Response, size: int) -> Iterator[bytes]:
    with stack:
        yield from response.iter_bytes(size)
