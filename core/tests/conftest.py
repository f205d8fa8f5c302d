"""Fixtures for the core's tests."""

from __future__ import annotations

import itertools
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tenantkit.plugins import EntryPointIndex, Plugins

_counter = itertools.count()


class SiteDir:
    """A real site directory of throwaway distributions (dist-info + modules).

    Distributions made here are found by importlib.metadata exactly like installed
    ones: a ``*.dist-info`` directory with METADATA and entry_points.txt.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.suffix = f"_{next(_counter)}"

    def module_name(self, base: str) -> str:
        """A module name unique to this test (sys.modules outlives tests)."""
        return f"{base}{self.suffix}"

    def install(
        self,
        name: str,
        *,
        version: str = "1.0",
        entry_points: dict[str, dict[str, str]] | None = None,
        modules: dict[str, str] | None = None,
    ) -> None:
        dist_info = self.path / f"{name.replace('-', '_')}-{version}.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        lines = []
        for group, entries in (entry_points or {}).items():
            lines.append(f"[{group}]")
            lines.extend(f"{key} = {value}" for key, value in entries.items())
            lines.append("")
        (dist_info / "entry_points.txt").write_text("\n".join(lines))
        for module, source in (modules or {}).items():
            (self.path / f"{module}.py").write_text(textwrap.dedent(source))

    def plugins(self) -> Plugins:
        """A loader that sees only this site directory."""
        return Plugins(EntryPointIndex(path=[str(self.path)], cache_dir=None))


@pytest.fixture
def site_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SiteDir]:
    path = tmp_path / "site-packages"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    site = SiteDir(path)
    yield site
    for name in [m for m in sys.modules if m.endswith(site.suffix)]:
        del sys.modules[name]


_MEMORY_DB_PLUGIN = '''
import tenantkit
from tenantkit.db import Database, Item, Page, new_version


class Settings(tenantkit.ProviderSettings):
    label: str = "memory"
    api_key: tenantkit.Secret | None = None


class MemoryDatabase(Database):
    """A minimal provider for loader and resolver tests."""

    closed = []

    def __init__(self, settings, context):
        self.settings = settings
        self.context = context
        self.items = {}

    def get(self, ns, collection, key, *, consistent=False):
        return self.items.get((ns, collection, key.pk, key.sk))

    def put(self, ns, collection, item, *, condition=None, ttl=None):
        data = {k: v for k, v in item.items() if k not in ("pk", "sk")}
        stored = Item(pk=item["pk"], sk=item["sk"], data=data, version=new_version())
        self.items[(ns, collection, stored.pk, stored.sk)] = stored
        return stored

    def update(self, ns, collection, key, **kwargs):
        raise NotImplementedError

    def delete(self, ns, collection, key, *, condition=None):
        return self.items.pop((ns, collection, key.pk, key.sk), None) is not None

    def query(self, ns, collection, pk, **kwargs):
        return Page(items=[])

    def close(self):
        MemoryDatabase.closed.append(self.context.tenant_id)


@tenantkit.hookimpl
def register_db_providers(register):
    register(NAME, MemoryDatabase, Settings)
'''


@pytest.fixture
def memory_plugin() -> Callable[[str], str]:
    """Source of a minimal in-memory database plugin registering the given name."""
    return lambda name: _MEMORY_DB_PLUGIN.replace("NAME", repr(name))
