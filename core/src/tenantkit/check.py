"""``tenantkit check``: resolve one tenant and run a small round trip on each provider."""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tenantkit.errors import TenantkitError
from tenantkit.registry import KINDS, Kind
from tenantkit.resolver import Resolver, Tenant

__all__ = ["CheckReport", "ProviderCheck", "check_tenant"]

_PROBE_COLLECTION = "tenantkit_check"


@dataclass
class ProviderCheck:
    kind: Kind
    provider: str
    ok: bool
    seconds: float
    detail: str = ""
    error: str | None = None
    error_kind: str | None = None


@dataclass
class CheckReport:
    tenant_id: str
    ok: bool
    config_version: str | None = None
    providers: list[ProviderCheck] = field(default_factory=list)
    imported_plugins: list[str] = field(default_factory=list)
    """Modules of installed plugins first imported while resolving and checking."""
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "ok": self.ok,
            "config_version": self.config_version,
            "providers": [p.__dict__ for p in self.providers],
            "imported_plugins": self.imported_plugins,
            "error": self.error,
        }


def check_tenant(resolver: Resolver, tenant_id: str, *, ensure_schema: bool = False) -> CheckReport:
    """Resolve the tenant, load only its providers, and probe each one.

    The database probe writes, reads and deletes one item; the storage probe writes,
    reads and deletes one object; the LLM probe sends one short chat request.
    ``ensure_schema`` first asks the database provider to create what it needs.
    """
    before = set(sys.modules)
    report = CheckReport(tenant_id=tenant_id, ok=False)
    try:
        tenant = resolver.resolve(tenant_id)
    except TenantkitError as exc:
        report.error = f"{type(exc).__name__}: {exc}"
        report.imported_plugins = _new_plugins(resolver, before)
        return report
    report.config_version = tenant.config.version
    probes: dict[Kind, Callable[[Tenant], str]] = {
        "db": lambda t: _probe_db(t, ensure_schema=ensure_schema),
        "storage": _probe_storage,
        "llm": _probe_llm,
    }
    for kind in KINDS:
        started = time.perf_counter()
        provider = tenant.config.section(kind).provider
        try:
            detail = probes[kind](tenant)
            check = ProviderCheck(kind, provider, True, time.perf_counter() - started, detail)
        except TenantkitError as exc:
            check = ProviderCheck(
                kind,
                provider,
                False,
                time.perf_counter() - started,
                error=str(exc),
                error_kind=exc.kind,
            )
        report.providers.append(check)
    report.ok = all(p.ok for p in report.providers)
    report.imported_plugins = _new_plugins(resolver, before)
    return report


def _new_plugins(resolver: Resolver, before: set[str]) -> list[str]:
    """Plugin modules (of any installed tenantkit plugin) that appeared in sys.modules."""
    refs = [ref for kind in KINDS for ref in resolver.plugins.available(kind)]
    modules = {ref.module for ref in refs}
    packages = {m.split(".")[0] for m in modules} - {"tenantkit"}
    return sorted(
        name
        for name in set(sys.modules) - before
        if name in modules or name.split(".")[0] in packages
    )


def _probe_db(tenant: Tenant, *, ensure_schema: bool) -> str:
    if ensure_schema:
        tenant.provider_instance("db").ensure_schema(tenant.schema)
    key = f"probe-{secrets.token_hex(6)}"
    db = tenant.db
    db.put(_PROBE_COLLECTION, {"pk": key, "sk": "probe", "value": key})
    try:
        item = db.get(_PROBE_COLLECTION, key, "probe")
        if item is None or item.get("value") != key:
            raise TenantkitError("the probe item written could not be read back")
    finally:
        db.delete(_PROBE_COLLECTION, key, "probe")
    return "wrote, read and deleted a probe item"


def _probe_storage(tenant: Tenant) -> str:
    key = f"tenantkit-check/probe-{secrets.token_hex(6)}"
    body = secrets.token_bytes(32)
    storage = tenant.storage
    storage.put(key, body, content_type="application/octet-stream")
    try:
        if storage.get(key) != body:
            raise TenantkitError("the probe object written could not be read back")
    finally:
        storage.delete(key)
    return "wrote, read and deleted a probe object"


def _probe_llm(tenant: Tenant) -> str:
    reply = tenant.llm.chat(
        messages=[{"role": "user", "content": "Reply with the single word: ok"}], max_tokens=16
    )
    return f"model {reply.model or '?'} answered ({reply.usage.total_tokens} tokens)"
