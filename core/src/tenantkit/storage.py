"""The object storage interface: put, get (whole, streamed, range), head, list, copy,
delete and presigned URLs.

A provider implements :class:`ObjectStore`. Keys reach it already validated and
already placed under the calling tenant's prefix (``"{tenant_id}/"``) by the core's
:class:`tenantkit.TenantStorage`; a provider adds only its own configured root
prefix, if it has one, and must return keys without that root prefix.
"""

# Annotations are evaluated at class definition (no ``from __future__ import
# annotations``): pydantic would otherwise compile each field's annotation from its
# text when the model is defined, a cost paid on every cold start.

import abc
import enum
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import BinaryIO, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from tenantkit.errors import Unsupported

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_LIST_LIMIT",
    "Body",
    "Listing",
    "ObjectInfo",
    "ObjectStore",
    "StorageCapability",
    "iter_body",
    "root_prefix",
]

DEFAULT_CHUNK_SIZE = 1024 * 1024
MAX_LIST_LIMIT = 1000

_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")

Body = bytes | BinaryIO | Iterable[bytes]
"""What ``put`` accepts: bytes, a binary file object, or an iterable of byte chunks."""


class StorageCapability(enum.StrEnum):
    """Optional storage features. Everything else in :class:`ObjectStore` is required."""

    PRESIGN = "presign"
    """``presign_get`` and ``presign_put`` return URLs that work over plain HTTP."""


class ObjectInfo(BaseModel):
    """What ``head``, ``put``, ``copy`` and ``list`` report about an object."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    key: str
    size: int
    etag: str | None = None
    content_type: str | None = None
    last_modified: datetime | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class Listing(BaseModel):
    """One page of a listing. With a delimiter, ``prefixes`` holds the common prefixes."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    objects: list[ObjectInfo] = Field(default_factory=list)
    prefixes: list[str] = Field(default_factory=list)
    cursor: str | None = None


def iter_body(body: Body, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
    """Yield ``body`` as chunks of at most ``chunk_size`` bytes, reading lazily."""
    if isinstance(body, bytes | bytearray | memoryview):
        data = bytes(body)
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]
        return
    read = getattr(body, "read", None)
    if callable(read):
        while True:
            chunk = read(chunk_size)
            if not chunk:
                return
            yield bytes(chunk)
    for chunk in body:
        for start in range(0, len(chunk), chunk_size):
            yield bytes(chunk[start : start + chunk_size])


class ObjectStore(abc.ABC):
    """What an object storage provider implements."""

    capabilities: ClassVar[frozenset[StorageCapability]] = frozenset()
    presigned_put_headers: ClassVar[Mapping[str, str]] = {}
    """Headers an uploader must send with a presigned PUT besides ``Content-Type``
    (Azure Blob needs ``x-ms-blob-type``); applications hand them to the uploader."""

    @abc.abstractmethod
    def put(
        self,
        key: str,
        body: Body,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Store ``body`` at ``key``, replacing any object there.

        Bodies that are not ``bytes`` must be read in bounded chunks: memory used may
        not grow with the size of the body.
        """

    @abc.abstractmethod
    def get(self, key: str, *, offset: int = 0, length: int | None = None) -> bytes:
        """The object's bytes, or ``length`` bytes from ``offset``. ``NotFound`` if absent.

        Ranges follow HTTP: a read with an ``offset`` or a ``length`` whose ``offset``
        is at or past the end of the object raises ``InvalidRequest`` (HTTP 416); a
        range running past the end is cut short.
        """

    @abc.abstractmethod
    def stream(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        """The object's bytes in chunks; the underlying response is released on close."""

    @abc.abstractmethod
    def head(self, key: str) -> ObjectInfo:
        """Size, etag, content type, metadata. ``NotFound`` if absent."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing object is not an error."""

    @abc.abstractmethod
    def list(
        self,
        prefix: str,
        *,
        delimiter: str | None = None,
        cursor: str | None = None,
        limit: int = MAX_LIST_LIMIT,
    ) -> Listing:
        """Objects whose key starts with ``prefix``, in key order, paged by ``cursor``."""

    @abc.abstractmethod
    def copy(self, source: str, destination: str) -> ObjectInfo:
        """Copy an object inside this store. ``NotFound`` if the source is absent."""

    def presign_get(self, key: str, *, expires_in: int) -> str:
        """A URL that downloads the object with a plain GET until it expires."""
        raise Unsupported("this storage does not support presigned URLs")

    def presign_put(self, key: str, *, expires_in: int, content_type: str | None = None) -> str:
        """A URL that uploads the object with a plain PUT until it expires.

        When ``content_type`` is given the upload must send that ``Content-Type``.
        """
        raise Unsupported("this storage does not support presigned URLs")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. Called when the instance is evicted."""


def root_prefix(prefix: str) -> str:
    """An operator's root prefix inside a bucket or container, checked and normalized:
    relative, ``/``-separated, no empty, ``.`` or ``..`` segment, no control character
    or backslash; returned with one trailing ``/`` (``""`` stays ``""``).

    For a settings model's ``field_validator``: raises ``ValueError``.
    """
    if not prefix:
        return ""
    if prefix.startswith("/") or _CONTROL.search(prefix):
        raise ValueError("must be relative, without control characters or backslashes")
    segments = prefix.removesuffix("/").split("/")
    if any(s in ("", ".", "..") for s in segments):
        raise ValueError("must not contain empty, '.' or '..' segments")
    return "/".join(segments) + "/"
