"""The S3 provider: a tenant's objects in a bucket, under an optional root prefix.

Uploads are written here rather than through boto3's transfer manager because the
provider must bound memory for unsized streams exactly (at most ``max_concurrency``
parts in flight, each released once sent), report the stored object (size, ETag)
without another request, retry each request with the core's retry policy and nothing
else (every request of one upload is a step of one :meth:`RetryPolicy.budget`), and
abort the multipart upload on any failure.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any, ClassVar

from tenantkit.aws import ProviderAWS, tenant_client
from tenantkit.errors import (
    ConditionFailed,
    ConfigurationError,
    InvalidRequest,
    IsolationViolation,
    NotFound,
    TenantkitError,
)
from tenantkit.registry import ProviderContext
from tenantkit.retry import RetryBudget
from tenantkit.storage import (
    DEFAULT_CHUNK_SIZE,
    MAX_LIST_LIMIT,
    Body,
    Listing,
    ObjectInfo,
    ObjectStore,
    StorageCapability,
)
from tenantkit.uploads import PartReader
from tenantkit_store_s3.settings import S3Settings

__all__ = ["S3Store"]

log = logging.getLogger("tenantkit_store_s3")

PROVIDER = "s3"
MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB
"""S3's smallest part (all but the last)."""
DEFAULT_PART_SIZE = 8 * MIB
DEFAULT_CONCURRENCY = 4
"""Parts of one upload in flight at once."""
_MAX_PARTS = 10_000
_MAX_COPY_OBJECT = 5 * 1024 * MIB
"""The largest object CopyObject copies in one request; larger ones copy in parts."""
_COPY_PART_SIZE = 512 * MIB

_CODES: dict[str, type[TenantkitError]] = {
    "NoSuchKey": NotFound,
    "NotFound": NotFound,
    "NoSuchUpload": NotFound,
    "PreconditionFailed": ConditionFailed,
    "InvalidRange": InvalidRequest,
    "EntityTooLarge": InvalidRequest,
    "EntityTooSmall": InvalidRequest,
}


