"""Import cost of modules: ``python -c "import X"`` in fresh interpreters.

For each module, over ``--runs`` fresh interpreters: the median wall time of
``python -c "import X"``, that median minus the median of ``python -c "pass"`` (the
interpreter's own start-up), and the median CPU time (user + system) of the child,
which a busy machine disturbs far less than wall time. Each round runs every module
once, in an order that rotates, so the machine's drift spreads over all of them. The
children import bytecode, as an installed package has it: the environment is compiled
first (``compileall``), ``PYTHONDONTWRITEBYTECODE`` is dropped from their environment,
and one untimed warm-up run per module warms the page cache.

    uv run python bench/import_cost.py [--runs 21] [--over MODULE] MODULE [MODULE ...]

A MODULE may be a comma-separated list, imported together (``"a, b"`` runs
``import a, b``). ``--over M`` adds a column: each median CPU time minus that of
``import M``; with ``M`` and ``"M, plugin"``, what the plugin adds to what M loads.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

from _bytecode import child_env, compile_environment

_BASELINE = "(interpreter start-up)"


@dataclass
class Runs:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(code: str, env: dict[str, str], runs: Runs | None = None) -> None:
    cpu, started = _cpu(), time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    if runs is not None:
        runs.wall.append(time.perf_counter() - started)
        runs.cpu.append(_cpu() - cpu)


def measure(modules: list[str], rounds: int) -> dict[str, Runs]:
    """Wall and CPU seconds per run for each module and the bare interpreter."""
    env = child_env()
    compile_environment()
    codes = {_BASELINE: "pass", **{m: f"import {m}" for m in modules}}
    for code in codes.values():
        _run(code, env)  # warm-up: files in the page cache
    results = {name: Runs() for name in codes}
    names = list(codes)
    for i in range(rounds):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            _run(codes[name], env, results[name])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="+", help="modules to import ('a, b': together)")
    parser.add_argument("--runs", type=int, default=21, help="fresh interpreters per module")
    parser.add_argument("--over", help="also show each module's CPU time over this one's")
    args = parser.parse_args()
    modules = list(dict.fromkeys([*([args.over] if args.over else []), *args.modules]))
    results = measure(modules, args.runs)
    wall = {name: statistics.median(r.wall) * 1000 for name, r in results.items()}
    cpu = {name: statistics.median(r.cpu) * 1000 for name, r in results.items()}

    header = "| module | wall (ms) | wall minus start-up (ms) | CPU (ms) |"
    rule = "|---|---:|---:|---:|"
    if args.over:
        header += f" CPU over `{args.over}` (ms) |"
        rule += "---:|"
    print(header)
    print(rule)
    for name in results:
        if name == _BASELINE:
            row = f"| {name} | {wall[name]:.0f} | | {cpu[name]:.0f} |"
            row += " |" if args.over else ""
        else:
            row = f"| `{name}` | {wall[name]:.0f} | {wall[name] - wall[_BASELINE]:.0f} "
            row += f"| {cpu[name]:.0f} |"
            if args.over:
                over = "" if name == args.over else f"{cpu[name] - cpu[args.over]:+.0f}"
                row += f" {over} |"
        print(row)
    version = sys.version.split()[0]
    print(f"\nMedians of {args.runs} fresh interpreters per module, Python {version}.")


if __name__ == "__main__":
    main()
