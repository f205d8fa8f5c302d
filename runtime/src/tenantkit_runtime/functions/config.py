"""The config function: a tenant's admins read and change its settings.

=====================================  ==============================================
``GET /branding?host=``                public, no token: the branding of a console
                                       host (:mod:`tenantkit_runtime.branding`)
``GET /config/branding``               the branding (any member of the tenant)
``GET /config``                        the non-secret configuration (admins)
``PATCH /config``                      change ``branding`` and ``features`` (admins);
                                       a ``null`` value goes back to the default
``PUT /config/providers/{kind}``       set tenant-owned settings of the current
                                       ``db``, ``llm`` or ``storage`` provider
                                       (admins); a ``null`` value goes back to the
                                       default
``GET /config/audit``                  the audit log, newest first (admins;
                                       ``?limit=`` 1 to 100, ``?cursor=``)
``GET /usage?from=&to=``               the tenant's usage per day, ``YYYY-MM-DD``
                                       both included (admins; at most 366 days;
                                       default: this month)
=====================================  ==============================================

A change is applied to the tenant's own document (never to the defaults it is merged
over), validated with the same schema as at resolution (422 naming the field paths
otherwise), written back through the configuration source (Secrets Manager, or the
directory locally), the tenant's cached configuration is dropped so the next request
uses it, and the change is recorded in the control plane's audit log without any
credential. Answers never contain credentials.

``plan``, ``limits`` and ``features`` are the operator's: a tenant admin cannot
change them (403 naming each field path, ``limits.requests_per_minute``), so a tenant
never raises its own limits or turns on a feature its plan does not include.

A tenant admin changes only what the tenant owns (:mod:`tenantkit.ownership`): the
tenant-owned fields of its current providers (an LLM's ``api_key`` and ``model``...),
never ``provider`` itself, an operator-owned field (endpoints, base URLs, roles,
regions, paths, keys) or a field inherited from the deployment's defaults. Such a
change is refused with 403 naming each field path (``storage.base_url``); it is an
operator action (``tenantkit secret ...`` and the operator's own tools), not the
tenant API's.

The admin role is ``TENANTKIT_ADMIN_ROLE`` (``admin``); roles come from the
authorizer context.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from tenantkit.config import deep_merge, merge_secret, parse_tenant_config
from tenantkit.errors import ConfigurationError, FieldError, NotFound, SecretValidationError
from tenantkit.metering import parse_range
from tenantkit.ownership import OperatorOwnedSetting, edit_provider_settings
from tenantkit.registry import KINDS
from tenantkit_runtime import branding as public
from tenantkit_runtime import deployment, usage
from tenantkit_runtime.app import App, Request
from tenantkit_runtime.http_errors import RequestValidationError
from tenantkit_runtime.responses import Response

__all__ = ["WritableSource", "app", "handler"]

app = App("config")

MAX_AUDIT_PAGE = 100


@runtime_checkable
class WritableSource(Protocol):
    """A configuration source that can be edited (both sources of the core are)."""

    def read(self, tenant_id: str) -> dict[str, Any]: ...

    def read_defaults(self) -> dict[str, Any]: ...

    def put(self, tenant_id: str, raw: dict[str, Any]) -> str: ...


class SettingsPatch(BaseModel):
    """Non-secret settings to change; fields left out stay as they are.

    ``plan``, ``limits`` and ``features`` are accepted only to be refused by name.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)
    branding: dict[str, Any] | None = None
    plan: Any = None
    limits: dict[str, Any] | None = None
    features: dict[str, Any] | None = None


class ProviderChanges(BaseModel):
    """Settings of the current provider to change; ``provider`` may only repeat it."""

    model_config = ConfigDict(extra="allow", defer_build=True)
    provider: str | None = Field(default=None, min_length=1, max_length=64)


def _admin(request: Request[Any]) -> None:
    request.require_role(deployment.settings().admin_role)


@app.get("/branding", public=True)
def console_branding(request: Request[None]) -> Response:
    """The branding of the console host ``?host=`` (public data, any origin)."""
    host = request.query.get("host", "")
    return Response(
        public.public_branding(host[:300]),
        headers={
            "cache-control": f"public, max-age={public.MAX_AGE}",
            "access-control-allow-origin": "*",
        },
    )


