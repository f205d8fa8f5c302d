"""The plugin loader, against real throwaway distributions in a temporary site directory."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tenantkit import errors
from tenantkit.plugins import EntryPointIndex

if TYPE_CHECKING:
    from .conftest import SiteDir


def test_only_the_named_plugin_is_imported(
    site_dir: SiteDir, memory_plugin: Callable[[str], str]
) -> None:
    alpha, beta = site_dir.module_name("alpha_plugin"), site_dir.module_name("beta_plugin")
    site_dir.install(
        "tenantkit-db-alpha",
        entry_points={"tenantkit.db": {"alpha": alpha}},
        modules={alpha: memory_plugin("alpha")},
    )
    site_dir.install(
        "tenantkit-db-beta",
        entry_points={"tenantkit.db": {"beta": beta}},
        modules={beta: "raise RuntimeError('beta must never be imported')\n"},
    )
    plugins = site_dir.plugins()
    spec = plugins.get("db", "alpha")
    assert spec.name == "alpha"
    assert spec.distribution == "tenantkit-db-alpha"
    assert spec.version == "1.0"
    assert alpha in sys.modules
    assert beta not in sys.modules
    assert plugins.imported_modules() == [alpha]
    assert plugins.get("db", "alpha") is spec  # cached for the process


def test_a_broken_plugin_fails_only_its_own_name(
    site_dir: SiteDir, memory_plugin: Callable[[str], str]
) -> None:
    good, bad = site_dir.module_name("good_plugin"), site_dir.module_name("bad_plugin")
    site_dir.install(
        "tenantkit-db-good",
        entry_points={"tenantkit.db": {"good": good}},
        modules={good: memory_plugin("good")},
    )
    site_dir.install(
        "tenantkit-db-bad",
        version="2.3",
        entry_points={"tenantkit.db": {"bad": bad}},
        modules={bad: "import nonexistent_dependency_of_bad_plugin\n"},
    )
    plugins = site_dir.plugins()
    with pytest.raises(errors.PluginImportError) as info:
        plugins.get("db", "bad")
    message = str(info.value)
    assert "'bad'" in message
    assert "tenantkit-db-bad 2.3" in message
    assert "ModuleNotFoundError" in message
    assert isinstance(info.value.__cause__, ModuleNotFoundError)
    assert info.value.provider == "bad"
    assert isinstance(info.value, errors.ConfigurationError)  # a person must fix it
    assert plugins.get("db", "good").name == "good"
    with pytest.raises(errors.PluginImportError) as again:  # remembered, same typed error
        plugins.get("db", "bad")
    assert isinstance(again.value.__cause__, ModuleNotFoundError)
    assert again.value.provider == "bad"


def test_two_distributions_claiming_one_name_conflict(
    site_dir: SiteDir, memory_plugin: Callable[[str], str]
) -> None:
    first, second = site_dir.module_name("first"), site_dir.module_name("second")
    site_dir.install(
        "tenantkit-db-first",
        entry_points={"tenantkit.db": {"shared": first}},
        modules={first: memory_plugin("shared")},
    )
    site_dir.install(
        "acme-db-shared",
        entry_points={"tenantkit.db": {"shared": second}},
        modules={second: memory_plugin("shared")},
    )
    with pytest.raises(errors.PluginConflict) as info:
        site_dir.plugins().get("db", "shared")
    assert "tenantkit-db-first" in str(info.value)
    assert "acme-db-shared" in str(info.value)
    assert info.value.provider == "shared"
    assert first not in sys.modules
    assert second not in sys.modules


def test_unknown_name_lists_installed_and_suggests_a_distribution(
    site_dir: SiteDir, memory_plugin: Callable[[str], str]
) -> None:
    mod = site_dir.module_name("known")
    site_dir.install(
        "tenantkit-db-known",
        entry_points={"tenantkit.db": {"known": mod}},
        modules={mod: memory_plugin("known")},
    )
    with pytest.raises(errors.ProviderNotFound) as info:
        site_dir.plugins().get("db", "cassandra")
    message = str(info.value)
    assert "db provider named 'cassandra'" in message
    assert "installed: known" in message
    assert "no known tenantkit distribution provides it" in message
    assert "pip install" not in message  # no such distribution exists
    assert (info.value.provider, info.value.provider_kind) == ("cassandra", "db")
    with pytest.raises(errors.ProviderNotFound) as info:
        site_dir.plugins().get("db", "dynamodb")
    assert "install it with: pip install tenantkit-db-dynamodb" in str(info.value)


def test_the_known_distributions_are_the_workspaces_plugins() -> None:
    """A missing provider's error suggests only distributions that exist: this workspace's."""
    import tomllib

    from tenantkit.plugins import KNOWN_DISTRIBUTIONS

    found: dict[tuple[str, str], str] = {}
    for pyproject in (Path(__file__).parents[2] / "plugins").glob("*/pyproject.toml"):
        project = tomllib.loads(pyproject.read_text())["project"]
        for group, entries in project.get("entry-points", {}).items():
            if group.startswith("tenantkit.") and group != "tenantkit.commands":
                for name in entries:
                    found[(group.removeprefix("tenantkit."), name)] = project["name"]
    assert found
    assert found == KNOWN_DISTRIBUTIONS


def test_one_distribution_may_register_several_names(
    site_dir: SiteDir, memory_plugin: Callable[[str], str]
) -> None:
    mod = site_dir.module_name("multi")
    source = memory_plugin("one").replace(
        "register('one', MemoryDatabase, Settings)",
        "register('one', MemoryDatabase, Settings)\n    register('two', MemoryDatabase, Settings)",
    )
    site_dir.install(
        "tenantkit-db-multi",
        entry_points={"tenantkit.db": {"one": mod, "two": mod}},
        modules={mod: source},
    )
    plugins = site_dir.plugins()
    assert plugins.get("db", "one").module == mod
    assert plugins.get("db", "two").module == mod
    assert plugins.imported_modules() == [mod]


_UNKNOWN_HOOK = """
import tenantkit

