"""Timing the same operations through several sides (the provider, a raw client, an
SDK) in one process, without favouring any side.

Every round times each operation once on every side, the sides in an order drawn at
random per round and per operation (a fixed or rotating order keeps the same side
right after the same other side every time: after the SDK's heavier call, or first
on a connection the other side has just left idle). Each side has warmed its own
connection in ``warmup`` untimed rounds (operations in their order, so a delete
follows its put) before the first timed round. Reported per operation:
each side's median, the ratio of the medians, and the median of the per-round ratios
(the two calls of a pair ran back to back, so drift of the machine cancels).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Mapping

Operations = Mapping[str, Mapping[str, Callable[[], object]]]
"""operation -> side -> a call."""

Samples = dict[str, dict[str, list[float]]]
"""operation -> side -> seconds per call, in round order."""


def interleave(ops: Operations, rounds: int, *, warmup: int = 10, seed: int = 0) -> Samples:
    """Time every side of every operation ``rounds`` times, in a random order per round."""
    rng = random.Random(seed)
    samples: Samples = {op: {side: [] for side in sides} for op, sides in ops.items()}
    clock = time.perf_counter
    for round_ in range(warmup + rounds):  # the first ``warmup`` rounds are not kept
        for op, sides in ops.items():
            order = list(sides)
            rng.shuffle(order)
            for side in order:
                fn = sides[side]
                started = clock()
                fn()
                if round_ >= warmup:
                    samples[op][side].append(clock() - started)
    return samples


def table(samples: Samples, subject: str, baselines: list[str]) -> str:
    """A Markdown table: medians (µs) of every side, and ``subject`` against each
    baseline as a ratio of medians and as the median of per-round ratios."""
    sides = list(next(iter(samples.values())))
    head = "| operation | " + " | ".join(f"{s} (µs)" for s in sides)
    for base in baselines:
        head += f" | {subject} / {base} (medians) | per-round median"
    lines = [head + " |", "|---|" + "---:|" * (len(sides) + 2 * len(baselines))]
    for op, by_side in samples.items():
        med = {side: statistics.median(values) for side, values in by_side.items()}
        row = f"| {op} | " + " | ".join(f"{med[s] * 1e6:.0f}" for s in sides)
        for base in baselines:
            paired = statistics.median(
                a / b for a, b in zip(by_side[subject], by_side[base], strict=True)
            )
            row += f" | {med[subject] / med[base]:.3f} | {paired:.3f}"
        lines.append(row + " |")
    return "\n".join(lines)


def profile(fn: Callable[[], object], calls: int, *, top: int = 30) -> str:
    """``cProfile`` of ``calls`` calls of ``fn``: the functions with the most own time."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        fn()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()
