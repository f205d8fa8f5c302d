"""Finding and loading provider plugins: only the ones a tenant names.

Plugins are distributions that declare entry points in the groups ``tenantkit.db``,
``tenantkit.llm`` and ``tenantkit.storage``; the entry name is the provider name,
the value the plugin module. :class:`Plugins` resolves ``(kind, name)`` by looking
the name up *before* importing anything, imports that one module, registers it with
pluggy (which validates its hook implementations against :mod:`tenantkit.hookspecs`)
and collects what it registers.

Looking names up without reading every installed distribution's metadata: the
:class:`EntryPointIndex` reads the metadata once, keeps the tenantkit entries in
memory, and stores them in a small JSON file keyed by ``sys.path`` and the
modification times of its directories, so later processes (a new Lambda container,
the next CLI run) find a name with a few ``stat`` calls and one small read.
Installing or removing a distribution changes its directory's modification time and
so the key. A directory that never changes (a Lambda deployment package) can carry
its entries in a file of its own (:func:`write_frozen_index`), read instead of the
metadata of the distributions in it.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pluggy

from tenantkit import hookspecs
from tenantkit.errors import (
    InvalidPlugin,
    PluginConflict,
    PluginError,
    PluginImportError,
    ProviderNotFound,
)
from tenantkit.registry import KINDS, Kind, ProviderSpec, make_spec

__all__ = [
    "FROZEN_INDEX",
    "GROUPS",
    "KNOWN_DISTRIBUTIONS",
    "EntryPointIndex",
    "EntryPointRef",
    "Plugins",
    "default_index",
    "default_plugins",
    "skip_pydantic_plugin_scan",
    "write_frozen_index",
]

log = logging.getLogger("tenantkit.plugins")

GROUPS: dict[Kind, str] = {kind: f"tenantkit.{kind}" for kind in KINDS}
_HOOKS: dict[Kind, str] = {
    "db": "register_db_providers",
    "llm": "register_llm_providers",
    "storage": "register_storage_providers",
}
_INDEX_FORMAT = 2
#: Frozen indexes of this format are read too; they do not say whether the
#: distributions declare pydantic plugins.
_OLD_FORMATS = (1,)
#: The entry-point group pydantic loads its plugins from.
PYDANTIC_PLUGIN_GROUP = "pydantic"
#: Distributions are named ``tenantkit-{db,llm,store}-{provider}``.
#: The project's own provider distributions: what a missing provider's error may
#: suggest installing (a name not listed here has no known distribution).
KNOWN_DISTRIBUTIONS: dict[tuple[Kind, str], str] = {
    ("db", "cosmos"): "tenantkit-db-cosmos",
    ("db", "dynamodb"): "tenantkit-db-dynamodb",
    ("db", "postgres"): "tenantkit-db-postgres",
    ("llm", "azure-openai"): "tenantkit-llm-openai",
    ("llm", "claude"): "tenantkit-llm-claude",
    ("llm", "gemini"): "tenantkit-llm-gemini",
    ("llm", "openai"): "tenantkit-llm-openai",
    ("storage", "azure-blob"): "tenantkit-store-azure-blob",
    ("storage", "gcs"): "tenantkit-store-gcs",
    ("storage", "s3"): "tenantkit-store-s3",
}
#: The file :func:`write_frozen_index` writes at the root of a directory on the path.
FROZEN_INDEX = "tenantkit-entry-points.json"


@dataclass(frozen=True)
class EntryPointRef:
    """One installed entry point: who provides ``(kind, name)`` and where."""

    kind: Kind
    name: str
    value: str
    distribution: str
    version: str

    @property
    def module(self) -> str:
        return self.value.partition(":")[0].strip()


def _default_cache_dir() -> Path:
    configured = os.environ.get("TENANTKIT_CACHE_DIR")
    if configured:
        return Path(configured)
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return Path(tempfile.gettempdir()) / "tenantkit"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tenantkit"


class EntryPointIndex:
    """The tenantkit entry points installed on a path, found without a full scan.

    Args:
        path: the import path to search (``sys.path`` by default).
        cache_dir: where to keep the on-disk index; ``None`` disables it.
    """

    def __init__(
        self,
        path: Sequence[str] | None = None,
        *,
        cache_dir: Path | bool | None = True,
    ) -> None:
        self._path = list(sys.path if path is None else path)
        self._cache_dir = _default_cache_dir() if cache_dir is True else cache_dir or None
        self._entries: dict[Kind, dict[str, list[EntryPointRef]]] | None = None
        self._pydantic: list[str] | None = None
        self._lock = threading.Lock()

    def lookup(self, kind: Kind, name: str) -> list[EntryPointRef]:
        """Every distribution declaring ``name`` in ``kind``'s group (normally one)."""
        return list(self._load()[kind].get(name, ()))

    def all(self, kind: Kind) -> list[EntryPointRef]:
        return [ref for refs in self._load()[kind].values() for ref in refs]

    def pydantic_plugins(self) -> list[str] | None:
        """The distributions on the path that declare pydantic plugins (entry points in
        the ``pydantic`` group), or ``None`` when a frozen index of an older format
        leaves it unknown."""
        self._load()
        return None if self._pydantic is None else list(self._pydantic)

    def _load(self) -> dict[Kind, dict[str, list[EntryPointRef]]]:
        entries = self._entries
        if entries is not None:
            return entries
        with self._lock:
            if self._entries is None:
                cache_file = self._cache_file()
                cached = self._read(cache_file) if cache_file else None
                self._entries, self._pydantic = cached or self._scan()
                if cache_file and not cache_file.exists():
                    self._write(cache_file, self._entries, self._pydantic)
            return self._entries

    def _fingerprint(self) -> str:
        parts = [f"{_INDEX_FORMAT}", sys.version]
        for entry in self._path:
            try:
                parts.append(f"{entry}\0{os.stat(entry or '.').st_mtime_ns}")
            except OSError:
                parts.append(f"{entry}\0-")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]

    def _cache_file(self) -> Path | None:
        if self._cache_dir is None:
            return None
        return self._cache_dir / f"entry-points-{self._fingerprint()}.json"

    def _scan(self) -> tuple[dict[Kind, dict[str, list[EntryPointRef]]], list[str] | None]:
        found: dict[Kind, dict[str, list[EntryPointRef]]] = {kind: {} for kind in KINDS}
        pydantic: list[str] | None = []
        seen: set[str] = set()
        for entry in self._path:
            frozen = _read_frozen(entry)
            for dist in _scan_entry(entry) if frozen is None else frozen:
                normalized = dist.name.lower().replace("_", "-")
                if normalized in seen:  # shadowed by an earlier path entry, as imports are
                    continue
                seen.add(normalized)
                for ref in dist.refs:
                    found[ref.kind].setdefault(ref.name, []).append(ref)
                if dist.pydantic is None or pydantic is None:
                    pydantic = None
                elif dist.pydantic:
                    pydantic.append(dist.name)
        return found, pydantic

    @staticmethod
    def _read(
        cache_file: Path,
    ) -> tuple[dict[Kind, dict[str, list[EntryPointRef]]], list[str] | None] | None:
        try:
            raw = json.loads(cache_file.read_text())
            entries = {
                kind: {
                    name: [EntryPointRef(**ref) for ref in refs] for name, refs in raw[kind].items()
                }
                for kind in KINDS
            }
            pydantic = raw[PYDANTIC_PLUGIN_GROUP]
            return entries, None if pydantic is None else [str(d) for d in pydantic]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @staticmethod
    def _write(
        cache_file: Path,
        entries: dict[Kind, dict[str, list[EntryPointRef]]],
        pydantic: list[str] | None,
    ) -> None:
        data: dict[str, Any] = {
            kind: {name: [asdict(r) for r in refs] for name, refs in entries[kind].items()}
            for kind in KINDS
        }
        data[PYDANTIC_PLUGIN_GROUP] = pydantic
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data))
            tmp.replace(cache_file)
        except OSError as exc:  # a read-only home: the index still works, only slower
            log.debug("entry-point index not cached at %s: %s", cache_file, exc)


