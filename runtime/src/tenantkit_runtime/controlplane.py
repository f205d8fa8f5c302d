"""The control-plane store: the operator's own data, through the DB provider mechanism.

The deployment names a database provider and its settings
(``TENANTKIT_CONTROL_PLANE``: ``{"provider": "dynamodb", "table": ..., "region": ...}``
on AWS, ``{"provider": "sqlite", "path": ...}`` locally). The plugin is loaded by
name like a tenant's, its settings are validated by its own model, and every access
goes through a :class:`tenantkit.TenantDatabase` bound to one namespace:

=====================  ======================  ===========================================
what                   namespace               collection / partition / sort key
=====================  ======================  ===========================================
tenant registry        ``RESERVED_NAMESPACE``  ``tenants`` / ``tenants`` / tenant id
operator's audit log   ``RESERVED_NAMESPACE``  ``audit`` / ``operator`` / time + random
                                               suffix (the tenant acted on is a field)
WebSocket connections  the tenant id           ``connections`` / ``connections`` / conn. id
audit log              the tenant id           ``audit`` / ``audit`` / time + random suffix
                                               (a limit refusal burst: its minute + limit)
usage and limits       the tenant id           ``usage`` / ``usage`` / see :mod:`tenantkit.metering`
users                  the tenant id           ``users`` / ``users`` / user id
=====================  ======================  ===========================================

Refusals by a limit are audited as bursts: one entry per tenant, limit and minute,
written with a put-if-absent on a key made of the minute and the limit, so every
container of the deployment agrees on it without coordination, and a container that
has written (or found) this minute's entry skips the write for the rest of the minute.

A tenant's connections are one partition of its namespace, so listing them is a
query of that partition, never a scan, and no tenant ever reads another's. The
registry lives in a namespace that can never be a tenant id.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from tenantkit import Database, IfAbsent, Item, TenantDatabase
from tenantkit.db import DbCapability, Schema
from tenantkit.errors import (
    ConditionFailed,
    ConfigurationError,
    SecretValidationError,
    TenantkitError,
)
from tenantkit.identifiers import RESERVED_NAMESPACE, check_tenant_id
from tenantkit.metering import Meter
from tenantkit.plugins import Plugins, default_plugins
from tenantkit.registry import ProviderContext
from tenantkit.retry import RetryPolicy
from tenantkit.validation import field_errors

__all__ = ["AuditEntry", "Connection", "ControlPlane", "TenantRecord", "UserRecord"]

#: WebSocket connections last at most 2 hours on API Gateway; entries expire after.
CONNECTION_TTL = 2 * 3600 + 300
_SETTING = "TENANTKIT_CONTROL_PLANE"
_OPERATOR_LOG = "operator"
_frozen = ConfigDict(frozen=True, defer_build=True)


class TenantRecord(BaseModel):
    """A tenant known to the deployment."""

    model_config = _frozen
    tenant_id: str
    display_name: str | None = None
    status: str = "active"
    created_at: str


class Connection(BaseModel):
    """An open WebSocket connection of one of a tenant's users."""

    model_config = _frozen
    tenant_id: str
    connection_id: str
    user_id: str
    endpoint: str | None = None
    connected_at: str


class AuditEntry(BaseModel):
    """One audited change: who did what, and when. In the operator's log,
    ``tenant_id`` is the tenant acted on (``None`` for an action on none)."""

    model_config = _frozen
    id: str
    tenant_id: str | None
    actor: str
    action: str
    details: dict[str, Any] = {}
    at: str
    source_ip: str | None = None
    user_agent: str | None = None


class UserRecord(BaseModel):
    """A tenant's user as the control plane keeps it, in step with the user pool."""

    model_config = _frozen
    user_id: str
    tenant_id: str
    email: str
    roles: tuple[str, ...] = ()
    status: str = "invited"
    display_name: str | None = None
    locale: str | None = None
    created_at: str
    updated_at: str
    last_seen: str | None = None


