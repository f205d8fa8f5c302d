"""Import cost of modules: wall time of ``python -c "import X"`` in fresh interpreters.

For each module, the median over ``--runs`` fresh interpreters of the wall time of
``python -c "import X"``, and that median minus the median of ``python -c "pass"``
(the interpreter's own start-up), measured in the same rounds. Each round runs every
module once, in an order that rotates, so the machine's drift spreads over all of
them. One untimed warm-up run per module first writes the bytecode caches, so the
figures are those of an installed package, not of a first compile.

    uv run python bench/import_cost.py [--runs 21] [--over MODULE] MODULE [MODULE ...]

``--over M`` adds a column: each median minus the median of ``import M`` (for a
plugin, what it costs over the core it always loads with).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

_BASELINE = "(interpreter start-up)"


def _run(code: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return time.perf_counter() - started


def measure(modules: list[str], runs: int) -> dict[str, list[float]]:
    """Seconds per run for each module, and for the bare interpreter under ``_BASELINE``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    codes = {_BASELINE: "pass", **{m: f"import {m}" for m in modules}}
    for code in codes.values():
        _run(code, env)  # warm-up: bytecode caches written, files in the page cache
    times: dict[str, list[float]] = {name: [] for name in codes}
    names = list(codes)
    for i in range(runs):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(_run(codes[name], env))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="+", help="modules to import")
    parser.add_argument("--runs", type=int, default=21, help="fresh interpreters per module")
    parser.add_argument("--over", help="also show each module's cost over this one")
    args = parser.parse_args()
    modules = list(dict.fromkeys([*([args.over] if args.over else []), *args.modules]))
    times = measure(modules, args.runs)
    medians = {name: statistics.median(values) for name, values in times.items()}
    fastest = {name: min(values) for name, values in times.items()}
    base = medians[_BASELINE]
    header = "| module | median wall time (ms) | fastest (ms) | median minus start-up (ms) |"
    rule = "|---|---:|---:|---:|"
    if args.over:
        header += f" over `{args.over}` (ms) |"
        rule += "---:|"
    print(header)
    print(rule)
    for name, median in medians.items():
        if name == _BASELINE:
            row = f"| {name} | {median * 1000:.0f} | {fastest[name] * 1000:.0f} | |"
            row += " |" if args.over else ""
        else:
            row = f"| `{name}` | {median * 1000:.0f} | {fastest[name] * 1000:.0f} "
            row += f"| {(median - base) * 1000:.0f} |"
            if args.over:
                over = "" if name == args.over else f"{(median - medians[args.over]) * 1000:+.0f}"
                row += f" {over} |"
        print(row)
    print(f"\n{args.runs} fresh interpreters per module, {sys.version.split()[0]}.")


if __name__ == "__main__":
    main()