def write_frozen_index(directory: str | Path) -> Path:
    """Record the tenantkit entry points of the distributions in ``directory``.

    Writes :data:`FROZEN_INDEX` there. An :class:`EntryPointIndex` whose path holds
    ``directory`` then reads that one file instead of the metadata of every
    distribution in it. For directories nothing installs into later, such as the
    root of a Lambda deployment package; the file is trusted as it is. It also records
    which of them declare pydantic plugins (see :func:`skip_pydantic_plugin_scan`).
    """
    distributions = [
        {
            "distribution": dist.name,
            "entry_points": [asdict(ref) for ref in dist.refs],
            "pydantic_plugins": bool(dist.pydantic),
        }
        for dist in _scan_entry(str(directory))
    ]
    path = Path(directory) / FROZEN_INDEX
    document = {"format": _INDEX_FORMAT, "distributions": distributions}
    path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    return path


@dataclass(frozen=True)
class _Distribution:
    """What the index keeps of one distribution: its tenantkit entry points, and
    whether it declares pydantic plugins (``None``: not known)."""

    name: str
    refs: list[EntryPointRef]
    pydantic: bool | None


def _scan_entry(entry: str) -> list[_Distribution]:
    """The distributions in one path entry that declare tenantkit entry points or
    pydantic plugins."""
    import configparser
    from importlib import metadata

    groups = {group: kind for kind, group in GROUPS.items()}
    found: list[_Distribution] = []
    for dist in metadata.distributions(path=[entry]):
        text = dist.read_text("entry_points.txt")
        if not text or ("tenantkit." not in text and PYDANTIC_PLUGIN_GROUP not in text):
            continue
        dist_name = dist.metadata["Name"] or "?"
        parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        try:
            parser.read_string(text)
        except configparser.Error as exc:
            log.warning("ignoring the unreadable entry points of %s: %s", dist_name, exc)
            continue
        refs = [
            EntryPointRef(kind, name, value, dist_name, dist.version)
            for group, kind in groups.items()
            if parser.has_section(group)
            for name, value in parser.items(group)
        ]
        pydantic = parser.has_section(PYDANTIC_PLUGIN_GROUP) and bool(
            parser.items(PYDANTIC_PLUGIN_GROUP)
        )
        if refs or pydantic:
            found.append(_Distribution(dist_name, refs, pydantic))
    return found


