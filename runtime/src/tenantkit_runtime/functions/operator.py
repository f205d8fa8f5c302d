"""The operator function: the platform operator's tenant lifecycle, over HTTP.

=====================================  ===============================================
``GET /operator/tenants``              the registry, in tenant-id order; ``cursor``,
                                       ``limit`` (1 to 100, default 50)
``POST /operator/tenants``             create a tenant (as ``tenantkit tenant
                                       create``): 201 when something was made, 200
                                       when a re-run found everything done
``GET /operator/tenants/{id}``         one tenant: registry entry, plan, provider names
``POST /operator/tenants/{id}/suspend``  refuse the tenant's requests (403
                                       ``tenant_suspended``), keeping its data
``POST /operator/tenants/{id}/resume``   serve it again
``DELETE /operator/tenants/{id}``      ``{"confirm": "<id>"}``: export it to the
                                       operator's export location, then remove it
                                       (as ``tenantkit tenant delete``); 503
                                       ``export_not_configured`` without a location
``GET /operator/usage?from&to``        every tenant's usage, each entry the shape of
                                       the tenant's own ``GET /usage``; ``cursor``,
                                       ``limit`` (1 to 100, default 25)
``GET /operator/audit``                the operator's log, newest first; ``cursor``,
                                       ``limit`` (1 to 100, default 50)
=====================================  ===============================================

Only the platform operator calls these: a token with the ``operator`` role and no
tenant (:attr:`tenantkit_runtime.auth.Identity.is_operator`). A tenant's token, its
admins' included, is answered 403 and the attempt is recorded as
``operator.refused`` in the operator's log. Every call is recorded there (who, the
action, the tenant acted on, source IP, user agent, and the error kind when it
failed); the lifecycle changes are also in the tenant's own audit log, with the
operator's user id as the actor.

Answers never contain a credential: a created tenant is answered with what the
create did, a tenant with the *names* of its providers only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tenantkit import untrusted
from tenantkit.errors import InvalidRequest, NotFound, SecretValidationError, TenantkitError
from tenantkit.identifiers import check_tenant_id, is_tenant_id
from tenantkit.metering import parse_range
from tenantkit.sources import DirectorySource, SecretsManagerSource
from tenantkit.validation import field_errors
from tenantkit_runtime import deployment
from tenantkit_runtime.app import App, Request, Response
from tenantkit_runtime.auth.errors import AccessDenied
from tenantkit_runtime.controlplane import ControlPlane
from tenantkit_runtime.http_errors import PayloadTooLarge, RequestValidationError
from tenantkit_runtime.limits import MAX_FUNCTION_BODY

__all__ = ["app", "handler"]

app = App("operator")

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
_NAME = r"^[A-Za-z0-9_.-]+$"
#: A provider section in a create: the provider's name, or its settings object.
Section = str | dict[str, Any]


class NewTenant(BaseModel):
    """``POST /operator/tenants``: the tenant id, and its secret as ``secret`` (whole)
    or as its ``db``, ``llm`` and ``storage`` sections."""

    model_config = ConfigDict(extra="forbid")
    tenant_id: str = Field(max_length=63)
    plan: str | None = Field(default=None, max_length=64, pattern=_NAME)
    admin_email: str | None = Field(default=None, max_length=254)
    secret: dict[str, Any] | None = None
    db: Section | None = None
    llm: Section | None = None
    storage: Section | None = None


class Confirmation(BaseModel):
    """``DELETE /operator/tenants/{id}``: ``confirm`` must repeat the tenant id."""

    model_config = ConfigDict(extra="forbid")
    confirm: str = Field(max_length=63)


class _NoBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _guard(request: Request[Any], action: str) -> ControlPlane:
    """The control plane, for the operator; for anyone else 403, recorded as
    ``operator.refused`` (before the request's path or body is even looked at)."""
    plane = deployment.control_plane()
    identity = request.identity
    if not identity.is_operator:
        plane.operator_audit(
            actor=identity.user_id,
            action="operator.refused",
            tenant_id=identity.tenant_id,
            details={"attempted": action},
            source_ip=request.source_ip,
            user_agent=request.user_agent,
        )
        raise AccessDenied(
            "the operator API is the platform operator's; a tenant's role has no access"
        )
    return plane


def _audited(
    request: Request[Any],
    action: str,
    work: Callable[[ControlPlane], T],
    *,
    tenant_id: Callable[[], str | None] | str | None = None,
    details: Callable[[T], dict[str, Any]] | None = None,
) -> T:
    """Run ``work`` as the operator and record it in the operator's log, with the
    error's kind when it fails; ``tenant_id`` (or a function giving it, read after
    ``work`` ran or failed) is the tenant acted on."""
    plane = _guard(request, action)

    def record(extra: dict[str, Any] | None) -> None:
        acted_on = tenant_id() if callable(tenant_id) else tenant_id
        plane.operator_audit(
            actor=request.user_id,
            action=action,
            tenant_id=acted_on,
            details=extra,
            source_ip=request.source_ip,
            user_agent=request.user_agent,
        )

    try:
        result = work(plane)
    except TenantkitError as exc:
        record({"error": exc.kind})
        raise
    record(details(result) if details is not None else None)
    return result


def _parse(request: Request[Any], model: type[M]) -> M:
    """The request body, bounded, parsed as untrusted JSON and validated by ``model``."""
    raw = request.raw_body
    if len(raw) > MAX_FUNCTION_BODY:
        raise PayloadTooLarge(f"the request body is larger than {MAX_FUNCTION_BODY} bytes")
    data = untrusted.loads(raw or b"{}", what="the request body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(field_errors(exc)) from None


def _tenant_param(request: Request[Any]) -> str:
    return check_tenant_id(request.path_params["tenant"])


def _source() -> DirectorySource | SecretsManagerSource:
    source = deployment.resolver().configs.source
    if not isinstance(source, DirectorySource | SecretsManagerSource):
        raise InvalidRequest(f"the configuration source ({source.describe()}) cannot be written")
    return source


def _page(request: Request[Any], default: int) -> tuple[str | None, int]:
    return request.query.get("cursor") or None, request.query_int("limit", default, maximum=100)


def _summary(source: DirectorySource | SecretsManagerSource, tenant_id: str) -> dict[str, Any]:
    """The plan and provider names of a tenant's secret (never a setting's value)."""
    from tenantkit.errors import TenantNotFound

    try:
        raw = source.read(tenant_id)
    except TenantNotFound:
        return {"plan": None, "providers": None}
    providers = {
        kind: section.get("provider")
        for kind in ("db", "llm", "storage")
        if isinstance(section := raw.get(kind), dict)
    }
    plan = raw.get("plan")
    return {"plan": plan if isinstance(plan, str) else None, "providers": providers}


# --- the registry ----------------------------------------------------------------------


@app.get("/operator/tenants", operator=True)
def list_tenants(request: Request[None]) -> dict[str, Any]:
    def work(plane: ControlPlane) -> dict[str, Any]:
        cursor, limit = _page(request, 50)
        records, following = plane.tenants(cursor=cursor, limit=limit)
        return {"tenants": [r.model_dump() for r in records], "cursor": following}

    return _audited(request, "operator.tenants.list", work)


@app.post("/operator/tenants", operator=True)
def create(request: Request[None]) -> Response:
    from tenantkit_runtime.provisioning.create import Created, compose_secret, create_tenant
    from tenantkit_runtime.userstore import user_store

    named: list[str] = []

    def work(plane: ControlPlane) -> Created:
        body = _parse(request, NewTenant)
        tenant_id = check_tenant_id(body.tenant_id)
        named.append(tenant_id)
        sections = {
            kind: {"provider": value} if isinstance(value, str) else value
            for kind, value in (("db", body.db), ("llm", body.llm), ("storage", body.storage))
        }
        raw = compose_secret(body.secret, sections, plan=body.plan)
        users = user_store() if body.admin_email else None
        try:
            return create_tenant(
                _source(),
                plane,
                tenant_id,
                raw,
                admin_email=body.admin_email,
                users=users,
                actor=request.user_id,
            )
        except SecretValidationError as exc:
            raise RequestValidationError(exc.errors, where="secret") from None

    created = _audited(
        request,
        "operator.tenant.create",
        work,
        tenant_id=lambda: named[0] if named else None,
        details=lambda c: {"done": c.done, "kept": c.kept},
    )
    record = deployment.control_plane().tenant(created.tenant_id)
    answer = {**created.to_dict(), "tenant": record.model_dump() if record else None}
    return Response(answer, status=201 if "registry" in created.done else 200)


@app.get("/operator/tenants/{tenant}", operator=True)
def show(request: Request[None]) -> dict[str, Any]:
    def work(plane: ControlPlane) -> dict[str, Any]:
        tenant_id = _tenant_param(request)
        record = plane.tenant(tenant_id)
        if record is None:
            raise NotFound(f"tenant {tenant_id!r} is not in the registry")
        return {**record.model_dump(), **_summary(_source(), tenant_id)}

    return _audited(request, "operator.tenant.show", work, tenant_id=lambda: _named(request))


@app.post("/operator/tenants/{tenant}/suspend", operator=True)
def suspend(request: Request[None]) -> dict[str, Any]:
    return _status(request, "suspend")


@app.post("/operator/tenants/{tenant}/resume", operator=True)
def resume(request: Request[None]) -> dict[str, Any]:
    return _status(request, "resume")


def _status(request: Request[None], change: Literal["suspend", "resume"]) -> dict[str, Any]:
    from tenantkit_runtime.provisioning import operations

    apply = operations.suspend if change == "suspend" else operations.resume

    def work(plane: ControlPlane) -> dict[str, Any]:
        tenant_id = _tenant_param(request)
        _parse(request, _NoBody)
        record = apply(plane, tenant_id, actor=request.user_id)
        _forget(tenant_id)
        return record.model_dump()

    return _audited(request, f"operator.tenant.{change}", work, tenant_id=lambda: _named(request))


@app.delete("/operator/tenants/{tenant}", operator=True)
def delete(request: Request[None]) -> dict[str, Any]:
    from tenantkit.lifecycle.progress import Progress
    from tenantkit_runtime.provisioning.delete import delete_tenant
    from tenantkit_runtime.provisioning.exports import export_location
    from tenantkit_runtime.userstore import user_store

    def work(plane: ControlPlane) -> dict[str, Any]:
        tenant_id = _tenant_param(request)
        if _parse(request, Confirmation).confirm != tenant_id:
            raise InvalidRequest("confirm: must be the id of the tenant being deleted")
        location = export_location()
        source = _source()
        if plane.tenant(tenant_id) is None and _summary(source, tenant_id)["providers"] is None:
            raise NotFound(f"tenant {tenant_id!r} is neither registered nor configured")
        local, name = location.new_export(tenant_id)
        kept: list[str] = []
        users = user_store() if plane.users(tenant_id, limit=1)[0] else None
        try:
            deleted = delete_tenant(
                source,
                plane,
                tenant_id,
                local,
                Progress("export", quiet=True),
                users=users,
                actor=request.user_id,
                exported=lambda path, summary: kept.append(location.keep(path, name, summary)),
            )
        finally:
            location.discard(local)
        _forget(tenant_id)
        return {**deleted.to_dict(), "export_dir": None, "export": kept[0] if kept else None}

    return _audited(
        request,
        "operator.tenant.delete",
        work,
        tenant_id=lambda: _named(request),
        details=lambda d: {"export": d["export"], "items": d["items"], "objects": d["objects"]},
    )


def _forget(tenant_id: str) -> None:
    """Drop what this process cached about the tenant (its status, its providers);
    other warm containers see the change within their caches' lifetimes."""
    status = deployment.tenant_status()
    if status is not None:
        status.forget(tenant_id)
    deployment.resolver().invalidate(tenant_id)


def _named(request: Request[Any]) -> str | None:
    """The path's tenant id when it is one (for the log: a bad id is not recorded)."""
    value = request.path_params.get("tenant")
    return value if is_tenant_id(value) else None


# --- usage and the operator's log ------------------------------------------------------


@app.get("/operator/usage", operator=True)
def usage_report(request: Request[None]) -> dict[str, Any]:
    from tenantkit.errors import ConfigurationError
    from tenantkit_runtime import usage

    def work(plane: ControlPlane) -> dict[str, Any]:
        start, end = parse_range(request.query.get("from"), request.query.get("to"))
        cursor, limit = _page(request, 25)
        found = usage.guard()
        if found is None:
            raise ConfigurationError("usage is not metered: the deployment has no control plane")
        records, following = plane.tenants(cursor=cursor, limit=limit)
        reports = [
            found.meter.report(r.tenant_id, start, end).model_dump(mode="json") for r in records
        ]
        return {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "tenants": reports,
            "cursor": following,
        }

    return _audited(request, "operator.usage", work)


@app.get("/operator/audit", operator=True)
def audit_log(request: Request[None]) -> dict[str, Any]:
    def work(plane: ControlPlane) -> dict[str, Any]:
        cursor, limit = _page(request, 50)
        entries, following = plane.operator_audit_log(cursor=cursor, limit=limit)
        return {"entries": [e.model_dump() for e in entries], "cursor": following}

    return _audited(request, "operator.audit", work)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    return app(event, context)
