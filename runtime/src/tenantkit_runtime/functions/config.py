"""The config function: a tenant's admins read and change its settings.

=====================================  ==============================================
``GET /config/branding``               the branding (any member of the tenant)
``GET /config``                        the non-secret configuration (admins)
``PATCH /config``                      change ``branding`` and ``features`` (admins);
                                       a ``null`` value goes back to the default
``PUT /config/providers/{kind}``       replace the ``db``, ``llm`` or ``storage``
                                       section, credentials included (admins)
``GET /config/audit``                  the audit log, newest first (admins)
=====================================  ==============================================

A change is applied to the tenant's own document (never to the defaults it is merged
over), validated with the same schema as at resolution (422 naming the field paths
otherwise), written back through the configuration source (Secrets Manager, or the
directory locally), the tenant's cached configuration is dropped so the next request
uses it, and the change is recorded in the control plane's audit log without any
credential. Answers never contain credentials.

The admin role is ``TENANTKIT_ADMIN_ROLE`` (``admin``); roles come from the
authorizer context.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from tenantkit.config import deep_merge, parse_tenant_config
from tenantkit.errors import ConfigurationError, NotFound, SecretValidationError
from tenantkit_runtime import deployment
from tenantkit_runtime.app import App, Request
from tenantkit_runtime.http_errors import RequestValidationError

__all__ = ["WritableSource", "app", "handler"]

app = App("config")


@runtime_checkable
class WritableSource(Protocol):
    """A configuration source that can be edited (both sources of the core are)."""

    def read(self, tenant_id: str) -> dict[str, Any]: ...

    def read_defaults(self) -> dict[str, Any]: ...

    def put(self, tenant_id: str, raw: dict[str, Any]) -> str: ...


class SettingsPatch(BaseModel):
    """Non-secret settings to change; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    branding: dict[str, Any] | None = None
    features: dict[str, bool | None] | None = None


class ProviderSection(BaseModel):
    """A whole provider section: ``provider`` and that provider's settings."""

    model_config = ConfigDict(extra="allow", defer_build=True)
    provider: str = Field(min_length=1, max_length=64)


def _admin(request: Request[Any]) -> None:
    request.require_role(deployment.settings().admin_role)


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

    def edit(own: dict[str, Any]) -> dict[str, Any]:
        for name in ("branding", "features"):
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

    changed = {
        name: sorted(getattr(patch, name))
        for name in ("branding", "features")
        if getattr(patch, name)
    }
    return _apply(request, edit, action="config.update", details={"changed": changed})


@app.put("/config/providers/{kind}", body=ProviderSection)
def replace_provider(request: Request[ProviderSection]) -> dict[str, Any]:
    _admin(request)
    kind = request.path_params["kind"]
    if kind not in ("db", "llm", "storage"):
        raise NotFound(f"no provider kind {kind!r}: use db, llm or storage")
    section = request.body.model_dump()

    def edit(own: dict[str, Any]) -> dict[str, Any]:
        own[kind] = section
        return own

    return _apply(
        request,
        edit,
        action="config.provider.replace",
        details={"kind": kind, "provider": request.body.provider},
    )


@app.get("/config/audit")
def audit_log(request: Request[None]) -> dict[str, Any]:
    _admin(request)
    entries, cursor = request.control_plane.audit_log(
        request.tenant_id,
        cursor=request.query.get("cursor") or None,
        limit=request.query_int("limit", 50),
    )
    return {"entries": entries, "cursor": cursor}


def _apply(
    request: Request[Any],
    edit: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    action: Literal["config.update", "config.provider.replace"],
    details: dict[str, Any],
) -> dict[str, Any]:
    resolver = deployment.resolver()
    source = resolver.configs.source
    if not isinstance(source, WritableSource):
        raise ConfigurationError(f"the configuration source ({source.describe()}) is read-only")
    tenant_id = request.tenant_id
    own = edit(copy.deepcopy(source.read(tenant_id)))
    try:
        parse_tenant_config(
            deep_merge(source.read_defaults(), own),
            plugins=resolver.plugins,
            source="the changed configuration",
        )
    except SecretValidationError as exc:
        raise RequestValidationError(exc.errors, where="configuration") from exc
    source.put(tenant_id, own)
    resolver.invalidate(tenant_id)
    request.control_plane.audit(tenant_id, actor=request.user_id, action=action, details=details)
    return resolver.resolve(tenant_id).config.public()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    return app(event, context)