@app.get("/config/branding")
def branding(request: Request[None]) -> dict[str, Any]:
    return request.config.branding.model_dump(exclude_none=True)


@app.get("/config")
def read_config(request: Request[None]) -> dict[str, Any]:
    _admin(request)
    return request.config.public()


@app.patch("/config", body=SettingsPatch)
def update_settings(request: Request[SettingsPatch]) -> dict[str, Any]:
    _admin(request)
    patch = request.body
    refused = (
        [FieldError("plan", "the plan is the operator's")]
        if "plan" in patch.model_fields_set
        else []
    )
    for name in ("limits", "features"):
        refused += [
            FieldError(f"{name}.{key}", f"{name} are the operator's (the tenant's plan)")
            for key in getattr(patch, name) or {}
        ]
        if name in patch.model_fields_set and not getattr(patch, name):
            refused.append(FieldError(name, f"{name} are the operator's (the tenant's plan)"))
    if refused:
        raise OperatorOwnedSetting(refused)

    def edit(own: dict[str, Any]) -> dict[str, Any]:
        for name in ("branding",):
            changes = getattr(patch, name)
            if changes is None:
                continue
            section = own.setdefault(name, {})
            if not isinstance(section, dict):
                section = own[name] = {}
            for key, value in changes.items():
                if value is None:
                    section.pop(key, None)
                else:
                    section[key] = value
        return own

    changed = {"branding": sorted(patch.branding)} if patch.branding else {}
    return _apply(request, edit, action="config.update", details={"changed": changed})


@app.put("/config/providers/{kind}", body=ProviderChanges)
def change_provider_settings(request: Request[ProviderChanges]) -> dict[str, Any]:
    _admin(request)
    kind = request.path_params["kind"]
    if kind not in KINDS:
        raise NotFound(f"no provider kind {kind!r}: use db, llm or storage")
    changes = request.body.model_dump(exclude_unset=True)
    defaults = _writable_source().read_defaults()
    details: dict[str, Any] = {"kind": kind}

    def edit(own: dict[str, Any]) -> dict[str, Any]:
        try:
            edited, changed = edit_provider_settings(
                own, defaults, kind, changes, plugins=deployment.resolver().plugins
            )
        except SecretValidationError as exc:
            raise RequestValidationError(exc.errors, where="settings") from None
        section = deep_merge(defaults, edited)[kind]
        details.update(provider=section.get("provider"), fields=changed)
        return edited

    return _apply(request, edit, action="config.provider.update", details=details)


@app.get("/config/audit")
def audit_log(request: Request[None]) -> dict[str, Any]:
    _admin(request)
    entries, cursor = request.control_plane.audit_log(
        request.tenant_id,
        cursor=request.query.get("cursor") or None,
        limit=request.query_int("limit", 50, maximum=MAX_AUDIT_PAGE),
    )
    return {"entries": entries, "cursor": cursor}


@app.get("/usage")
def usage_report(request: Request[None]) -> Any:
    _admin(request)
    start, end = parse_range(request.query.get("from"), request.query.get("to"))
    found = usage.guard()
    if found is None:
        raise ConfigurationError("usage is not metered: the deployment has no control plane")
    return found.meter.report(request.tenant_id, start, end).model_dump(mode="json")


def _apply(
    request: Request[Any],
    edit: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    action: Literal["config.update", "config.provider.update"],
    details: dict[str, Any],
) -> dict[str, Any]:
    resolver = deployment.resolver()
    source = _writable_source()
    tenant_id = request.tenant_id
    before = source.read(tenant_id)
    own = edit(copy.deepcopy(before))
    if own == before:  # nothing changes: nothing to write or audit
        return resolver.resolve(tenant_id).config.public()
    try:
        parse_tenant_config(
            merge_secret(source.read_defaults(), own),
            plugins=resolver.plugins,
            source="the changed configuration",
        )
    except SecretValidationError as exc:
        raise RequestValidationError(exc.errors, where="configuration") from exc
    source.put(tenant_id, own)
    resolver.invalidate(tenant_id)
    request.audit(action, details)
    return resolver.resolve(tenant_id).config.public()


def _writable_source() -> WritableSource:
    source = deployment.resolver().configs.source
    if not isinstance(source, WritableSource):
        raise ConfigurationError(f"the configuration source ({source.describe()}) is read-only")
    return source


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    return app(event, context)
