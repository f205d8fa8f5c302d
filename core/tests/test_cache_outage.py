"""The config cache under an outage: an exact stale window, a settable retry interval,
and one fetch per tenant at a time (single flight) against a hung source."""

from __future__ import annotations

import copy
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tenantkit import DirectorySource, Resolver, errors
from tenantkit.cache import ConfigCache
from tenantkit.config import TenantConfig
from tenantkit.plugins import Plugins
from tenantkit.sources import AWSCURRENT, ConfigDocument
from testharness.clock import FakeClock

DOC: dict[str, Any] = {
    "schema_version": 1,
    "tenant_id": "acme",
    "db": {"provider": "sqlite"},
    "llm": {"provider": "echo"},
    "storage": {"provider": "local", "root": "/tmp/x", "signing_key": "k" * 32},
}


class ControlledSource:
    """A source the test can make fail, or hang until released; counts fetches."""

    def __init__(self) -> None:
        self.failing = False
        self.hang = threading.Event()
        self.hang.set()  # not hanging
        self.started = threading.Event()
        self.calls = 0
        self.version = 1
        self._lock = threading.Lock()

    def describe(self) -> str:
        return "controlled"

    def fetch(self, tenant_id: str, *, stage: str = AWSCURRENT) -> ConfigDocument:
        with self._lock:
            self.calls += 1
        self.started.set()
        self.hang.wait(timeout=30)
        if self.failing:
            raise errors.ConfigSourceError("Secrets Manager did not answer")
        return ConfigDocument(tenant_id, copy.deepcopy(DOC), f"v{self.version}", "controlled")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def source() -> ControlledSource:
    return ControlledSource()


def _cache(source: ControlledSource, clock: FakeClock, **options: float) -> ConfigCache:
    settings: dict[str, float] = {"ttl": 2, "stale_for": 6, "retry_interval": 10}
    settings.update(options)
    return ConfigCache(source, plugins=Plugins(), clock=clock, **settings)  # type: ignore[arg-type]


def test_stale_for_is_exact_even_inside_the_retry_interval(
    source: ControlledSource, clock: FakeClock
) -> None:
    cache = _cache(source, clock)
    good = cache.get("acme")  # fetched at 0
    source.failing = True
    clock.now += 3
    assert cache.get("acme") is good  # the source failed: stale, retry at 13 s
    assert source.calls == 2
    clock.now += 3  # 6 s after the fetch: still inside the window
    assert cache.get("acme") is good
    assert source.calls == 2  # inside the retry interval: the source is left alone
    clock.now += 0.5  # 6.5 s: past stale_for although the retry interval runs to 13 s
    with pytest.raises(errors.ConfigSourceError):
        cache.get("acme")
    assert source.calls == 3


def test_the_retry_interval_is_a_resolver_setting(
    source: ControlledSource, clock: FakeClock, tmp_path: Any
) -> None:
    resolver = Resolver(
        DirectorySource(tmp_path),
        signing_key=b"k" * 32,
        config_ttl=2,
        stale_for=60,
        config_retry_interval=1.5,
    )
    assert resolver.configs._retry_interval == 1.5
    cache = _cache(source, clock, stale_for=60, retry_interval=1.5)
    cache.get("acme")
    source.failing = True
    clock.now += 3
    cache.get("acme")
    clock.now += 1
    cache.get("acme")
    assert source.calls == 2  # 1 s after the failure: inside the interval
    clock.now += 1
    cache.get("acme")
    assert source.calls == 3  # 2 s after: asked again


def test_a_warm_tenant_against_a_hung_source_makes_one_fetch_and_nobody_waits(
    source: ControlledSource, clock: FakeClock
) -> None:
    cache = _cache(source, clock)
    good = cache.get("acme")
    clock.now += 3  # the TTL ran out
    source.hang.clear()
    source.started.clear()
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(cache.get, "acme")
        assert source.started.wait(10)  # one caller is now stuck in the source
        others = [pool.submit(cache.get, "acme") for _ in range(7)]
        # The seven others are served the last good configuration at once.
        assert all(f.result(timeout=10) is good for f in others)
        assert not first.done()
        assert source.calls == 2
        source.version = 2
        source.hang.set()
        assert first.result(timeout=10).version == "v2"
    assert cache.get("acme").version == "v2"
    assert source.calls == 2


def test_a_cold_tenant_makes_one_fetch_that_every_caller_waits_for(
    source: ControlledSource, clock: FakeClock
) -> None:
    cache = _cache(source, clock)
    source.hang.clear()
    with ThreadPoolExecutor(8) as pool:
        results = [pool.submit(cache.get, "acme") for _ in range(8)]
        assert source.started.wait(10)
        source.hang.set()
        configs: list[TenantConfig] = [f.result(timeout=10) for f in results]
    assert source.calls == 1
    assert all(c is configs[0] for c in configs)


def test_a_failed_fetch_fails_every_caller_waiting_for_it(
    source: ControlledSource, clock: FakeClock
) -> None:
    cache = _cache(source, clock)
    source.failing = True
    source.hang.clear()
    with ThreadPoolExecutor(8) as pool:
        results = [pool.submit(cache.get, "acme") for _ in range(8)]
        assert source.started.wait(10)
        source.hang.set()
        for f in results:
            with pytest.raises(errors.ConfigSourceError):
                f.result(timeout=10)
    assert source.calls <= 8  # callers that came after the failure may try again
    source.failing = False
    assert cache.get("acme").version == "v1"
