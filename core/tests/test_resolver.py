"""Tenant resolution: lazy providers, caching per config version, eviction closes,
broken plugins fail only their tenants, credentials scrubbed from errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tenantkit import DirectorySource, Resolver, errors
from tenantkit.plugins import EntryPointIndex, Plugins

if TYPE_CHECKING:
    from .conftest import SiteDir

PLANTED = "sk-planted-resolver-5566778899"


def write_tenant(directory: Path, tenant_id: str, **sections: Any) -> None:
    doc = {
        "schema_version": 1,
        "tenant_id": tenant_id,
        "db": {"provider": "sqlite", "path": str(directory / "shared.db")},
        "llm": {"provider": "echo"},
        "storage": {
            "provider": "local",
            "root": str(directory / "files"),
            "signing_key": "0123456789abcdef0123456789abcdef",
        },
    }
    doc.update(sections)
    (directory / f"{tenant_id}.json").write_text(json.dumps(doc))


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "tenants"
    directory.mkdir()
    write_tenant(directory, "acme")
    write_tenant(directory, "bravo")
    return directory


@pytest.fixture
def resolver(config_dir: Path) -> Resolver:
    return Resolver(DirectorySource(config_dir), signing_key=b"k" * 32)


def test_providers_are_built_lazily_and_cached(resolver: Resolver) -> None:
    tenant = resolver.resolve("acme")
    assert tenant.id == "acme"
    assert tenant._instances == {}
    assert tenant.db is tenant.db
    assert set(tenant._instances) == {"db"}
    assert resolver.resolve("acme") is tenant


def test_a_new_config_version_gets_new_instances_and_closes_the_old(
    resolver: Resolver, config_dir: Path
) -> None:
    old = resolver.resolve("acme")
    db = old.provider_instance("db")
    write_tenant(config_dir, "acme", plan="pro")
    resolver.configs.invalidate("acme")
    new = resolver.resolve("acme")
    assert new is not old
    assert new.config.plan == "pro"
    assert old._instances == {}  # closed
    with pytest.raises(errors.TenantkitError, match="closed"):
        _ = old.db
    assert new.provider_instance("db") is not db


def test_eviction_closes_provider_instances(config_dir: Path) -> None:
    write_tenant(config_dir, "charlie")
    resolver = Resolver(DirectorySource(config_dir), signing_key=b"k" * 32, max_tenants=2)
    first = resolver.resolve("acme")
    first.db.put("notes", {"pk": "a"})
    resolver.resolve("bravo")
    resolver.resolve("charlie")
    assert first._closed
    assert resolver.resolve("acme") is not first


def test_the_same_keys_in_two_tenants_stay_apart(resolver: Resolver) -> None:
    acme, bravo = resolver.resolve("acme"), resolver.resolve("bravo")
    acme.db.put("notes", {"pk": "u1", "sk": "n1", "text": "acme's"})
    bravo.db.put("notes", {"pk": "u1", "sk": "n1", "text": "bravo's"})
    acme.storage.put("same/key.txt", b"acme")
    bravo.storage.put("same/key.txt", b"bravo")
    assert acme.db.get("notes", "u1", "n1")["text"] == "acme's"  # type: ignore[index]
    assert bravo.db.get("notes", "u1", "n1")["text"] == "bravo's"  # type: ignore[index]
    assert acme.storage.get("same/key.txt") == b"acme"
    assert [o.key for o in bravo.storage.list().objects] == ["same/key.txt"]
    page = acme.db.query("notes", "u1", limit=1)
    acme.db.put("notes", {"pk": "u1", "sk": "n2"})
    page = acme.db.query("notes", "u1", limit=1)
    assert page.cursor is not None
    with pytest.raises(errors.InvalidCursor):
        bravo.db.query("notes", "u1", limit=1, cursor=page.cursor)


def test_unknown_tenant_and_bad_tenant_ids(resolver: Resolver) -> None:
    with pytest.raises(errors.TenantNotFound):
        resolver.resolve("nobody")
    with pytest.raises(errors.InvalidRequest):
        resolver.resolve("ACME/../x")


def test_a_broken_plugin_fails_only_its_tenants(site_dir: SiteDir, config_dir: Path) -> None:
    broken = site_dir.module_name("broken_llm")
    site_dir.install(
        "tenantkit-llm-broken",
        entry_points={"tenantkit.llm": {"broken": broken}},
        modules={broken: "raise ImportError('libbroken.so: cannot open shared object')\n"},
    )
    write_tenant(config_dir, "victim", llm={"provider": "broken"})
    plugins = Plugins(EntryPointIndex(path=[str(site_dir.path), *sys.path], cache_dir=None))
    resolver = Resolver(DirectorySource(config_dir), plugins=plugins, signing_key=b"k" * 32)
    with pytest.raises(errors.PluginImportError, match="libbroken"):
        resolver.resolve("victim")
    acme = resolver.resolve("acme")
    assert acme.llm.chat(messages=[{"role": "user", "content": "hi"}]).text
    with pytest.raises(errors.PluginImportError):
        resolver.resolve("victim")


def test_credentials_are_scrubbed_from_provider_errors(
    site_dir: SiteDir, config_dir: Path, memory_plugin: Callable[[str], str]
) -> None:
    leaky = site_dir.module_name("leaky")
    source = (
        memory_plugin("leaky")
        .replace(
            "    def delete(self, ns, collection, key, *, condition=None):\n",
            "    def delete(self, ns, collection, key, *, condition=None):\n"
            "        raise tenantkit.errors.AuthenticationError(\n"
            "            'rejected key ' + self.settings.api_key.get_secret_value())\n",
        )
        .replace(
            "    def query(self, ns, collection, pk, **kwargs):\n",
            "    def query(self, ns, collection, pk, **kwargs):\n"
            "        raise KeyError('token=' + self.settings.api_key.get_secret_value())\n",
        )
    )
    site_dir.install(
        "tenantkit-db-leaky",
        entry_points={"tenantkit.db": {"leaky": leaky}},
        modules={leaky: source},
    )
    write_tenant(config_dir, "leaky", db={"provider": "leaky", "api_key": PLANTED})
    plugins = Plugins(EntryPointIndex(path=[str(site_dir.path), *sys.path], cache_dir=None))
    tenant = Resolver(DirectorySource(config_dir), plugins=plugins, signing_key=b"k" * 32).resolve(
        "leaky"
    )
    with pytest.raises(errors.AuthenticationError) as auth:
        tenant.db.delete("notes", "a")
    with pytest.raises(errors.ProviderError) as unexpected:
        tenant.db.query("notes", "a")
    for error in (auth.value, unexpected.value):
        assert PLANTED not in str(error)
        assert PLANTED not in repr(error)
        assert PLANTED not in repr(error.args)
        assert error.provider == "leaky"
    assert PLANTED not in repr(tenant.config)


def test_from_env_reads_the_given_environment(config_dir: Path) -> None:
    write_tenant(config_dir, "acme")
    env = {"TENANTKIT_CONFIG_DIR": str(config_dir), "TENANTKIT_SIGNING_KEY": "k" * 32}
    resolver = Resolver.from_env(env)
    try:
        assert isinstance(resolver.configs.source, DirectorySource)
        assert resolver.resolve("acme").id == "acme"
    finally:
        resolver.close()
