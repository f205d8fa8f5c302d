"""The tenant configuration cache: bounded TTL + LRU, stale-if-error, forced refresh.

Entries are keyed by tenant *and* version stage. A fresh entry is served from memory.
When it expires the source is asked again, by one caller at a time per entry (single
flight): while that fetch runs, other callers are served the last good configuration
at once, or, when there is none, wait for the fetch and share its result. If the
source fails with a retryable :class:`ConfigSourceError`, the last good configuration
is served until exactly ``stale_for`` seconds after it was fetched (with a warning),
and the source is not asked again for ``retry_interval`` seconds so an outage is not
hammered. Forced refresh and :meth:`ConfigCache.refresh_after_auth_error` (at most
once per ``auth_refresh_interval`` per tenant) let rotated credentials apply at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import LRUCache, TTLCache

from tenantkit.config import TenantConfig, parse_tenant_config
from tenantkit.errors import ConfigSourceError, TenantMismatch
from tenantkit.identifiers import check_tenant_id
from tenantkit.plugins import Plugins
from tenantkit.sources import AWSCURRENT, ConfigSource

__all__ = ["ConfigCache"]

log = logging.getLogger("tenantkit.config")


@dataclass
class _Good:
    config: TenantConfig
    fetched_at: float
    retry_at: float = 0.0


class _Flight:
    """One fetch in progress; callers that cannot be served meanwhile wait for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.config: TenantConfig | None = None
        self.error: BaseException | None = None


class ConfigCache:
    """Validated tenant configurations, cached.

    Args:
        source: where secrets come from.
        plugins: validates provider sections (loads only the named plugins).
        ttl: seconds a configuration is served without asking the source.
        maxsize: tenants kept (least recently used are dropped first).
        stale_for: seconds past its fetch that a configuration may still be served
            while the source is failing.
        retry_interval: while serving stale, seconds between attempts at the source.
        auth_refresh_interval: minimum seconds between refreshes triggered by
            authentication errors, per tenant.
    """

    def __init__(
        self,
        source: ConfigSource,
        *,
        plugins: Plugins,
        ttl: float = 300.0,
        maxsize: int = 1024,
        stale_for: float = 3600.0,
        retry_interval: float = 10.0,
        auth_refresh_interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._plugins = plugins
        self._stale_for = stale_for
        self._retry_interval = retry_interval
        self._auth_interval = auth_refresh_interval
        self._clock = clock
        self._fresh: TTLCache[tuple[str, str], TenantConfig] = TTLCache(maxsize, ttl, timer=clock)
        self._good: LRUCache[tuple[str, str], _Good] = LRUCache(maxsize)
        self._auth_refreshed: LRUCache[str, float] = LRUCache(maxsize)
        self._flights: dict[tuple[str, str], _Flight] = {}
        self._lock = threading.Lock()

    @property
    def source(self) -> ConfigSource:
        return self._source

    def get(self, tenant_id: str, *, stage: str = AWSCURRENT) -> TenantConfig:
        """The tenant's configuration, from memory while fresh."""
        key = (tenant_id, stage)
        with self._lock:
            config = self._fresh.get(key)
        if config is not None:
            return config
        return self._load(key, force=False)

    def refresh(self, tenant_id: str, *, stage: str = AWSCURRENT) -> TenantConfig:
        """Fetch the configuration now, whatever the cache holds."""
        return self._load((tenant_id, stage), force=True)

    def invalidate(self, tenant_id: str) -> None:
        """Forget the tenant's cached configuration (every stage)."""
        with self._lock:
            for cache in (self._fresh, self._good):
                for key in [k for k in cache if k[0] == tenant_id]:
                    del cache[key]

    def refresh_after_auth_error(self, tenant_id: str, *, stage: str = AWSCURRENT) -> bool:
        """Refresh once after a provider rejected the tenant's credentials.

        Returns True when the refresh produced a different configuration version (so
        retrying the failed call may now succeed), False when the version is the same,
        the source failed, or a refresh happened less than ``auth_refresh_interval`` ago.
        """
        now = self._clock()
        with self._lock:
            last = self._auth_refreshed.get(tenant_id)
            if last is not None and now - last < self._auth_interval:
                return False
            self._auth_refreshed[tenant_id] = now
            previous = self._good.get((tenant_id, stage))
        try:
            config = self.refresh(tenant_id, stage=stage)
        except ConfigSourceError:
            return False
        return previous is None or previous.config.version != config.version

    def _load(self, key: tuple[str, str], *, force: bool) -> TenantConfig:
        tenant_id, _ = key
        check_tenant_id(tenant_id)
        now = self._clock()
        with self._lock:
            good = self._good.get(key)
            usable = good is not None and now - good.fetched_at <= self._stale_for
            if not force and usable and good is not None and now < good.retry_at:
                return good.config  # inside an outage's retry interval
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            if not force and usable and good is not None:
                return good.config  # another caller is fetching: no waiting
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            assert flight.config is not None
            return flight.config
        try:
            flight.config = self._fetch(key, good)
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()
        return flight.config

    def _fetch(self, key: tuple[str, str], good: _Good | None) -> TenantConfig:
        tenant_id, stage = key
        started = self._clock()
        try:
            document = self._source.fetch(tenant_id, stage=stage)
        except ConfigSourceError as exc:
            now = self._clock()
            if good is None or now - good.fetched_at > self._stale_for:
                raise
            log.warning(
                "config source failed for tenant %s (%s); serving configuration version %s "
                "fetched %.0f s ago",
                tenant_id,
                exc.message,
                good.config.version,
                now - good.fetched_at,
            )
            with self._lock:
                good.retry_at = now + self._retry_interval
            return good.config
        config = parse_tenant_config(
            document.raw, plugins=self._plugins, version=document.version, source=document.source
        )
        if config.tenant_id != tenant_id:
            raise TenantMismatch(
                f"{document.source} is stored under tenant {tenant_id!r} but declares "
                f"tenant_id {config.tenant_id!r}; refusing it"
            )
        with self._lock:
            self._fresh[key] = config
            self._good[key] = _Good(config, started)
        return config