def _read_frozen(entry: str) -> list[_Distribution] | None:
    try:
        raw = json.loads((Path(entry or ".") / FROZEN_INDEX).read_text())
        if raw["format"] != _INDEX_FORMAT and raw["format"] not in _OLD_FORMATS:
            return None
        return [
            _Distribution(
                dist["distribution"],
                [EntryPointRef(**ref) for ref in dist["entry_points"]],
                dist.get("pydantic_plugins"),
            )
            for dist in raw["distributions"]
        ]
    except OSError:  # no such file (the usual case), or the entry is a zip file
        return None
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring the unreadable %s in %s: %s", FROZEN_INDEX, entry, exc)
        return None


class Plugins:
    """Loads provider plugins by name and keeps what it loaded for the process.

    Thread-safe. Failures are remembered too: a plugin that cannot be imported fails
    every lookup of its names with the same typed error, and nothing else.
    """

    def __init__(self, index: EntryPointIndex | None = None) -> None:
        self._index = index or EntryPointIndex()
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._specs: dict[tuple[Kind, str], ProviderSpec] = {}
        self._failures: dict[tuple[Kind, str], PluginError] = {}
        self._modules: dict[str, Any] = {}
        self._lock = threading.RLock()

    @property
    def index(self) -> EntryPointIndex:
        return self._index

    def get(self, kind: Kind, name: str) -> ProviderSpec:
        """The provider ``name`` of ``kind``, importing its plugin module on first use.

        Raises:
            ProviderNotFound: nothing installed provides it.
            PluginConflict: two distributions claim it.
            PluginImportError: its module raised on import (``__cause__`` holds why).
            InvalidPlugin: its hooks do not match the specs, or it did not register it.
        """
        key = (kind, name)
        spec = self._specs.get(key)
        if spec is not None:
            return spec
        with self._lock:
            if key in self._specs:
                return self._specs[key]
            failure = self._failures.get(key)
            if failure is None:
                try:
                    return self._load(kind, name)
                except PluginError as exc:
                    if not isinstance(exc, ProviderNotFound):
                        self._failures[key] = exc
                    raise
            raise _copy(failure)

    def available(self, kind: Kind) -> list[EntryPointRef]:
        """Every installed entry point of ``kind``, without importing anything."""
        return sorted(self._index.all(kind), key=lambda r: (r.name, r.distribution))

    def imported_modules(self) -> list[str]:
        """The plugin modules this instance has imported, in order."""
        return list(self._modules)

    def _load(self, kind: Kind, name: str) -> ProviderSpec:
        refs = self._index.lookup(kind, name)
        if not refs:
            raise self._not_found(kind, name)
        if len({r.distribution for r in refs}) > 1:
            who = " and ".join(f"{r.distribution} {r.version} ({r.value})" for r in refs)
            raise PluginConflict(
                f"{kind} provider {name!r} is claimed by {who}; uninstall one", provider=name
            )
        ref = refs[0]
        plugin = self._import(ref)
        registered = self._collect(kind, plugin, ref)
        spec = registered.get(name)
        if spec is None:
            raise InvalidPlugin(
                f"{ref.distribution} declares {kind} provider {name!r} in module {ref.module!r}, "
                f"but that module registered {sorted(registered) or 'nothing'}",
                provider=name,
            )
        self._specs[(kind, name)] = spec
        return spec

    def _import(self, ref: EntryPointRef) -> Any:
        module_name, _, attr = ref.value.partition(":")
        module_name = module_name.strip()
        cached = self._modules.get(ref.value)
        if cached is not None:
            return cached
        try:
            plugin: Any = importlib.import_module(module_name)
            for part in filter(None, attr.strip().split(".")):
                plugin = getattr(plugin, part)
        except Exception as exc:
            raise PluginImportError(
                f"{ref.kind} provider {ref.name!r} from {ref.distribution} {ref.version} "
                f"failed to import {ref.value!r}: {type(exc).__name__}: {exc}",
                provider=ref.name,
            ) from exc
        try:
            if not self._pm.is_registered(plugin):
                self._pm.register(plugin, name=ref.value)
            self._pm.check_pending()
        except (pluggy.PluginValidationError, ValueError) as exc:
            if self._pm.is_registered(plugin):
                self._pm.unregister(plugin)
            raise InvalidPlugin(
                f"plugin module {ref.value!r} from {ref.distribution}: {exc}", provider=ref.name
            ) from exc
        self._modules[ref.value] = plugin
        return plugin

    def _collect(self, kind: Kind, plugin: Any, ref: EntryPointRef) -> dict[str, ProviderSpec]:
        registered: dict[str, ProviderSpec] = {}

        def register(
            name: str,
            factory: Any,
            settings: Any,
            *,
            capabilities: Iterable[str] | None = None,
            description: str = "",
        ) -> None:
            spec = make_spec(kind, name, factory, settings, capabilities, description, ref.value)
            if name in registered:
                raise InvalidPlugin(
                    f"plugin module {ref.value!r} registered {name!r} twice", provider=name
                )
            registered[name] = ProviderSpec(
                **{**spec.__dict__, "distribution": ref.distribution, "version": ref.version}
            )

        hook = getattr(self._pm.hook, _HOOKS[kind])
        for impl in hook.get_hookimpls():
            if impl.plugin is plugin:
                try:
                    impl.function(register=register)
                except PluginError:
                    raise
                except Exception as exc:
                    raise InvalidPlugin(
                        f"plugin module {ref.value!r} raised in {_HOOKS[kind]}: "
                        f"{type(exc).__name__}: {exc}",
                        provider=ref.name,
                    ) from exc
        return registered

    def _not_found(self, kind: Kind, name: str) -> ProviderNotFound:
        installed = sorted({r.name for r in self._index.all(kind)})
        distribution = KNOWN_DISTRIBUTIONS.get((kind, name))
        remedy = (
            f"install it with: pip install {distribution}"
            if distribution
            else "no known tenantkit distribution provides it"
        )
        return ProviderNotFound(
            f"no {kind} provider named {name!r} is installed "
            f"(installed: {', '.join(installed) or 'none'}); {remedy}",
            provider=name,
            provider_kind=kind,
        )


