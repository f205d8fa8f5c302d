"""The config cache: TTL, LRU bound, stale-if-error, forced refresh, auth refresh."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest

from tenantkit import errors
from tenantkit.cache import ConfigCache
from tenantkit.plugins import Plugins
from tenantkit.sources import AWSCURRENT, ConfigDocument


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeSource:
    """An in-memory source whose documents and failures the test controls."""

    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], dict[str, Any]] = {}
        self.versions: dict[tuple[str, str], int] = {}
        self.failing = False
        self.calls = 0

    def set(self, tenant_id: str, stage: str = AWSCURRENT, **extra: Any) -> None:
        key = (tenant_id, stage)
        self.docs[key] = {
            "schema_version": 1,
            "tenant_id": tenant_id,
            "db": {"provider": "sqlite"},
            "llm": {"provider": "echo"},
            "storage": {"provider": "local", "root": "/tmp/x", "signing_key": "k" * 32},
            **extra,
        }
        self.versions[key] = self.versions.get(key, 0) + 1

    def describe(self) -> str:
        return "fake"

    def fetch(self, tenant_id: str, *, stage: str = AWSCURRENT) -> ConfigDocument:
        self.calls += 1
        if self.failing:
            raise errors.ConfigSourceError("source is down")
        key = (tenant_id, stage)
        if key not in self.docs:
            raise errors.TenantNotFound(tenant_id)
        return ConfigDocument(
            tenant_id, copy.deepcopy(self.docs[key]), f"v{self.versions[key]}", "fake"
        )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def source() -> FakeSource:
    src = FakeSource()
    src.set("acme")
    return src


@pytest.fixture
def cache(source: FakeSource, clock: Clock) -> ConfigCache:
    return ConfigCache(
        source, plugins=Plugins(), ttl=60, maxsize=2, stale_for=300, retry_interval=10, clock=clock
    )


def test_served_from_memory_until_the_ttl(
    cache: ConfigCache, source: FakeSource, clock: Clock
) -> None:
    first = cache.get("acme")
    assert cache.get("acme") is first
    assert source.calls == 1
    source.set("acme", plan="pro")
    clock.now += 59
    assert cache.get("acme").plan == "standard"
    clock.now += 2
    assert cache.get("acme").plan == "pro"
    assert source.calls == 2


def test_keyed_by_version_stage(cache: ConfigCache, source: FakeSource) -> None:
    source.set("acme", stage="AWSPENDING", plan="next")
    assert cache.get("acme").plan == "standard"
    assert cache.get("acme", stage="AWSPENDING").plan == "next"


def test_bounded_lru(cache: ConfigCache, source: FakeSource) -> None:
    for tenant in ("t1", "t2", "t3"):
        source.set(tenant)
        cache.get(tenant)
    calls = source.calls
    cache.get("t3")
    assert source.calls == calls
    cache.get("t1")  # evicted: the cache holds two tenants
    assert source.calls == calls + 1


def test_stale_if_error_within_the_window(
    cache: ConfigCache, source: FakeSource, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    good = cache.get("acme")
    source.failing = True
    clock.now += 61
    with caplog.at_level(logging.WARNING, logger="tenantkit.config"):
        assert cache.get("acme") is good
    assert "serving configuration version" in caplog.text
    calls = source.calls
    clock.now += 5  # inside the retry interval: the source is left alone
    assert cache.get("acme") is good
    assert source.calls == calls
    clock.now += 300  # past the stale window
    with pytest.raises(errors.ConfigSourceError):
        cache.get("acme")


def test_no_cached_config_means_the_error_surfaces(cache: ConfigCache, source: FakeSource) -> None:
    source.failing = True
    with pytest.raises(errors.ConfigSourceError):
        cache.get("acme")


def test_forced_refresh_and_invalidate(cache: ConfigCache, source: FakeSource) -> None:
    cache.get("acme")
    source.set("acme", plan="pro")
    assert cache.refresh("acme").plan == "pro"
    source.set("acme", plan="enterprise")
    cache.invalidate("acme")
    assert cache.get("acme").plan == "enterprise"


def test_refresh_after_auth_error_once_per_interval(
    cache: ConfigCache, source: FakeSource, clock: Clock
) -> None:
    cache.get("acme")
    assert cache.refresh_after_auth_error("acme") is False  # same version: retrying won't help
    source.set("acme", plan="rotated")
    assert cache.refresh_after_auth_error("acme") is False  # too soon after the last one
    clock.now += 31
    assert cache.refresh_after_auth_error("acme") is True
    assert cache.get("acme").plan == "rotated"


def test_invalid_new_version_is_refused_not_served(cache: ConfigCache, source: FakeSource) -> None:
    source.set("acme", llm={"provider": "echo", "bogus": True})
    with pytest.raises(errors.SecretValidationError, match=r"llm\.bogus"):
        cache.get("acme")


def test_defaults_cannot_smuggle_another_tenant_id(cache: ConfigCache, source: FakeSource) -> None:
    source.set("bravo")
    source.docs[("bravo", AWSCURRENT)]["tenant_id"] = "acme"
    with pytest.raises(errors.TenantMismatch):
        cache.get("bravo")
