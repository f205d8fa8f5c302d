"""The ``local`` object storage provider: objects kept in a directory on this machine.

It serves local development, the demo and the conformance kit's self-test. Its
presigned URLs are served by :class:`tenantkit.providers.local_presign.PresignApp`,
a WSGI application over the same directory.

Layout. A key's ``/``-separated segments become nested directories; every name on
disk carries a marker so that no key can collide with another key, with the
provider's own files or with a path outside the root:

* ``d.<segment>`` is a directory holding the keys below ``<segment>/``,
* ``o.<segment>`` is an object file,
* ``t.*.tmp`` is an upload in progress (never listed).

Segments are percent-encoded (``urllib.parse.quote`` with no safe characters), so a
name on disk is plain ASCII and ``a`` and ``a/b`` can both exist. An object file
holds the object's bytes followed by a JSON header (content type, metadata, MD5
etag) and an 8-byte footer giving the header's length: one file, written to a
temporary name in the same directory and renamed into place, so readers see either
the old object or the new one, never a mix, and metadata never disagrees with the
bytes. The root must be on a case-sensitive file system (keys differing only in
case would otherwise collide); each encoded segment must fit in a file name (at
most 253 bytes once encoded), else the key is refused with ``InvalidKey``.

Range reads follow HTTP range semantics: a read with an ``offset`` or a ``length``
is a range read; one starting at or past the end of the object raises
``InvalidRequest`` (HTTP 416), one running past the end is cut short.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import json
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, ClassVar
from urllib.parse import quote, unquote, urlencode

from pydantic import ConfigDict, Field, field_validator

from tenantkit.errors import (
    ConfigurationError,
    InvalidCursor,
    InvalidKey,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ProviderError,
    QuotaExceeded,
    TenantkitError,
)
from tenantkit.hookspecs import hookimpl
from tenantkit.identifiers import is_tenant_id
from tenantkit.registry import ProviderContext, Register
from tenantkit.settings import ProviderSettings, Secret
from tenantkit.storage import (
    DEFAULT_CHUNK_SIZE,
    MAX_LIST_LIMIT,
    Body,
    Listing,
    ObjectInfo,
    ObjectStore,
    StorageCapability,
    iter_body,
)

__all__ = ["DEFAULT_BASE_URL", "LocalObjectStore", "LocalStorageSettings"]

DEFAULT_BASE_URL = "http://127.0.0.1:8000/_storage"
DEFAULT_CONTENT_TYPE = "application/octet-stream"

_OBJECT = "o."
_DIRECTORY = "d."
_TEMP = "t."
_MAX_NAME_BYTES = 255
_FOOTER = struct.Struct(">I4s")
_MAGIC = b"TKo1"
_MAX_HEADER_BYTES = 64 * 1024
_MAX_CONTENT_TYPE = 255
_SIGNATURE_VERSION = "tenantkit-local-presign-v2"


class LocalStorageSettings(ProviderSettings):
    """Settings of the ``local`` provider (its section of a tenant secret).

    Every field is operator-owned: where the objects live and who may sign URLs to them.
    """

    model_config = ConfigDict(hide_input_in_errors=True)

    root: Path
    """The directory holding the objects (created if missing)."""
    base_url: str = DEFAULT_BASE_URL
    """Where :class:`~tenantkit.providers.local_presign.PresignApp` is served."""
    signing_key: Secret = Field(min_length=16)
    """The HMAC-SHA256 key of presigned URLs (at least 16 characters)."""

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or "?" in value or "#" in value:
            raise ValueError("must be an http:// or https:// URL without query or fragment")
        return value.rstrip("/")


@dataclass(frozen=True)
class _Header:
    size: int
    etag: str
    content_type: str
    metadata: dict[str, str]
    modified: float

    def info(self, key: str) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=self.size,
            etag=self.etag,
            content_type=self.content_type,
            last_modified=datetime.fromtimestamp(self.modified, UTC),
            metadata=dict(self.metadata),
        )


class LocalObjectStore(ObjectStore):
    """Objects in a local directory, with presigned URLs signed by HMAC-SHA256.

    ``context`` is accepted as every provider factory's is; scoping is the core's job.
    Thread-safe, and safe for several processes sharing one root: every write is a
    rename of a complete file.
    """

    capabilities: ClassVar[frozenset[StorageCapability]] = frozenset({StorageCapability.PRESIGN})

    def __init__(
        self, settings: LocalStorageSettings, context: ProviderContext | None = None
    ) -> None:
        try:
            settings.root.mkdir(parents=True, exist_ok=True)
            self._root = settings.root.resolve(strict=True)
        except OSError as exc:
            raise ConfigurationError(
                f"local storage root {str(settings.root)!r} is unusable: {exc.strerror}"
            ) from None
        if not self._root.is_dir():
            raise ConfigurationError(f"local storage root {str(self._root)!r} is not a directory")
        self._base_url = settings.base_url
        self._signing_key = settings.signing_key.get_secret_value().encode()

    def __repr__(self) -> str:
        return f"LocalObjectStore(root={str(self._root)!r}, base_url={self._base_url!r})"

    @property
    def root(self) -> Path:
        """The resolved storage directory."""
        return self._root

    # --- writing --------------------------------------------------------------------

    def put(
        self,
        key: str,
        body: Body,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        path = self._path(key)
        ctype = _content_type(content_type)
        meta = _metadata(metadata)
        if isinstance(body, str):
            raise InvalidRequest("body must be bytes, a binary file or an iterable of bytes")
        with self._replacing(path, key) as out:
            digest = hashlib.md5(usedforsecurity=False)
            size = 0
            for chunk in iter_body(body):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            header = json.dumps(
                {"etag": digest.hexdigest(), "content_type": ctype, "metadata": meta},
                separators=(",", ":"),
            ).encode()
            out.write(header)
            out.write(_FOOTER.pack(len(header), _MAGIC))
            out.flush()
            modified = os.fstat(out.fileno()).st_mtime
        return _Header(size, digest.hexdigest(), ctype, meta, modified).info(key)

    def copy(self, source: str, destination: str) -> ObjectInfo:
        src_path = self._path(source)
        dst_path = self._path(destination)
        src, header = self._open(src_path, source)
        with src, self._replacing(dst_path, destination) as out:
            shutil.copyfileobj(src, out, DEFAULT_CHUNK_SIZE)
            out.flush()
            modified = os.fstat(out.fileno()).st_mtime
        return _Header(
            header.size, header.etag, header.content_type, header.metadata, modified
        ).info(destination)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _os_error(exc, key) from None
        self._prune(path.parent)

    # --- reading --------------------------------------------------------------------

    def get(self, key: str, *, offset: int = 0, length: int | None = None) -> bytes:
        path = self._path(key)
        _check_range(offset, length)
        file, header = self._open(path, key)
        with file:
            start, count = _span(header.size, offset, length)
            file.seek(start)
            data = file.read(count)
        if len(data) != count:
            raise ProviderError(f"object {key!r} is damaged: it ends early")
        return data

    def stream(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        path = self._path(key)
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise InvalidRequest("chunk_size must be a positive integer")
        file, header = self._open(path, key)
        return _Chunks(file, 0, header.size, chunk_size)

    def head(self, key: str) -> ObjectInfo:
        file, header = self._open_key(key)
        file.close()
        return header.info(key)

    def list(
        self,
        prefix: str,
        *,
        delimiter: str | None = None,
        cursor: str | None = None,
        limit: int = MAX_LIST_LIMIT,
    ) -> Listing:
        if delimiter not in (None, "/"):
            raise InvalidRequest("the only delimiter supported is '/'")
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= MAX_LIST_LIMIT
        ):
            raise InvalidRequest(f"limit must be an integer from 1 to {MAX_LIST_LIMIT}")
        if cursor is not None and not isinstance(cursor, str):
            raise InvalidCursor("malformed cursor")
        folder, _, partial = _check_prefix(prefix).rpartition("/")
        base = f"{folder}/" if folder else ""
        directory = self._root.joinpath(*(_DIRECTORY + _encode(s) for s in _segments(folder)))
        self._contain(directory, prefix)
        objects: list[ObjectInfo] = []
        prefixes: list[str] = []
        last: str | None = None
        entries = self._walk(directory, base, partial, delimiter == "/", cursor)
        for name, path in entries:
            if len(objects) + len(prefixes) == limit:
                return Listing(objects=objects, prefixes=prefixes, cursor=last)
            if path is None:
                prefixes.append(name)
                last = name
                continue
            try:
                file, header = self._open(path, name)
            except NotFound:  # deleted since the directory was read
                continue
            file.close()
            objects.append(header.info(name))
            last = name
        return Listing(objects=objects, prefixes=prefixes)

    # --- presigned URLs -------------------------------------------------------------

    # A presigned URL is signed for the tenant whose prefix holds its key (the first
    # segment, which the core's tenant-scoped storage always sets): the URL names that
    # tenant, and the presign server refuses a key outside it.

    def presign_get(self, key: str, *, expires_in: int) -> str:
        tenant = self._presign_tenant(key)
        expires = _expiry(expires_in)
        signature = self._signature("GET", tenant, key, expires, "")
        return self._url(key, {"tenant": tenant, "expires": str(expires), "signature": signature})

    def presign_put(self, key: str, *, expires_in: int, content_type: str | None = None) -> str:
        tenant = self._presign_tenant(key)
        expires = _expiry(expires_in)
        params = {"tenant": tenant, "expires": str(expires)}
        signed_type = ""
        if content_type is not None:
            signed_type = params["content_type"] = _content_type(content_type)
        signature = self._signature("PUT", tenant, key, expires, signed_type)
        return self._url(key, {**params, "signature": signature})

    def _presign_tenant(self, key: str) -> str:
        self._path(key)
        tenant = key.split("/", 1)[0]
        if "/" not in key or not is_tenant_id(tenant):
            raise InvalidKey("a presigned URL is for a key under a tenant's prefix")
        return tenant

    def _url(self, key: str, params: dict[str, str]) -> str:
        return f"{self._base_url}/{quote(key, safe='/')}?{urlencode(params)}"

    def _signature(
        self, method: str, tenant: str, key: str, expires: int, content_type: str
    ) -> str:
        message = json.dumps([_SIGNATURE_VERSION, method, tenant, key, expires, content_type])
        return hmac.new(self._signing_key, message.encode(), hashlib.sha256).hexdigest()

    def _check_signature(
        self, method: str, tenant: str, key: str, expires: int, content_type: str, signature: str
    ) -> bool:
        """Whether ``signature`` signs this request (compared in constant time)."""
        expected = self._signature(method, tenant, key, expires, content_type)
        return hmac.compare_digest(expected.encode(), signature.encode())

    # --- the file system ------------------------------------------------------------

    def _path(self, key: str) -> Path:
        """The file of ``key``; refuses keys that are malformed or leave the root."""
        segments = _segments(key)
        if not segments:
            raise InvalidKey("storage key is empty")
        names = [_DIRECTORY + _encode(s) for s in segments[:-1]]
        names.append(_OBJECT + _encode(segments[-1]))
        path = self._root.joinpath(*names)
        self._contain(path, key)
        return path

    def _contain(self, path: Path, key: str) -> None:
        real = os.path.realpath(path)
        if os.path.commonpath([real, self._root]) != str(self._root):
            raise InvalidKey(f"storage key {key!r} resolves outside the storage root")

    def _open_key(self, key: str) -> tuple[BinaryIO, _Header]:
        return self._open(self._path(key), key)

    def _open(self, path: Path, key: str) -> tuple[BinaryIO, _Header]:
        """The object file, positioned at its first byte, and its header."""
        try:
            file = path.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NotFound(f"no object at key {key!r}") from None
        except OSError as exc:
            raise _os_error(exc, key) from None
        try:
            header = _read_header(file, key)
        except BaseException:
            file.close()
            raise
        return file, header

    @contextlib.contextmanager
    def _replacing(self, path: Path, key: str) -> Iterator[BinaryIO]:
        """A temporary file beside ``path`` that replaces it atomically on success."""
        directory = path.parent
        for _attempt in range(8):
            try:
                directory.mkdir(parents=True, exist_ok=True)
                fd, temp = tempfile.mkstemp(prefix=_TEMP, suffix=".tmp", dir=directory)
                break
            except FileNotFoundError:  # a concurrent delete pruned the directory
                continue
            except OSError as exc:
                raise _os_error(exc, key) from None
        else:
            raise ProviderError(f"could not create a file for key {key!r}")
        try:
            with os.fdopen(fd, "wb") as out:
                yield out
            self._contain(path, key)
            os.replace(temp, path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            self._prune(directory)
            if isinstance(exc, OSError):
                raise _os_error(exc, key) from None
            raise

    def _prune(self, directory: Path) -> None:
        """Remove empty directories from ``directory`` up to (not including) the root."""
        while directory != self._root and self._root in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def _walk(
        self, directory: Path, base: str, start: str, shallow: bool, after: str | None
    ) -> Iterator[tuple[str, Path | None]]:
        """``(key, file)`` for objects and ``(prefix, None)`` for common prefixes under
        ``directory`` whose name starts with ``start``, in key order, after ``after``."""
        children: list[tuple[str, bool, Path]] = []
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    marker, name = entry.name[:2], _decode(entry.name[2:])
                    if name is None or not name.startswith(start):
                        continue
                    if marker == _OBJECT and entry.is_file(follow_symlinks=False):
                        children.append((base + name, False, Path(entry.path)))
                    elif marker == _DIRECTORY and entry.is_dir(follow_symlinks=False):
                        children.append((f"{base}{name}/", True, Path(entry.path)))
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise _os_error(exc, base) from None
        # A directory sorts as "name/": every key below it starts with that string,
        # so visiting children in this order yields keys in plain string order.
        children.sort(key=lambda child: child[0])
        for key, is_dir, path in children:
            if not is_dir:
                if after is None or key > after:
                    yield key, path
            elif after is not None and after >= key and not after.startswith(key):
                continue  # every key below this directory was already listed
            elif shallow:
                if (after is None or key > after) and _holds_objects(path):
                    yield key, None
            else:
                yield from self._walk(path, key, "", False, after)


class _Chunks(Iterator[bytes]):
    """Reads ``length`` bytes of an open file from ``start``; closes it when done."""

    def __init__(self, file: BinaryIO, start: int, length: int, chunk_size: int) -> None:
        self._file = file
        self._position = start
        self._remaining = length
        self._chunk_size = chunk_size

    def __iter__(self) -> _Chunks:
        return self

    def __next__(self) -> bytes:
        if self._remaining <= 0:
            self.close()
            raise StopIteration
        self._file.seek(self._position)
        chunk = self._file.read(min(self._chunk_size, self._remaining))
        if not chunk:
            self.close()
            raise ProviderError("object file ends early: it is damaged")
        self._position += len(chunk)
        self._remaining -= len(chunk)
        return chunk

    def close(self) -> None:
        self._remaining = 0
        self._file.close()

    def __del__(self) -> None:
        self._file.close()


def _read_header(file: BinaryIO, key: str) -> _Header:
    stat = os.fstat(file.fileno())
    damaged = ProviderError(f"object {key!r} is damaged: its header is unreadable")
    if stat.st_size < _FOOTER.size:
        raise damaged
    file.seek(stat.st_size - _FOOTER.size)
    length, magic = _FOOTER.unpack(file.read(_FOOTER.size))
    size = stat.st_size - _FOOTER.size - length
    if magic != _MAGIC or length > _MAX_HEADER_BYTES or size < 0:
        raise damaged
    file.seek(size)
    try:
        raw: Any = json.loads(file.read(length))
        header = _Header(
            size=size,
            etag=str(raw["etag"]),
            content_type=str(raw["content_type"]),
            metadata={str(k): str(v) for k, v in raw["metadata"].items()},
            modified=stat.st_mtime,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise damaged from None
    file.seek(0)
    return header


def _holds_objects(directory: Path) -> bool:
    try:
        with os.scandir(directory) as entries:
            subdirectories = []
            for entry in entries:
                if entry.name.startswith(_OBJECT) and entry.is_file(follow_symlinks=False):
                    return True
                if entry.name.startswith(_DIRECTORY) and entry.is_dir(follow_symlinks=False):
                    subdirectories.append(Path(entry.path))
    except OSError:
        return False
    return any(_holds_objects(d) for d in subdirectories)


def _encode(segment: str) -> str:
    name = quote(segment, safe="")
    if len(name) + 2 > _MAX_NAME_BYTES:
        raise InvalidKey(
            f"key segment {segment[:40]!r}... is too long for local storage "
            f"({len(name)} bytes once encoded, at most {_MAX_NAME_BYTES - 2})"
        )
    return name


def _decode(name: str) -> str | None:
    """The segment a name on disk encodes, or ``None`` if it is not one we wrote."""
    try:
        segment = unquote(name, errors="strict")
    except UnicodeDecodeError:
        return None
    return segment if segment and quote(segment, safe="") == name else None


def _check_text(text: object, what: str) -> str:
    if not isinstance(text, str):
        raise InvalidKey(f"{what} must be a string, got {type(text).__name__}")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise InvalidKey(f"{what} {text!r} contains a control character")
    if "\\" in text:
        raise InvalidKey(f"{what} {text!r} contains a backslash")
    if text.startswith("/"):
        raise InvalidKey(f"{what} {text!r} is absolute")
    return text


def _segments(key: str) -> list[str]:
    """The segments of a key (``""`` has none); refuses empty, ``.`` and ``..`` ones."""
    _check_text(key, "storage key")
    if not key:
        return []
    segments = key.split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise InvalidKey(f"storage key {key!r} has an empty, '.' or '..' segment")
    return segments


def _check_prefix(prefix: str) -> str:
    _check_text(prefix, "storage prefix")
    folder, _, partial = prefix.rpartition("/")
    if folder:
        _segments(folder)
    if partial in (".", ".."):
        raise InvalidKey(f"storage prefix {prefix!r} has a '.' or '..' segment")
    return prefix


def _content_type(value: str | None) -> str:
    if value is None:
        return DEFAULT_CONTENT_TYPE
    if (
        not isinstance(value, str)
        or not value
        or len(value) > _MAX_CONTENT_TYPE
        or not value.isascii()
        or not value.isprintable()
    ):
        raise InvalidRequest(
            f"content_type must be 1-{_MAX_CONTENT_TYPE} printable ASCII characters"
        )
    return value


def _metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    meta = dict(metadata or {})
    for name, value in meta.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidRequest("metadata names and values must be strings")
    return meta


def _check_range(offset: int, length: int | None) -> None:
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidRequest("offset must be a non-negative integer")
    if length is not None and (isinstance(length, bool) or not isinstance(length, int)):
        raise InvalidRequest("length must be a positive integer")
    if length is not None and length < 1:
        raise InvalidRequest("length must be a positive integer")


def _span(size: int, offset: int, length: int | None) -> tuple[int, int]:
    """``(start, count)`` of a read; a range starting at or past the end is refused."""
    if offset == 0 and length is None:
        return 0, size
    if offset >= size:
        raise InvalidRequest(
            f"range starts at byte {offset}, at or past the end of the object ({size} bytes)"
        )
    end = size if length is None else min(size, offset + length)
    return offset, end - offset


def _expiry(expires_in: int) -> int:
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in < 1:
        raise InvalidRequest("expires_in must be a positive whole number of seconds")
    return int(time.time()) + expires_in


def _os_error(exc: OSError, key: str) -> TenantkitError:
    if exc.errno == errno.ENAMETOOLONG:
        return InvalidKey(f"storage key {key!r} is too long for the local file system")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return QuotaExceeded("the local storage file system is full")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return PermissionDenied(f"local storage may not write {key!r}: {exc.strerror}")
    return ProviderError(f"local storage failed on {key!r}: {exc.strerror}")


@hookimpl
def register_storage_providers(register: Register) -> None:
    register(
        "local",
        LocalObjectStore,
        LocalStorageSettings,
        description="Objects in a local directory, with HMAC-signed presigned URLs",
    )
