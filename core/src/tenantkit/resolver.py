"""Tenant resolution: tenant id → a :class:`Tenant` with ``db``, ``llm`` and ``storage``.

:meth:`Resolver.resolve` reads the tenant's configuration through the
:class:`~tenantkit.cache.ConfigCache`, and returns a :class:`Tenant` whose providers
are built on first use, through the plugins the configuration names and no others.
Tenants are cached per (tenant, configuration version) in a bounded LRU; an evicted
tenant, or one whose configuration moved to a new version, has its provider instances
closed, so a warm Lambda container keeps connections across invocations and releases
them when they can no longer be used.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from cachetools import LRUCache

from tenantkit.cache import ConfigCache
from tenantkit.config import TenantConfig
from tenantkit.cursors import CursorSigner
from tenantkit.db import Schema
from tenantkit.errors import ProviderSetupFailed, TenantClosed, TenantkitError
from tenantkit.identifiers import check_tenant_id
from tenantkit.plugins import Plugins, default_plugins
from tenantkit.registry import Kind, ProviderContext, ProviderSpec
from tenantkit.retry import RetryPolicy
from tenantkit.scoped import TenantDatabase, TenantLLM, TenantStorage
from tenantkit.sources import AWSCURRENT, ConfigSource, DirectorySource, SecretsManagerSource

__all__ = ["Resolver", "Tenant"]

log = logging.getLogger("tenantkit.resolver")

T = TypeVar("T")


class Tenant:
    """One tenant's providers, built lazily from one configuration version.

    ``db``, ``llm`` and ``storage`` are tenant-scoped wrappers: they take no tenant id
    and cannot reach another tenant's data.
    """

    def __init__(
        self,
        config: TenantConfig,
        *,
        plugins: Plugins,
        signer: CursorSigner,
        schema: Schema,
        retry: RetryPolicy,
    ) -> None:
        self._config = config
        self._plugins = plugins
        self._signer = signer
        self._schema = schema
        self._retry = retry
        self._secrets = tuple(config.secret_values())
        self._instances: dict[Kind, Any] = {}
        self._wrappers: dict[Kind, Any] = {}
        self._lock = threading.Lock()
        self._closed = False

    @property
    def id(self) -> str:
        return self._config.tenant_id

    @property
    def config(self) -> TenantConfig:
        return self._config

    @property
    def schema(self) -> Schema:
        return self._schema

    @property
    def db(self) -> TenantDatabase:
        return self._get("db", self._make_db)

    @property
    def llm(self) -> TenantLLM:
        return self._get("llm", self._make_llm)

    @property
    def storage(self) -> TenantStorage:
        return self._get("storage", self._make_storage)

    def provider_instance(self, kind: Kind) -> Any:
        """The raw provider instance behind a wrapper (for ``ensure_schema`` and checks)."""
        self._get(
            kind, {"db": self._make_db, "llm": self._make_llm, "storage": self._make_storage}[kind]
        )
        return self._instances[kind]

    def close(self) -> None:
        """Close every provider instance built so far. The tenant is unusable afterwards."""
        with self._lock:
            self._closed = True
            instances, self._instances, self._wrappers = self._instances, {}, {}
        for kind, instance in instances.items():
            try:
                instance.close()
            except Exception as exc:  # closing must not fail the caller
                log.warning(
                    "closing %s provider of tenant %s failed: %s", kind, self.id, type(exc).__name__
                )

    def __repr__(self) -> str:
        return f"Tenant(id={self.id!r}, version={self._config.version!r})"

    def _get(self, kind: Kind, make: Callable[[ProviderSpec, Any], T]) -> T:
        wrapper = self._wrappers.get(kind)
        if wrapper is not None:
            return wrapper  # type: ignore[no-any-return]
        with self._lock:
            if self._closed:
                raise TenantClosed(f"tenant {self.id} was closed; resolve it again")
            if kind not in self._wrappers:
                section = self._config.section(kind)
                spec = self._plugins.get(kind, section.provider)
                context = ProviderContext(
                    tenant_id=self.id,
                    provider=section.provider,
                    schema=self._schema,
                    retry=self._retry,
                )
                try:
                    instance = spec.factory(section.settings, context)
                except TenantkitError as exc:
                    exc._scrub(self._secrets)
                    raise
                except Exception as exc:
                    error = ProviderSetupFailed(
                        f"building {kind} provider {section.provider!r} for tenant {self.id} "
                        f"failed: {type(exc).__name__}: {exc}",
                        provider=section.provider,
                    )
                    error._scrub(self._secrets)
                    raise error from None
                self._instances[kind] = instance
                self._wrappers[kind] = make(spec, instance)
            return self._wrappers[kind]  # type: ignore[no-any-return]

    def _make_db(self, spec: ProviderSpec, instance: Any) -> TenantDatabase:
        return TenantDatabase(
            instance,
            tenant_id=self.id,
            provider=spec.name,
            capabilities=spec.capabilities,
            signer=self._signer,
            schema=self._schema,
            retry=self._retry,
            secrets=self._secrets,
        )

    def _make_llm(self, spec: ProviderSpec, instance: Any) -> TenantLLM:
        return TenantLLM(
            instance,
            tenant_id=self.id,
            provider=spec.name,
            capabilities=spec.capabilities,
            retry=self._retry,
            secrets=self._secrets,
        )

    def _make_storage(self, spec: ProviderSpec, instance: Any) -> TenantStorage:
        return TenantStorage(
            instance,
            tenant_id=self.id,
            provider=spec.name,
            capabilities=spec.capabilities,
            signer=self._signer,
            retry=self._retry,
            secrets=self._secrets,
        )


class _ClosingLRU(LRUCache[tuple[str, str, str], Tenant]):
    def popitem(self) -> tuple[tuple[str, str, str], Tenant]:
        key, tenant = super().popitem()
        tenant.close()
        return key, tenant


class Resolver:
    """Resolves tenant ids to :class:`Tenant` objects.

    Args:
        source: where tenant secrets come from (see :meth:`from_env`).
        plugins: the plugin loader; the process-wide one by default.
        schema: the application's declared secondary indexes.
        signing_key: signs pagination cursors; every process of a deployment must use
            the same key (``TENANTKIT_SIGNING_KEY``), or cursors only work in the
            process that issued them.
        retry: the retry policy for provider calls.
        max_tenants: tenants kept with their provider instances.
        config_ttl, stale_for: see :class:`ConfigCache`.
        config_retry_interval: while the configuration source is failing, seconds
            between attempts at it (the last good configuration is served meanwhile,
            never past ``stale_for``).
    """

    def __init__(
        self,
        source: ConfigSource,
        *,
        plugins: Plugins | None = None,
        schema: Schema | None = None,
        signing_key: bytes | None = None,
        retry: RetryPolicy | None = None,
        max_tenants: int = 256,
        config_ttl: float = 300.0,
        stale_for: float = 3600.0,
        config_retry_interval: float = 10.0,
    ) -> None:
        self._plugins = plugins or default_plugins()
        self._schema = schema or Schema.model_construct()  # empty: nothing to validate
        self._retry = retry or RetryPolicy()
        self._signer = CursorSigner(
            signing_key or _signing_key_from_env(local=isinstance(source, DirectorySource))
        )
        self._configs = ConfigCache(
            source,
            plugins=self._plugins,
            ttl=config_ttl,
            stale_for=stale_for,
            retry_interval=config_retry_interval,
        )
        self._tenants = _ClosingLRU(max_tenants)
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> Resolver:
        """A resolver configured from the environment (``os.environ`` by default): the
        one way a deployment builds its resolver.

        ``TENANTKIT_CONFIG_DIR`` selects a :class:`DirectorySource`; otherwise
        ``TENANTKIT_SECRETS_PREFIX`` (default ``tenantkit``) selects Secrets Manager,
        with ``TENANTKIT_SECRETS_ENDPOINT_URL`` for a local stand-in, in ``AWS_REGION``
        (which Lambda sets) or else botocore's default region.
        ``TENANTKIT_SIGNING_KEY`` signs cursors unless ``signing_key`` is given. Other
        keyword arguments go to :class:`Resolver`.
        """
        env = os.environ if environ is None else environ
        directory = env.get("TENANTKIT_CONFIG_DIR")
        source: ConfigSource
        if directory:
            source = DirectorySource(directory)
        else:
            source = SecretsManagerSource(
                env.get("TENANTKIT_SECRETS_PREFIX") or "tenantkit",
                endpoint_url=env.get("TENANTKIT_SECRETS_ENDPOINT_URL") or None,
                region=env.get("AWS_REGION") or None,
            )
        if kwargs.get("signing_key") is None:
            kwargs["signing_key"] = _signing_key_from_env(env, local=bool(directory))
        return cls(source, **kwargs)

    @property
    def plugins(self) -> Plugins:
        return self._plugins

    @property
    def configs(self) -> ConfigCache:
        return self._configs

    @property
    def schema(self) -> Schema:
        return self._schema

    def resolve(self, tenant_id: str, *, stage: str = AWSCURRENT) -> Tenant:
        """The tenant, built from its current configuration (cached while warm)."""
        config = self._configs.get(tenant_id, stage=stage)
        key = (tenant_id, stage, config.version)
        with self._lock:
            tenant = self._tenants.get(key)
            if tenant is not None:
                return tenant
            stale = [k for k in self._tenants if k[:2] == (tenant_id, stage)]
            retired = [self._tenants.pop(k) for k in stale]
            tenant = Tenant(
                config,
                plugins=self._plugins,
                signer=self._signer,
                schema=self._schema,
                retry=self._retry,
            )
            self._tenants[key] = tenant
        for old in retired:
            old.close()
        return tenant

    def refresh_after_auth_error(self, tenant_id: str, *, stage: str = AWSCURRENT) -> bool:
        """After a provider rejected a tenant's credentials: re-read its secret once.

        Returns True when a new configuration version was found; the caller should then
        :meth:`resolve` again and retry the call once.
        """
        check_tenant_id(tenant_id)
        return self._configs.refresh_after_auth_error(tenant_id, stage=stage)

    def invalidate(self, tenant_id: str) -> None:
        """Forget the tenant's configuration and close its providers."""
        self._configs.invalidate(tenant_id)
        with self._lock:
            retired = [self._tenants.pop(k) for k in list(self._tenants) if k[0] == tenant_id]
        for old in retired:
            old.close()

    def close(self) -> None:
        """Close every cached tenant's providers."""
        with self._lock:
            retired = list(self._tenants.values())
            self._tenants.clear()
        for old in retired:
            old.close()


def _signing_key_from_env(
    environ: Mapping[str, str] | None = None, *, local: bool = False
) -> bytes:
    """``TENANTKIT_SIGNING_KEY``, else a random key: a warning for a deployment, whose
    processes share cursors; only a note for ``local`` development (a directory of
    secrets), where one process is the usual case."""
    configured = (os.environ if environ is None else environ).get("TENANTKIT_SIGNING_KEY")
    if configured:
        return configured.encode()
    log.log(
        logging.INFO if local else logging.WARNING,
        "TENANTKIT_SIGNING_KEY is not set: pagination cursors are signed with a random "
        "key and work only in this process",
    )
    return secrets.token_bytes(32)
