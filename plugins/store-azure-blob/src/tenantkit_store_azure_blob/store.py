"""The Azure Blob provider: a tenant's objects in one container, under an optional root prefix.

Built on the Blob service REST API (https://learn.microsoft.com/rest/api/storageservices/blob-service-rest-api)
over the core's bound HTTP client rather than azure-storage-blob: the plugin imports
in a fraction of the SDK's time and each call costs less (``bench/README.md``), the
core's one retry policy stays the only one, and the stored object's size and ETag come
back without another request. Objects are block blobs.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

import httpx

from tenantkit.errors import (
    ConfigurationError,
    InvalidRequest,
    IsolationViolation,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    Unsupported,
)
from tenantkit.http import ProviderHTTP
from tenantkit.registry import ProviderContext
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
from tenantkit_store_azure_blob._auth import SasAuth, SharedKeyAuth
from tenantkit_store_azure_blob._signing import (
    API_VERSION,
    SasFields,
    UserDelegationKey,
    delegation_sas,
    format_time,
    service_sas,
)
from tenantkit_store_azure_blob._wire import (
    CODES,
    META_PREFIX,
    block_list_xml,
    delegation_key_request,
    etag,
    http_date,
    listed_info,
    object_info,
    parse_delegation_key,
    parse_error,
    parse_listing,
)
from tenantkit_store_azure_blob.settings import AzureBlobSettings

if TYPE_CHECKING:
    import ssl

    from tenantkit.azure import EntraToken

__all__ = ["AzureBlobStore"]

log = logging.getLogger("tenantkit_store_azure_blob")

PROVIDER = "azure-blob"
MIB = 1024 * 1024
DEFAULT_BLOCK_SIZE = 4 * MIB
DEFAULT_CONCURRENCY = 4
_MAX_BLOCKS = 50_000
_MAX_BLOCK_SIZE = 4000 * MIB
#: Entra ID scope of Azure Storage (https://learn.microsoft.com/azure/storage/blobs/authorize-access-azure-active-directory).
STORAGE_SCOPE = "https://storage.azure.com/.default"
#: The longest a user delegation key may live (and so any SAS it signs).
_DELEGATION_KEY_LIFETIME = timedelta(days=7)
_COPY_POLL_SECONDS = 0.5
_COPY_TIMEOUT = 300.0


class AzureBlobStore(ObjectStore):
    """A tenant's objects in one Azure Blob Storage container.

    Args:
        settings: the tenant's ``storage`` section.
        context: what the core says about the tenant; its retry policy retries each
            block of a streamed upload (the core does not retry such a call again).
        block_size: bytes per block of a block upload, and the size from which a body
            goes in blocks.
        concurrency: blocks in flight at once; memory stays about
            ``(concurrency + 2) * block_size`` whatever the size of the body.
        read_timeout: seconds to wait for an answer to any one request.
        verify: an SSL context trusting a private CA (a test server); never disables checks.
    """

    #: What the provider supports: presigned GET and PUT URLs (SAS).
    capabilities: ClassVar[frozenset[StorageCapability]] = frozenset({StorageCapability.PRESIGN})
    #: Headers an uploader must send with a presigned PUT URL: Put Blob needs the blob type.
    presigned_put_headers: ClassVar[Mapping[str, str]] = {"x-ms-blob-type": "BlockBlob"}

    def __init__(
        self,
        settings: AzureBlobSettings,
        context: ProviderContext,
        *,
        block_size: int = DEFAULT_BLOCK_SIZE,
        concurrency: int = DEFAULT_CONCURRENCY,
        read_timeout: float = 60.0,
        verify: ssl.SSLContext | None = None,
    ) -> None:
        if not 1 <= block_size <= _MAX_BLOCK_SIZE:
            raise ValueError(f"block_size must be from 1 to {_MAX_BLOCK_SIZE} bytes")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        endpoint = settings.endpoint()
        self._container = settings.container
        self._root = settings.prefix
        self._retry = context.retry
        self._block_size = block_size
        self._concurrency = concurrency
        self._account_url = endpoint.account_url
        self._account = endpoint.account_name
        self._account_key = endpoint.account_key
        self._sas_token = endpoint.sas_token
        self._token: EntraToken | None = None
        self._delegation_key: UserDelegationKey | None = None
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        auth: httpx.Auth
        secret_values: list[str] = []
        if endpoint.account_key is not None:
            auth = SharedKeyAuth(endpoint.account_name, endpoint.account_key)
            secret_values.append(endpoint.account_key)
        elif endpoint.sas_token is not None:
            auth = SasAuth(endpoint.sas_token)
            secret_values.append(endpoint.sas_token)
        else:
            from tenantkit.azure import EntraToken

            entra = settings.entra
            assert entra is not None  # one credential, checked by the settings
            auth = self._token = EntraToken(
                PROVIDER,
                entra.tenant_id,
                entra.client_id,
                entra.client_secret.get_secret_value(),
                STORAGE_SCOPE,
                authority=entra.authority,
                verify=verify,
            )
            secret_values.append(entra.client_secret.get_secret_value())
        self._http = ProviderHTTP(
            PROVIDER,
            endpoint.account_url,
            headers={"x-ms-version": API_VERSION},
            parse_error=parse_error,
            codes=CODES,
            request_id_header="x-ms-request-id",
            secrets=secret_values,
            auth=auth,
            read_timeout=read_timeout,
            max_connections=max(10, concurrency + 2),
            verify=verify,
        )

    def __repr__(self) -> str:
        return (
            f"AzureBlobStore(account={self._account!r}, container={self._container!r}, "
            f"prefix={self._root!r})"
        )

    # --- writing ------------------------------------------------------------------------

    def put(
        self,
        key: str,
        body: Body,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        path = self._path(key)
        headers = _blob_headers(content_type, metadata)
        blocks = PartReader(body, self._block_size)
        whole = blocks.whole()
        if whole is not None:
            return self._put_blob(key, path, bytes(whole), headers, content_type, metadata)
        # The core retries a call with a bytes body as a whole: no retry per block. A
        # stream cannot be read twice, so the core does not retry it: each block is.
        send: Callable[[Callable[[], str]], str] = (
            _once if isinstance(body, bytes | bytearray | memoryview) else self._retry.call
        )
        size, tag, modified = self._put_blocks(path, blocks, headers, send)
        return ObjectInfo(
            key=key,
            size=size,
            etag=tag,
            content_type=content_type,
            last_modified=modified,
            metadata=dict(metadata or {}),
        )

    def _put_blob(
        self,
        key: str,
        path: str,
        data: bytes,
        headers: dict[str, str],
        content_type: str | None,
        metadata: Mapping[str, str] | None,
    ) -> ObjectInfo:
        """Put Blob: the whole body in one request."""
        response = self._request(
            "PUT", path, content=data, headers={**headers, "x-ms-blob-type": "BlockBlob"}
        )
        return ObjectInfo(
            key=key,
            size=len(data),
            etag=etag(response.headers.get("etag")),
            content_type=content_type,
            last_modified=http_date(response.headers.get("last-modified")),
            metadata=dict(metadata or {}),
        )

    def _put_blocks(
        self,
        path: str,
        blocks: Iterator[Part],
        headers: dict[str, str],
        send: Callable[[Callable[[], str]], str],
    ) -> tuple[int, str | None, datetime | None]:
        """Put Block for each block, at most ``concurrency`` in flight, then Put Block List.

        Uncommitted blocks of a failed upload are discarded by the service after a
        week (there is no abort call); they are never visible as the object.
        """
        upload = secrets.token_hex(8)
        ids: list[str] = []
        in_flight: deque[Future[str]] = deque()
        size = 0
        pool = self._executor()
        try:
            for number, block in enumerate(blocks):
                if number >= _MAX_BLOCKS:
                    raise InvalidRequest(
                        f"the body needs more than {_MAX_BLOCKS} blocks of {self._block_size} "
                        "bytes: use a larger block_size"
                    )
                block_id = base64.b64encode(f"{upload}-{number:06d}".encode()).decode()
                ids.append(block_id)
                size += len(block)
                in_flight.append(pool.submit(send, self._block_sender(path, block_id, block)))
                del block
                while len(in_flight) >= self._concurrency:
                    in_flight.popleft().result()
            while in_flight:
                in_flight.popleft().result()
        except BaseException:
            for future in in_flight:
                future.cancel()
            raise
        response = self._request(
            "PUT",
            path,
            params={"comp": "blocklist"},
            content=block_list_xml(ids),
            headers=headers,
        )
        return (
            size,
            etag(response.headers.get("etag")),
            http_date(response.headers.get("last-modified")),
        )

    def _block_sender(self, path: str, block_id: str, block: Part) -> Callable[[], str]:
        data = memoryview(block)
        # Sent in slices with an explicit length: the HTTP layer then never joins the
        # block into one more copy of it (memory stays a few blocks, not twice that).
        headers = {"Content-Length": str(len(data))}

        def put_block() -> str:
            self._request(
                "PUT",
                path,
                params={"comp": "block", "blockid": block_id},
                content=_slices(data),
                headers=headers,
            )
            return block_id

        return put_block

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self._concurrency, thread_name_prefix="azure-blob-block"
                )
            return self._pool

    # --- reading ------------------------------------------------------------------------

    def get(self, key: str, *, offset: int = 0, length: int | None = None) -> bytes:
        if not offset and length is None:
            return self._request("GET", self._path(key)).content
        end = "" if length is None else str(offset + length - 1)
        response = self._request(
            "GET", self._path(key), headers={"x-ms-range": f"bytes={offset}-{end}"}
        )
        total = _range_total(response.headers.get("content-range"))
        if total is not None and offset >= total:
            # The service answers 416 here; some emulators answer an empty 206.
            raise InvalidRequest(
                f"the range starts at {offset}, at or past the end of the {total}-byte object",
                provider=PROVIDER,
                status=416,
                code="InvalidRange",
                request_id=self._http.request_id(response),
            )
        return response.content

    def stream(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        opened = self._http.stream("GET", self._path(key))
        response = opened.__enter__()
        return _chunks(opened, response, chunk_size)

    def head(self, key: str) -> ObjectInfo:
        response = self._request("HEAD", self._path(key))
        return object_info(key, response.headers)

    def list(
        self,
        prefix: str,
        *,
        delimiter: str | None = None,
        cursor: str | None = None,
        limit: int = MAX_LIST_LIMIT,
    ) -> Listing:
        params: dict[str, str] = {
            "restype": "container",
            "comp": "list",
            "prefix": self._root + prefix,
            "maxresults": str(limit),
        }
        if delimiter is not None:
            params["delimiter"] = delimiter
        if cursor is not None:
            params["marker"] = cursor
        response = self._request("GET", f"/{self._container}", params=params)
        page = parse_listing(response.content)
        return Listing(
            objects=[listed_info(self._strip(name), props) for name, props in page.blobs],
            prefixes=[self._strip(name) for name in page.prefixes],
            cursor=page.next_marker,
        )

    # --- copying and deleting -----------------------------------------------------------

    def copy(self, source: str, destination: str) -> ObjectInfo:
        source_url = f"{self._account_url}{self._path(source)}"
        if self._sas_token is not None:
            source_url += "?" + self._sas_token
        response = self._request(
            "PUT", self._path(destination), headers={"x-ms-copy-source": source_url}
        )
        status = response.headers.get("x-ms-copy-status", "success")
        deadline = time.monotonic() + _COPY_TIMEOUT
        info = None
        while status == "pending":
            if time.monotonic() > deadline:
                raise ProviderUnavailable(
                    f"the copy to {destination!r} did not finish in {_COPY_TIMEOUT:.0f} s",
                    provider=PROVIDER,
                )
            time.sleep(_COPY_POLL_SECONDS)
            props = self._request("HEAD", self._path(destination))
            status = props.headers.get("x-ms-copy-status", "success")
            info = object_info(destination, props.headers)
        if status != "success":
            raise ProviderError(
                f"the copy to {destination!r} ended with status {status!r}", provider=PROVIDER
            )
        return info or self.head(destination)

    def delete(self, key: str) -> None:
        with contextlib.suppress(NotFound):
            self._request("DELETE", self._path(key), headers={"x-ms-delete-snapshots": "include"})

    # --- presigned URLs -----------------------------------------------------------------

    def presign_get(self, key: str, *, expires_in: int) -> str:
        return self._presign(key, "r", expires_in)

    def presign_put(self, key: str, *, expires_in: int, content_type: str | None = None) -> str:
        # A SAS cannot bind the uploader's Content-Type; the uploader sends it and
        # x-ms-blob-type (presigned_put_headers).
        return self._presign(key, "cw", expires_in)

    def _presign(self, key: str, permissions: str, expires_in: int) -> str:
        now = datetime.now(UTC).replace(microsecond=0)
        expiry = now + timedelta(seconds=expires_in)
        blob = self._root + key
        protocol = "https" if self._account_url.startswith("https://") else "https,http"
        fields = SasFields(
            account=self._account,
            container=self._container,
            blob=blob,
            permissions=permissions,
            expiry=format_time(expiry),
            protocol=protocol,
        )
        if self._account_key is not None:
            token = service_sas(fields, self._account_key)
        elif self._token is not None:
            token = delegation_sas(fields, self._user_delegation_key(now, expiry))
        else:
            raise Unsupported(
                "azure-blob cannot presign URLs with a SAS token: give an account key or an "
                "Entra ID service principal",
                provider=PROVIDER,
            )
        return f"{self._account_url}{self._path(key)}?{token}"

    def _user_delegation_key(self, now: datetime, expiry: datetime) -> UserDelegationKey:
        """A user delegation key valid until at least ``expiry``, fetched when needed."""
        with self._lock:
            key = self._delegation_key
        if key is not None and key.expiry >= expiry:
            return key
        response = self._request(
            "POST",
            "/",
            params={"restype": "service", "comp": "userdelegationkey"},
            content=delegation_key_request(
                format_time(now), format_time(now + _DELEGATION_KEY_LIFETIME)
            ),
            headers={"Content-Type": "application/xml"},
        )
        try:
            key = parse_delegation_key(response.content)
        except (ValueError, SyntaxError) as exc:
            raise ProviderError(
                f"azure-blob answered Get User Delegation Key with an unreadable key: {exc}",
                provider=PROVIDER,
            ) from None
        with self._lock:
            self._delegation_key = key
        return key

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()
        if self._token is not None:
            self._token.close()

    # --- helpers ------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except NotFound as exc:
            if exc.code == "ContainerNotFound":
                raise ConfigurationError(
                    f"Azure container {self._container!r} does not exist in account "
                    f"{self._account!r}",
                    provider=PROVIDER,
                    status=exc.status,
                    code=exc.code,
                    request_id=exc.request_id,
                ) from None
            raise

    def _path(self, key: str) -> str:
        return f"/{self._container}/{quote(self._root + key, safe='/~')}"

    def _strip(self, full: str) -> str:
        if not full.startswith(self._root):
            raise IsolationViolation(
                f"Azure listed {full!r} outside the configured prefix {self._root!r}",
                provider=PROVIDER,
            )
        return full[len(self._root) :]


def _chunks(
    opened: contextlib.AbstractContextManager[httpx.Response],
    response: httpx.Response,
    chunk_size: int,
) -> Iterator[bytes]:
    """The body in chunks; transport failures while reading become ``StreamInterrupted``
    (raised by the bound client's stream), and the response is released on close."""
    try:
        yield from response.iter_bytes(chunk_size)
    except BaseException as exc:
        if not opened.__exit__(type(exc), exc, exc.__traceback__):
            raise
    else:
        opened.__exit__(None, None, None)


def _range_total(content_range: str | None) -> int | None:
    """The object's size from ``Content-Range: bytes a-b/total``."""
    if not content_range or "/" not in content_range:
        return None
    total = content_range.rsplit("/", 1)[1]
    return int(total) if total.isdigit() else None


def _blob_headers(content_type: str | None, metadata: Mapping[str, str] | None) -> dict[str, str]:
    headers = {f"{META_PREFIX}{name}": value for name, value in (metadata or {}).items()}
    if content_type is not None:
        headers["x-ms-blob-content-type"] = content_type
    return headers


def _once(step: Callable[[], str]) -> str:
    return step()


def _slices(data: memoryview, size: int = 256 * 1024) -> Iterator[memoryview]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