def _copy(error: PluginError) -> PluginError:
    fresh = type(error)(error.message, provider=error.provider)
    fresh.__cause__ = error.__cause__
    return fresh


_default: Plugins | None = None
_default_index: EntryPointIndex | None = None
_default_lock = threading.Lock()


def default_index() -> EntryPointIndex:
    """The process-wide :class:`EntryPointIndex` of ``sys.path``."""
    global _default_index
    if _default_index is None:
        with _default_lock:
            if _default_index is None:
                _default_index = EntryPointIndex()
    return _default_index


def default_plugins() -> Plugins:
    """The process-wide :class:`Plugins` (Lambda packages don't change while warm)."""
    global _default
    if _default is None:
        index = default_index()
        with _default_lock:
            if _default is None:
                _default = Plugins(index)
    return _default


#: The variable pydantic reads before it looks for its plugins.
PYDANTIC_DISABLE_PLUGINS = "PYDANTIC_DISABLE_PLUGINS"


def skip_pydantic_plugin_scan(index: EntryPointIndex | None = None) -> bool:
    """Spare pydantic its scan for plugins when none is installed.

    When pydantic builds its first validator it reads the entry points of every
    installed distribution to find its plugins (the ``pydantic`` group), tens of
    milliseconds of a cold start. The entry-point index records which distributions
    declare one; when none does, this sets ``PYDANTIC_DISABLE_PLUGINS``, which changes
    nothing but the scan. Nothing is set when the variable is already set, when a
    pydantic plugin is installed, or when the index cannot tell. Returns whether it
    set the variable. Call it before the first model is built.
    """
    if PYDANTIC_DISABLE_PLUGINS in os.environ:
        return False
    if (index or default_index()).pydantic_plugins() != []:
        return False
    os.environ[PYDANTIC_DISABLE_PLUGINS] = "__all__"
    return True


# Imported before any of the core's models is built (the registry, which every
# plugin and the configuration import, imports this module): the request path then
# builds its validators without pydantic's scan when no pydantic plugin is installed.
skip_pydantic_plugin_scan()