class ControlPlane:
    """Tenant registry, users, WebSocket connections and audit log in one database.

    Args:
        database: the provider instance (the control plane owns it and closes it).
        provider: its name, for errors and logs.
        capabilities: what it declared (TTL is used for connections when present).
        signing_key: signs pagination cursors; the deployment's key.
    """

    def __init__(
        self,
        database: Database,
        *,
        provider: str,
        capabilities: frozenset[str] = frozenset(),
        signing_key: bytes | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        from tenantkit.cursors import CursorSigner

        self._database = database
        self._provider = provider
        self._capabilities = capabilities
        self._signer = CursorSigner(signing_key or secrets.token_bytes(32))
        self._retry = retry or RetryPolicy()
        self._scopes: dict[str, TenantDatabase] = {}
        self._lock = threading.Lock()
        self._bursts: dict[tuple[str, str], str] = {}  # (tenant, limit) -> minute audited
        self.meter = Meter(self._tenant)
        """The tenants' usage counters (:mod:`tenantkit.metering`) in this store."""

    @classmethod
    def from_section(
        cls,
        section: Mapping[str, Any] | None,
        *,
        plugins: Plugins | None = None,
        signing_key: bytes | None = None,
    ) -> ControlPlane:
        """Build the store a provider section names, loading only that plugin."""
        if not section:
            raise ConfigurationError(
                f"{_SETTING} is not set: name the control-plane database, e.g. "
                '{"provider": "sqlite", "path": "var/control-plane.db"}'
            )
        name = section.get("provider")
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f'{_SETTING} needs a "provider" name')
        spec = (plugins or default_plugins()).get("db", name)
        try:
            settings = spec.settings.model_validate(
                {k: v for k, v in section.items() if k != "provider"}
            )
        except ValidationError as exc:
            problems = field_errors(exc, prefix=_SETTING)
            raise SecretValidationError(problems, source=_SETTING) from None
        context = ProviderContext(tenant_id=RESERVED_NAMESPACE, provider=name, schema=Schema())
        try:
            database = spec.factory(settings, context)
        except TenantkitError:
            raise
        except Exception as exc:
            raise ConfigurationError(
                f"{_SETTING}: building the {name} provider failed: {type(exc).__name__}"
            ) from exc
        return cls(database, provider=name, capabilities=spec.capabilities, signing_key=signing_key)

    @property
    def provider(self) -> str:
        return self._provider

    def ensure_schema(self) -> None:
        """Create the provider's tables where missing (setup and local use)."""
        self._database.ensure_schema(Schema())

    def close(self) -> None:
        self._database.close()

    def __repr__(self) -> str:
        return f"ControlPlane(provider={self._provider!r})"

    # --- tenant registry -----------------------------------------------------------------

    def register_tenant(
        self, tenant_id: str, *, display_name: str | None = None, status: str = "active"
    ) -> TenantRecord:
        """Add the tenant to the registry, or update its name and status."""
        check_tenant_id(tenant_id)
        record = TenantRecord(
            tenant_id=tenant_id, display_name=display_name, status=status, created_at=_now()
        )
        existing = self.tenant(tenant_id)
        if existing is not None:
            record = record.model_copy(update={"created_at": existing.created_at})
        self._scope(RESERVED_NAMESPACE).put(
            "tenants",
            {"pk": "tenants", "sk": tenant_id, **record.model_dump(exclude={"tenant_id"})},
        )
        return record

    def tenant(self, tenant_id: str) -> TenantRecord | None:
        check_tenant_id(tenant_id)
        item = self._scope(RESERVED_NAMESPACE).get("tenants", "tenants", tenant_id)
        return None if item is None else TenantRecord(tenant_id=item.sk, **item.data)

    def tenants(
        self, *, cursor: str | None = None, limit: int = 100
    ) -> tuple[list[TenantRecord], str | None]:
        """One page of the registry in tenant-id order, and the cursor of the next."""
        page = self._scope(RESERVED_NAMESPACE).query(
            "tenants", "tenants", limit=limit, cursor=cursor
        )
        return [TenantRecord(tenant_id=i.sk, **i.data) for i in page.items], page.cursor

    def remove_tenant(self, tenant_id: str) -> bool:
        check_tenant_id(tenant_id)
        return self._scope(RESERVED_NAMESPACE).delete("tenants", "tenants", tenant_id)

    # --- WebSocket connections -----------------------------------------------------------

    def add_connection(
        self, tenant_id: str, connection_id: str, *, user_id: str, endpoint: str | None = None
    ) -> Connection:
        """Register an open connection under its tenant."""
        connection = Connection(
            tenant_id=tenant_id,
            connection_id=connection_id,
            user_id=user_id,
            endpoint=endpoint,
            connected_at=_now(),
        )
        ttl = CONNECTION_TTL if DbCapability.TTL in self._capabilities else None
        self._tenant(tenant_id).put(
            "connections",
            {
                "pk": "connections",
                "sk": connection_id,
                **connection.model_dump(exclude={"tenant_id", "connection_id"}),
            },
            ttl=ttl,
        )
        return connection

    def connection(self, tenant_id: str, connection_id: str) -> Connection | None:
        item = self._tenant(tenant_id).get("connections", "connections", connection_id)
        return None if item is None else _connection(tenant_id, item)

    def remove_connection(self, tenant_id: str, connection_id: str) -> bool:
        """Forget a connection; returns whether it was registered."""
        return self._tenant(tenant_id).delete("connections", "connections", connection_id)

    def connections(self, tenant_id: str, *, page_size: int = 500) -> Iterator[Connection]:
        """Every registered connection of the tenant (a query of its partition)."""
        scope = self._tenant(tenant_id)
        cursor: str | None = None
        while True:
            page = scope.query("connections", "connections", limit=page_size, cursor=cursor)
            for item in page.items:
                yield _connection(tenant_id, item)
            cursor = page.cursor
            if cursor is None:
                return

    # --- users ---------------------------------------------------------------------------

    def put_user(self, record: UserRecord) -> UserRecord:
        """Write a user of its tenant (replacing what was kept)."""
        self._tenant(record.tenant_id).put(
            "users",
            {
                "pk": "users",
                "sk": record.user_id,
                **record.model_dump(exclude={"user_id", "tenant_id"}),
            },
        )
        return record

    def user(self, tenant_id: str, user_id: str) -> UserRecord | None:
        item = self._tenant(tenant_id).get("users", "users", user_id)
        return (
            None if item is None else UserRecord(tenant_id=tenant_id, user_id=item.sk, **item.data)
        )

    def users(
        self, tenant_id: str, *, cursor: str | None = None, limit: int = 100
    ) -> tuple[list[UserRecord], str | None]:
        """One page of the tenant's users in user-id order, and the cursor of the next."""
        page = self._tenant(tenant_id).query("users", "users", limit=limit, cursor=cursor)
        records = [UserRecord(tenant_id=tenant_id, user_id=i.sk, **i.data) for i in page.items]
        return records, page.cursor

    def remove_user(self, tenant_id: str, user_id: str) -> bool:
        return self._tenant(tenant_id).delete("users", "users", user_id)

    # --- audit log -----------------------------------------------------------------------

    def audit(
        self,
        tenant_id: str,
        *,
        actor: str,
        action: str,
        details: Mapping[str, Any] | None = None,
        source_ip: str | None = None,
        user_agent: str | None = None,
    ) -> AuditEntry:
        """Record a change to the tenant: who (``actor``), from where (``source_ip``,
        ``user_agent``), what. ``details`` must hold no credential."""
        entry = _audit_entry(tenant_id, actor, action, details, source_ip, user_agent)
        self._put_audit(entry)
        return entry

    def audit_limit_refusal(
        self,
        tenant_id: str,
        limit: str,
        *,
        actor: str,
        source_ip: str | None = None,
        user_agent: str | None = None,
    ) -> AuditEntry | None:
        """Record that ``limit`` refused the tenant's requests this minute; the first
        refusal of a minute writes the entry (action ``limit.refused``), the others of
        the same minute return ``None`` (already recorded, by this container or another)."""
        check_tenant_id(tenant_id)
        now = datetime.now(UTC)
        minute = now.replace(second=0, microsecond=0).isoformat(timespec="microseconds")
        key = (tenant_id, limit)
        if self._bursts.get(key) == minute:
            return None
        entry = AuditEntry(
            id=f"{minute}#limit.{limit}",
            tenant_id=tenant_id,
            actor=actor,
            action="limit.refused",
            details={"limit": limit, "first_refusal_at": now.isoformat(timespec="microseconds")},
            at=minute,
            source_ip=source_ip,
            user_agent=_short(user_agent),
        )
        recorded: AuditEntry | None = entry
        try:
            self._put_audit(entry)
        except ConditionFailed:
            recorded = None  # another container recorded this minute's burst first
        if len(self._bursts) >= 4096:
            self._bursts.clear()
        self._bursts[key] = minute
        return recorded

    def _put_audit(self, entry: AuditEntry) -> None:
        item = entry.model_dump(exclude={"id", "tenant_id"}, exclude_none=True)
        self._tenant(str(entry.tenant_id)).put(
            "audit", {"pk": "audit", "sk": entry.id, **item}, condition=IfAbsent()
        )

    # --- the operator's audit log --------------------------------------------------------

    def operator_audit(
        self,
        *,
        actor: str,
        action: str,
        tenant_id: str | None = None,
        details: Mapping[str, Any] | None = None,
        source_ip: str | None = None,
        user_agent: str | None = None,
    ) -> AuditEntry:
        """Record a platform operator's action (or a refused attempt at one) in the
        operator's own log, outside every tenant's namespace. ``details`` must hold no
        credential."""
        entry = _audit_entry(tenant_id, actor, action, details, source_ip, user_agent)
        item = entry.model_dump(exclude={"id"}, exclude_none=True)
        self._scope(RESERVED_NAMESPACE).put(
            "audit", {"pk": _OPERATOR_LOG, "sk": entry.id, **item}, condition=IfAbsent()
        )
        return entry

    def operator_audit_log(
        self, *, cursor: str | None = None, limit: int = 50
    ) -> tuple[list[AuditEntry], str | None]:
        """One page of the operator's log, newest first."""
        page = self._scope(RESERVED_NAMESPACE).query(
            "audit", _OPERATOR_LOG, descending=True, limit=limit, cursor=cursor
        )
        data = [{"tenant_id": None, **i.data} for i in page.items]
        entries = [AuditEntry(id=i.sk, **d) for i, d in zip(page.items, data, strict=True)]
        return entries, page.cursor

    def audit_log(
        self, tenant_id: str, *, cursor: str | None = None, limit: int = 50
    ) -> tuple[list[AuditEntry], str | None]:
        """One page of the tenant's audit log, newest first."""
        page = self._tenant(tenant_id).query(
            "audit", "audit", descending=True, limit=limit, cursor=cursor
        )
        entries = [AuditEntry(id=i.sk, tenant_id=tenant_id, **i.data) for i in page.items]
        return entries, page.cursor

    # --- plumbing ------------------------------------------------------------------------

    def _tenant(self, tenant_id: str) -> TenantDatabase:
        return self._scope(check_tenant_id(tenant_id))

    def _scope(self, namespace: str) -> TenantDatabase:
        scope = self._scopes.get(namespace)
        if scope is None:
            with self._lock:
                scope = self._scopes.get(namespace)
                if scope is None:
                    if len(self._scopes) >= 1024:
                        self._scopes.clear()
                    scope = TenantDatabase(
                        self._database,
                        tenant_id=namespace,
                        provider=self._provider,
                        capabilities=self._capabilities,
                        signer=self._signer,
                        retry=self._retry,
                    )
                    self._scopes[namespace] = scope
        return scope


def _connection(tenant_id: str, item: Item) -> Connection:
    return Connection(tenant_id=tenant_id, connection_id=item.sk, **item.data)


def _audit_entry(
    tenant_id: str | None,
    actor: str,
    action: str,
    details: Mapping[str, Any] | None,
    source_ip: str | None,
    user_agent: str | None,
) -> AuditEntry:
    """A new audit entry, its id ordered by time and unique."""
    at = _now()
    return AuditEntry(
        id=f"{at}#{secrets.token_hex(4)}",
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        details=dict(details or {}),
        at=at,
        source_ip=source_ip,
        user_agent=_short(user_agent),
    )


def _short(text: str | None, limit: int = 256) -> str | None:
    """A header value as recorded: cut to ``limit`` characters, control characters out."""
    if text is None:
        return None
    return "".join(c for c in text[:limit] if c.isprintable())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
