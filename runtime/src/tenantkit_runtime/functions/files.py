"""The files function: files in the tenant's storage, their metadata in its database.

Files never pass through the function: the client uploads and downloads them with
presigned URLs straight to and from the tenant's storage.

=================================  ===================================================
``POST /files``                    request an upload: ``{"name", "content_type",
                                   "size"}``; 201 with the file and a presigned PUT
                                   (send the given ``content-type``); 413 when ``size``
                                   is over the tenant's ``limits.max_upload_bytes``
``POST /files/{id}/confirm``       after the PUT: the object's real size is checked;
                                   over the limit it is deleted and the answer is 413
``GET /files``                     the tenant's files (``?limit=&cursor=``), and
                                   ``"storage": {"used_bytes", "quota_bytes"}``: the
                                   ledger's figure (``null`` without a control plane)
                                   and ``limits.storage_quota_bytes`` (``null``: none)
``GET /files/{id}``                one file's metadata
``GET /files/{id}/download``       a presigned GET URL for a confirmed file
``DELETE /files/{id}``             delete the object and its metadata (the uploader
                                   or a tenant admin), 204
=================================  ===================================================

Metadata: collection ``files``, partition ``files``, sort key the file id (ids sort
by creation time). Objects: ``library/{file id}`` in the tenant's storage.

Storage quota (``limits.storage_quota_bytes``): ``POST /files`` reserves the declared
size in the tenant's storage ledger (429 ``quota_exceeded`` when it does not fit, and
nothing is reserved); the confirmation charges the difference between the real size
and the declared one (over the quota, the object is deleted and its bytes given
back); deleting a file gives back what it holds. The bytes a file holds in the
ledger are kept with its metadata (``charged``). ``tenantkit usage reconcile``
recomputes the ledger from the storage listing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tenantkit.errors import ConditionFailed, NotFound, QuotaExceeded
from tenantkit_runtime import deployment, usage
from tenantkit_runtime.app import App, Request, Response
from tenantkit_runtime.conversations import new_id
from tenantkit_runtime.http_errors import PayloadTooLarge

__all__ = ["FileInfo", "app", "handler"]

app = App("files")

UPLOAD_URL_SECONDS = 900
DOWNLOAD_URL_SECONDS = 300
_COLLECTION = "files"
_PARTITION = "files"


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    name: str = Field(min_length=1, max_length=255)
    content_type: str = Field(
        default="application/octet-stream",
        max_length=255,
        pattern=r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$",
    )
    size: int = Field(ge=0)


class FileInfo(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    id: str
    name: str
    content_type: str
    size: int
    status: Literal["pending", "ready"]
    uploaded_by: str
    created_at: str
    etag: str | None = None
    confirmed_at: str | None = None


def _key(file_id: str) -> str:
    return f"library/{file_id}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _file(request: Request[Any]) -> FileInfo:
    file_id = request.path_params["file_id"]
    item = request.db.get(_COLLECTION, _PARTITION, file_id)
    if item is None:
        raise NotFound(f"no file {file_id!r}")
    return FileInfo(id=item.sk, **item.data)


def _limit(request: Request[Any]) -> int:
    return request.config.limits.max_upload_bytes


def _charged(request: Request[Any], file_id: str) -> int:
    """The bytes a file holds in the storage ledger (0 before quotas were kept)."""
    item = request.db.get(_COLLECTION, _PARTITION, file_id)
    value = item.get("charged") if item is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _reserve(request: Request[Any], size: int) -> None:
    quota = usage.storage_quota()
    if quota is not None:
        limit = request.config.limits.storage_quota_bytes
        try:
            quota.reserve(request.tenant_id, size, limit)
        except QuotaExceeded:
            if request.usage is not None:
                request.usage.refused_by("storage_quota_bytes")
            raise


def _release(request: Request[Any], size: int) -> None:
    quota = usage.storage_quota()
    if quota is not None and size > 0:
        quota.release(request.tenant_id, size)


@app.post("/files", body=UploadRequest)
def request_upload(request: Request[UploadRequest]) -> Response:
    wanted = request.body
    limit = _limit(request)
    if wanted.size > limit:
        raise PayloadTooLarge(f"the file is larger than this tenant's limit of {limit} bytes")
    info = FileInfo(
        id=new_id(),
        name=wanted.name,
        content_type=wanted.content_type,
        size=wanted.size,
        status="pending",
        uploaded_by=request.user_id,
        created_at=_now(),
    )
    url = request.unmetered_storage.presign_put(
        _key(info.id), expires_in=UPLOAD_URL_SECONDS, content_type=info.content_type
    )
    _reserve(request, info.size)
    try:
        request.db.put(
            _COLLECTION,
            {
                "pk": _PARTITION,
                "sk": info.id,
                **info.model_dump(exclude={"id"}, exclude_none=True),
                "charged": info.size,
            },
        )
    except Exception:
        _release(request, info.size)
        raise
    upload = {
        "url": url,
        "method": "PUT",
        "headers": {
            **request.unmetered_storage.presigned_put_headers,
            "content-type": info.content_type,
        },
        "max_bytes": limit,
        "expires_in": UPLOAD_URL_SECONDS,
    }
    return Response({"file": info, "upload": upload}, status=201)


@app.post("/files/{file_id}/confirm")
def confirm_upload(request: Request[None]) -> FileInfo:
    info = _file(request)
    if info.status == "ready":
        return info
    try:
        stored = request.unmetered_storage.head(_key(info.id))
    except NotFound:
        raise ConditionFailed(f"file {info.id!r} has not been uploaded yet") from None
    limit = _limit(request)
    charged = _charged(request, info.id)
    if stored.size > limit:
        request.unmetered_storage.delete(_key(info.id))
        request.db.delete(_COLLECTION, _PARTITION, info.id)
        _release(request, charged)
        raise PayloadTooLarge(
            f"the uploaded file has {stored.size} bytes, over this tenant's limit of "
            f"{limit} bytes; it was deleted"
        )
    if stored.size > charged:
        try:
            _reserve(request, stored.size - charged)
        except QuotaExceeded:
            request.unmetered_storage.delete(_key(info.id))
            request.db.delete(_COLLECTION, _PARTITION, info.id)
            _release(request, charged)
            raise
    else:
        _release(request, charged - stored.size)
    if request.usage is not None:
        request.usage.add("up", stored.size)
    changes: dict[str, Any] = {
        "status": "ready",
        "size": stored.size,
        "confirmed_at": _now(),
        "charged": stored.size,
    }
    if stored.etag:
        changes["etag"] = stored.etag
    item = request.db.update(_COLLECTION, _PARTITION, info.id, set=changes)
    return FileInfo(id=item.sk, **item.data)


@app.get("/files")
def list_files(request: Request[None]) -> dict[str, Any]:
    page = request.db.query(
        _COLLECTION,
        _PARTITION,
        descending=True,
        limit=request.query_int("limit", 50),
        cursor=request.query.get("cursor") or None,
    )
    return {
        "files": [FileInfo(id=i.sk, **i.data) for i in page.items],
        "cursor": page.cursor,
        "storage": _storage(request),
    }


def _storage(request: Request[Any]) -> dict[str, int | None]:
    """The tenant's stored bytes by the ledger (``None`` without one) and its quota."""
    quota = usage.storage_quota()
    return {
        "used_bytes": quota.held(request.tenant_id) if quota is not None else None,
        "quota_bytes": request.config.limits.storage_quota_bytes,
    }


@app.get("/files/{file_id}")
def get_file(request: Request[None]) -> FileInfo:
    return _file(request)


@app.get("/files/{file_id}/download")
def download(request: Request[None]) -> dict[str, Any]:
    info = _file(request)
    if info.status != "ready":
        raise ConditionFailed(f"file {info.id!r} is not confirmed yet")
    url = request.unmetered_storage.presign_get(_key(info.id), expires_in=DOWNLOAD_URL_SECONDS)
    if request.usage is not None:  # counted when the URL is handed out
        request.usage.add("down", info.size)
    return {"url": url, "expires_in": DOWNLOAD_URL_SECONDS, "file": info}


@app.delete("/files/{file_id}")
def delete_file(request: Request[None]) -> Response:
    info = _file(request)
    if info.uploaded_by != request.user_id:
        request.require_role(deployment.settings().admin_role)
    charged = _charged(request, info.id)
    request.unmetered_storage.delete(_key(info.id))
    if request.db.delete(_COLLECTION, _PARTITION, info.id):
        _release(request, charged)
    request.audit("file.delete", {"file_id": info.id, "uploaded_by": info.uploaded_by})
    return Response.empty()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    return app(event, context)