@tenantkit.hookimpl
def register_cache_providers(register):
    pass
"""
_WRONG_ARGUMENT = """
import tenantkit

@tenantkit.hookimpl
def register_db_providers(add):
    pass
"""
_REGISTER = "register(NAME, MemoryDatabase, Settings)".replace("NAME", repr("odd"))


@pytest.mark.parametrize(
    ("make_source", "expected"),
    [
        (lambda plugin: _UNKNOWN_HOOK, "unknown hook 'register_cache_providers'"),
        (lambda plugin: _WRONG_ARGUMENT, "declared in the hookimpl but can not be found"),
        (
            lambda plugin: plugin("odd").replace(
                _REGISTER, "register('odd', MemoryDatabase, Settings, capabilities=['teleport'])"
            ),
            "unknown capability 'teleport'",
        ),
        (lambda plugin: plugin("somethingelse"), "registered ['somethingelse']"),
        (
            lambda plugin: plugin("odd").replace(_REGISTER, "register('odd', dict, Settings)"),
            "does not implement Database",
        ),
    ],
    ids=[
        "unknown-hook",
        "wrong-argument",
        "unknown-capability",
        "name-not-registered",
        "wrong-class",
    ],
)
def test_invalid_plugins_are_refused_at_load_time(
    site_dir: SiteDir,
    memory_plugin: Callable[[str], str],
    make_source: Callable[[Callable[[str], str]], str],
    expected: str,
) -> None:
    mod = site_dir.module_name("odd")
    site_dir.install(
        "tenantkit-db-odd",
        entry_points={"tenantkit.db": {"odd": mod}},
        modules={mod: make_source(memory_plugin)},
    )
    with pytest.raises(errors.InvalidPlugin) as info:
        site_dir.plugins().get("db", "odd")
    assert expected in str(info.value)


def test_index_is_cached_on_disk_and_invalidated_by_installs(
    site_dir: SiteDir,
    memory_plugin: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache_dir = tmp_path / "cache"
    mod = site_dir.module_name("cached")
    site_dir.install(
        "tenantkit-db-cached",
        entry_points={"tenantkit.db": {"cached": mod}, "console_scripts": {"x": "y:z"}},
        modules={mod: memory_plugin("cached")},
    )
    path = [str(site_dir.path)]
    first = EntryPointIndex(path=path, cache_dir=cache_dir)
    assert [r.distribution for r in first.lookup("db", "cached")] == ["tenantkit-db-cached"]
    assert len(list(cache_dir.glob("entry-points-*.json"))) == 1

    def no_scan(**kwargs: object) -> object:
        raise AssertionError("a warm index must not scan distributions")

    monkeypatch.setattr(metadata, "distributions", no_scan)
    warm = EntryPointIndex(path=path, cache_dir=cache_dir)
    assert warm.lookup("db", "cached")[0].module == mod
    monkeypatch.undo()

    # Installing another distribution changes the directory and so the index key.
    time.sleep(0.01)
    later = site_dir.module_name("later")
    site_dir.install(
        "tenantkit-db-later",
        entry_points={"tenantkit.db": {"later": later}},
        modules={later: memory_plugin("later")},
    )
    os.utime(site_dir.path)
    fresh = EntryPointIndex(path=path, cache_dir=cache_dir)
    assert fresh.lookup("db", "later")[0].distribution == "tenantkit-db-later"


def test_an_unwritable_cache_dir_still_works(
    site_dir: SiteDir, memory_plugin: Callable[[str], str], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    mod = site_dir.module_name("plain")
    site_dir.install(
        "tenantkit-db-plain",
        entry_points={"tenantkit.db": {"plain": mod}},
        modules={mod: memory_plugin("plain")},
    )
    index = EntryPointIndex(path=[str(site_dir.path)], cache_dir=blocker / "sub")
    assert index.lookup("db", "plain")[0].name == "plain"


def test_the_core_providers_come_through_entry_points() -> None:
    index = EntryPointIndex(cache_dir=None)
    names = {kind: {r.name for r in index.all(kind)} for kind in ("db", "llm", "storage")}
    assert "sqlite" in names["db"]
    assert "echo" in names["llm"]
    assert "local" in names["storage"]
    assert index.lookup("db", "sqlite")[0].distribution == "tenantkit"