class S3Store(ObjectStore):
    """A tenant's objects in one S3 bucket (or an S3-compatible store).

    Args:
        settings: the tenant's ``storage`` section.
        context: what the core says about the tenant: the STS session name, and the
            deployment's retry policy, with which each request of an upload is retried.
        part_size: bytes per part of a multipart upload, and the size from which a
            body goes in parts (at least 5 MiB).
        max_concurrency: parts of one upload sent at once. A streamed upload holds
            about ``(max_concurrency + 2) * part_size`` bytes at its peak.
        read_timeout: seconds to wait for an answer to any one request.
    """

    #: What the provider supports: presigned GET and PUT URLs.
    capabilities: ClassVar[frozenset[StorageCapability]] = frozenset({StorageCapability.PRESIGN})

    def __init__(
        self,
        settings: S3Settings,
        context: ProviderContext,
        *,
        part_size: int = DEFAULT_PART_SIZE,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        read_timeout: float = 60.0,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._settings = settings
        self._bucket = settings.bucket
        self._root = settings.prefix
        self._retry = context.retry
        self._part_size = part_size
        self._concurrency = max_concurrency
        self._aws = ProviderAWS(
            PROVIDER,
            tenant_client(
                "s3",
                settings,
                context.tenant_id,
                read_timeout=read_timeout,
                config={
                    "signature_version": "s3v4",
                    # S3-compatible stores and local stand-ins serve path-style URLs.
                    "s3": {"addressing_style": "path" if settings.endpoint_url else "auto"},
                    # Room for every part in flight, and a request besides.
                    "max_pool_connections": max(10, max_concurrency + 1),
                },
            ),
            codes=_CODES,
            refine=self._refine,
        )
        self._client: Any = self._aws.client

    def __repr__(self) -> str:
        return f"S3Store(bucket={self._bucket!r}, prefix={self._root!r})"

    # --- writing ------------------------------------------------------------------------

    def put(
        self,
        key: str,
        body: Body,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        target = self._full(key)
        extra = self._object_args(content_type, metadata)
        retry = self._retry.budget()
        parts = PartReader(body, self._part_size)
        whole = parts.whole()
        if whole is not None:
            return self._put_one(key, target, bytes(whole), extra, content_type, metadata, retry)
        size, etag = self._multipart(target, extra, parts, self._upload_part, retry)
        return ObjectInfo(
            key=key,
            size=size,
            etag=etag,
            content_type=content_type,
            metadata=dict(metadata or {}),
        )

    def _put_one(
        self,
        key: str,
        target: str,
        data: bytes,
        extra: dict[str, Any],
        content_type: str | None,
        metadata: Mapping[str, str] | None,
        retry: RetryBudget,
    ) -> ObjectInfo:
        answer = retry.call(
            lambda: self._aws.call(
                "put_object", Bucket=self._bucket, Key=target, Body=data, **extra
            )
        )
        return ObjectInfo(
            key=key,
            size=len(data),
            etag=_etag(answer.get("ETag")),
            content_type=content_type,
            metadata=dict(metadata or {}),
        )

    def _multipart(
        self,
        target: str,
        extra: dict[str, Any],
        parts: Iterator[Any],
        send_part: Callable[[str, str, int, Any], str],
        retry: RetryBudget,
    ) -> tuple[int, str | None]:
        """Create a multipart upload, send its parts, complete it; abort on any failure.

        ``parts`` yields what ``send_part(target, upload_id, number, part)`` sends. Up
        to ``max_concurrency`` parts are sent at once, each a step of ``retry``; the
        next part is read only when one of them is done, and a part is released once
        sent. Returns the size and the ETag of the object.
        """
        upload_id = retry.call(
            lambda: self._aws.call(
                "create_multipart_upload", Bucket=self._bucket, Key=target, **extra
            )
        )["UploadId"]
        try:
            send = functools.partial(send_part, target, upload_id)
            size, done = self._send_parts(parts, lambda n, p: retry.call(lambda: send(n, p)))
            answer = retry.call(
                lambda: self._aws.call(
                    "complete_multipart_upload",
                    Bucket=self._bucket,
                    Key=target,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": done},
                )
            )
        except BaseException:
            self._abort(target, upload_id)
            raise
        return size, _etag(answer.get("ETag"))

    def _send_parts(
        self, parts: Iterator[Any], send: Callable[[int, Any], str]
    ) -> tuple[int, list[dict[str, Any]]]:
        """Send every part with at most ``max_concurrency`` in flight; the first failure
        stops the reading, lets the parts in flight end, and is raised."""
        etags: dict[int, str] = {}
        size = 0
        with ThreadPoolExecutor(self._concurrency, thread_name_prefix="s3-part") as pool:
            flight: dict[Future[str], int] = {}

            def settle(futures: set[Future[str]]) -> None:
                for future in futures:
                    etags[flight.pop(future)] = future.result()

            try:
                for number, part in enumerate(parts, start=1):
                    if number > _MAX_PARTS:
                        raise InvalidRequest(
                            f"the body needs more than {_MAX_PARTS} parts of "
                            f"{self._part_size} bytes: use a larger part_size"
                        )
                    size += _length(part)
                    flight[pool.submit(send, number, part)] = number
                    del part  # held by the task until it is sent, then released
                    if len(flight) >= self._concurrency:
                        settle(wait(flight, return_when=FIRST_COMPLETED).done)
                settle(wait(flight).done)
            except BaseException:
                for future in flight:
                    future.cancel()
                raise
        return size, [{"ETag": etags[n], "PartNumber": n} for n in sorted(etags)]

    def _upload_part(self, target: str, upload_id: str, number: int, part: Any) -> str:
        answer = self._aws.call(
            "upload_part",
            Bucket=self._bucket,
            Key=target,
            UploadId=upload_id,
            PartNumber=number,
            Body=bytes(part) if isinstance(part, memoryview) else part,
        )
        return str(answer["ETag"])

    def _abort(self, target: str, upload_id: str) -> None:
        try:
            self._aws.call(
                "abort_multipart_upload", Bucket=self._bucket, Key=target, UploadId=upload_id
            )
        except TenantkitError as exc:
            # The original failure is what the caller needs; the parts left behind are
            # removed by the bucket's AbortIncompleteMultipartUpload lifecycle rule.
            log.warning(
                "could not abort multipart upload of %s in bucket %s: %s",
                target,
                self._bucket,
                exc.code or type(exc).__name__,
            )

    # --- reading ------------------------------------------------------------------------

    def get(self, key: str, *, offset: int = 0, length: int | None = None) -> bytes:
        params: dict[str, Any] = {"Bucket": self._bucket, "Key": self._full(key)}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            params["Range"] = f"bytes={offset}-{end}"
        with self._aws.translating():
            answer = self._client.get_object(**params)
            with answer["Body"] as body:
                data: bytes = body.read()
        return data

    def stream(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        body = self._aws.call("get_object", Bucket=self._bucket, Key=self._full(key))["Body"]
        return self._chunks(body, chunk_size)

    def _chunks(self, body: Any, chunk_size: int) -> Iterator[bytes]:
        try:
            with self._aws.translating():
                yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def head(self, key: str) -> ObjectInfo:
        answer = self._aws.call("head_object", Bucket=self._bucket, Key=self._full(key))
        return _info(key, answer)

    def list(
        self,
        prefix: str,
        *,
        delimiter: str | None = None,
        cursor: str | None = None,
        limit: int = MAX_LIST_LIMIT,
    ) -> Listing:
        params: dict[str, Any] = {
            "Bucket": self._bucket,
            "Prefix": self._root + prefix,
            "MaxKeys": limit,
        }
        if delimiter is not None:
            params["Delimiter"] = delimiter
        if cursor is not None:
            params["ContinuationToken"] = cursor
        answer = self._aws.call("list_objects_v2", **params)
        objects = [
            ObjectInfo(
                key=self._strip(entry["Key"]),
                size=entry.get("Size", 0),
                etag=_etag(entry.get("ETag")),
                last_modified=entry.get("LastModified"),
            )
            for entry in answer.get("Contents", ())
        ]
        prefixes = [self._strip(entry["Prefix"]) for entry in answer.get("CommonPrefixes", ())]
        following = answer.get("NextContinuationToken") if answer.get("IsTruncated") else None
        return Listing(objects=objects, prefixes=prefixes, cursor=following)

    # --- copying and deleting -----------------------------------------------------------

    def copy(self, source: str, destination: str) -> ObjectInfo:
        src, dst = self._full(source), self._full(destination)
        original = self._aws.call("head_object", Bucket=self._bucket, Key=src)
        size = int(original.get("ContentLength", 0))
        sse = self._encryption_args()
        if size <= _MAX_COPY_OBJECT:
            answer = self._aws.call(
                "copy_object",
                Bucket=self._bucket,
                Key=dst,
                CopySource={"Bucket": self._bucket, "Key": src},
                **sse,
            )
            result = answer.get("CopyObjectResult", {})
            etag, modified = _etag(result.get("ETag")), result.get("LastModified")
        else:
            etag, modified = self._copy_in_parts(src, dst, size, original, sse), None
        info = _info(destination, original)
        return info.model_copy(update={"etag": etag, "last_modified": modified})

    def _copy_in_parts(
        self, src: str, dst: str, size: int, original: Mapping[str, Any], sse: dict[str, Any]
    ) -> str | None:
        part = max(_COPY_PART_SIZE, math.ceil(size / _MAX_PARTS))
        ranges = ((start, min(start + part, size) - 1) for start in range(0, size, part))
        extra = dict(sse)
        if original.get("ContentType"):
            extra["ContentType"] = original["ContentType"]
        if original.get("Metadata"):
            extra["Metadata"] = original["Metadata"]

        def send_part(target: str, upload_id: str, number: int, span: tuple[int, int]) -> str:
            answer = self._aws.call(
                "upload_part_copy",
                Bucket=self._bucket,
                Key=target,
                UploadId=upload_id,
                PartNumber=number,
                CopySource={"Bucket": self._bucket, "Key": src},
                CopySourceRange=f"bytes={span[0]}-{span[1]}",
            )
            return str(answer["CopyPartResult"]["ETag"])

        _, etag = self._multipart(dst, extra, ranges, send_part, self._retry.budget())
        return etag

    def delete(self, key: str) -> None:
        self._aws.call("delete_object", Bucket=self._bucket, Key=self._full(key))

    # --- presigned URLs -----------------------------------------------------------------

    def presign_get(self, key: str, *, expires_in: int) -> str:
        return self._presign("get_object", {"Key": self._full(key)}, expires_in)

    def presign_put(self, key: str, *, expires_in: int, content_type: str | None = None) -> str:
        params: dict[str, Any] = {"Key": self._full(key)}
        if content_type is not None:
            params["ContentType"] = content_type
        return self._presign("put_object", params, expires_in)

    def _presign(self, operation: str, params: dict[str, Any], expires_in: int) -> str:
        with self._aws.translating():
            url: str = self._client.generate_presigned_url(
                operation, Params={"Bucket": self._bucket, **params}, ExpiresIn=expires_in
            )
        return url

    def close(self) -> None:
        self._aws.close()

    # --- helpers ------------------------------------------------------------------------

    def _full(self, key: str) -> str:
        return self._root + key

    def _strip(self, full: str) -> str:
        if not full.startswith(self._root):
            raise IsolationViolation(
                f"S3 listed {full!r} outside the configured prefix {self._root!r}",
                provider=PROVIDER,
            )
        return full[len(self._root) :]

    def _encryption_args(self) -> dict[str, Any]:
        if self._settings.kms_key_id is None:
            return {}
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self._settings.kms_key_id}

    def _object_args(
        self, content_type: str | None, metadata: Mapping[str, str] | None
    ) -> dict[str, Any]:
        extra = self._encryption_args()
        if content_type is not None:
            extra["ContentType"] = content_type
        if metadata:
            extra["Metadata"] = dict(metadata)
        return extra

    def _refine(self, error: TenantkitError) -> TenantkitError:
        if error.code == "NoSuchBucket":
            where = self._settings.endpoint_url or self._settings.region
            return ConfigurationError(
                f"S3 bucket {self._bucket!r} does not exist ({where})",
                provider=PROVIDER,
                status=error.status,
                code=error.code,
                request_id=error.request_id,
            )
        return error


def _length(part: Any) -> int:
    if isinstance(part, tuple):
        return int(part[1] - part[0] + 1)
    return len(part)


def _etag(value: Any) -> str | None:
    return str(value).strip('"') if value else None


def _info(key: str, answer: Mapping[str, Any]) -> ObjectInfo:
    modified = answer.get("LastModified")
    return ObjectInfo(
        key=key,
        size=int(answer.get("ContentLength", 0)),
        etag=_etag(answer.get("ETag")),
        content_type=answer.get("ContentType"),
        last_modified=modified if isinstance(modified, datetime) else None,
        metadata=dict(answer.get("Metadata") or {}),
    )
