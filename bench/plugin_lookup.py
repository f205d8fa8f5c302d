"""Finding one named provider with 1,000 extra distributions installed.

    uv run python bench/plugin_lookup.py [--dists 1000] [--repeat 40]

A temporary site directory gets ``--dists`` synthetic distributions (``*.dist-info``
with METADATA, and for most of them an entry_points.txt with unrelated groups:
console scripts, pytest plugins, other frameworks' plugins); one of them also
declares a ``tenantkit.db`` provider. That directory is put first on the path, in
front of this environment's own distributions. Then, side by side and interleaved
in one run:

* ``entry_points()`` scan: what a loader that scans the group does, in a new
  process (importlib.metadata's directory caches cleared before each run);
* the same scan with importlib.metadata's caches warm (a lower bound for it);
* ``EntryPointIndex`` cold: a new index and no on-disk index (the very first
  process: it scans once and writes the index);
* ``EntryPointIndex`` warm: a new index object with the on-disk index present (every
  later process, e.g. a new Lambda container);
* ``EntryPointIndex`` in memory: a lookup on an index already loaded (every warm
  invocation);
* ``Plugins.get`` warm: a new loader on the warm on-disk index, the plugin module
  already imported: lookup, pluggy registration and the register hook.

Every figure is a median (and p90) of wall time per lookup of the name ``sqlite``
(``bench-db`` for ``Plugins.get``), with the OS page cache warm.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from tenantkit.plugins import EntryPointIndex, Plugins

_UNRELATED = [
    {"console_scripts": {"tool{i}": "benchpkg{i}.cli:main"}},
    {"pytest11": {"benchpkg{i}": "benchpkg{i}.pytest_plugin"}},
    {
        "console_scripts": {"run{i}": "benchpkg{i}:run"},
        "flask.commands": {"cmd{i}": "benchpkg{i}.commands:cli"},
    },
    {"datasette": {"benchpkg{i}": "benchpkg{i}"}, "llm": {"model{i}": "benchpkg{i}.models"}},
    {},  # no entry_points.txt at all
]

_BENCH_PLUGIN = """
import tenantkit


class Settings(tenantkit.ProviderSettings):
    label: str = "bench"


def make(settings, context):
    return None


@tenantkit.hookimpl
def register_db_providers(register):
    register("bench-db", make, Settings)
"""


def make_site(root: Path, count: int) -> Path:
    """``count`` synthetic distributions in ``root``; returns it."""
    root.mkdir(parents=True)
    for i in range(count):
        dist_info = root / f"benchpkg{i:04d}-1.{i % 7}.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: benchpkg{i:04d}\nVersion: 1.{i % 7}\n"
            f"Summary: synthetic distribution {i}\n"
        )
        (dist_info / "RECORD").write_text("")
        groups = _UNRELATED[i % len(_UNRELATED)]
        if i == count // 2:
            groups = {**groups, "tenantkit.db": {"bench-db": "tenantkit_bench_plugin"}}
        if groups:
            lines = []
            for group, entries in groups.items():
                lines.append(f"[{group}]")
                lines += [f"{k.format(i=i)} = {v.format(i=i)}" for k, v in entries.items()]
                lines.append("")
            (dist_info / "entry_points.txt").write_text("\n".join(lines))
    (root / "tenantkit_bench_plugin.py").write_text(_BENCH_PLUGIN)
    return root


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return statistics.median(ordered) * 1000, p90 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dists", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tenantkit-bench-lookup-"))
    try:
        site = make_site(work / "site-packages", args.dists)
        sys.path.insert(0, str(site))
        path = list(sys.path)
        installed = sum(1 for _ in metadata.distributions(path=path))
        index_dir = work / "index"
        EntryPointIndex(path, cache_dir=index_dir).lookup("db", "sqlite")  # the on-disk index
        loaded = EntryPointIndex(path, cache_dir=None)
        loaded.lookup("db", "sqlite")
        Plugins(EntryPointIndex(path, cache_dir=index_dir)).get("db", "bench-db")  # import it
        cold_dirs = iter(range(10**9))

        def full_scan_cold() -> object:
            metadata.FastPath.__new__.cache_clear()  # type: ignore[attr-defined]
            return [e for e in metadata.entry_points(group="tenantkit.db") if e.name == "sqlite"]

        def full_scan_warm() -> object:
            return [e for e in metadata.entry_points(group="tenantkit.db") if e.name == "sqlite"]

        def index_cold() -> object:
            metadata.FastPath.__new__.cache_clear()  # type: ignore[attr-defined]
            fresh = work / f"cold-{next(cold_dirs)}"
            return EntryPointIndex(path, cache_dir=fresh).lookup("db", "sqlite")

        def index_warm() -> object:
            return EntryPointIndex(path, cache_dir=index_dir).lookup("db", "sqlite")

        def index_loaded() -> object:
            return loaded.lookup("db", "sqlite")

        def plugins_get() -> object:
            return Plugins(EntryPointIndex(path, cache_dir=index_dir)).get("db", "bench-db")

        variants: dict[str, Callable[[], object]] = {
            "entry_points() scan, new process": full_scan_cold,
            "entry_points() scan, importlib caches warm": full_scan_warm,
            "EntryPointIndex cold (first scan, writes index)": index_cold,
            "EntryPointIndex warm (on-disk index, new object)": index_warm,
            "EntryPointIndex in memory (loaded object)": index_loaded,
            "Plugins.get warm (new loader, module imported)": plugins_get,
        }
        for check in variants.values():  # every variant finds what it looks for
            assert check(), "lookup found nothing"
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.repeat):
            for name, variant in variants.items():
                started = time.perf_counter()
                variant()
                samples[name].append(time.perf_counter() - started)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"plugin lookup: {installed} distributions on the path "
        f"({args.dists} synthetic), {args.repeat} runs each, interleaved"
    )
    figures = {name: _ms(s) for name, s in samples.items()}
    width = max(map(len, figures))
    print(f"{'':{width}}  {'median ms':>10}  {'p90 ms':>8}")
    for name, (median, p90) in figures.items():
        print(f"{name:{width}}  {median:10.3f}  {p90:8.3f}")
    scan = figures["entry_points() scan, new process"][0]
    warm = figures["EntryPointIndex warm (on-disk index, new object)"][0]
    cold = figures["EntryPointIndex cold (first scan, writes index)"][0]
    print(f"scan / index warm: {scan / warm:.0f}x   scan / index cold: {scan / cold:.1f}x")
    print(f"index warm median {warm:.3f} ms (target <= 1 ms): {'met' if warm <= 1 else 'MISSED'}")


if __name__ == "__main__":
    main()
