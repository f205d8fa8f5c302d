"""What the 512 MiB upload memory benchmarks share (`*_upload_memory.py`).

Each upload runs in a fresh interpreter, so that its peak is its own: the child builds
its client, records its resident set (the baseline), uploads a stream generated 1 MiB
at a time and prints its high-water mark (``VmHWM``, which no sampling can miss) as
one JSON line. The parent runs every variant ``--runs`` times, the variants in turn
within each run, and prints the medians.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

MIB = 1024 * 1024


def status(field: str) -> int:
    """A ``/proc/self/status`` memory figure, in bytes."""
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def stream(mib: int) -> Iterator[bytes]:
    """``mib`` MiB as 1 MiB chunks (one random block, sent again and again)."""
    block = os.urandom(MIB)
    for _ in range(mib):
        yield block


class Reader(io.RawIOBase):
    """A chunk iterator as a binary file object, for the SDKs' file uploads."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""
        self._position = 0

    def tell(self) -> int:
        return self._position

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes, short only at the end (some SDKs take a short read as EOF)."""
        parts = bytearray()
        while size < 0 or len(parts) < size:
            view = bytearray(MIB if size < 0 else size - len(parts))
            got = self.readinto(view)
            if not got:
                break
            parts += view[:got]
        return bytes(parts)

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self._position += size
        return size


def measure(upload: Callable[[], None], size: Callable[[], int]) -> None:
    """In the child: time ``upload`` and print its baseline, peak, seconds and the size
    the server reports."""
    baseline = status("VmRSS")
    started = time.perf_counter()
    upload()
    seconds = time.perf_counter() - started
    peak = status("VmHWM")
    print(json.dumps({"baseline": baseline, "peak": peak, "seconds": seconds, "size": size()}))


def arguments(description: str, children: Sequence[str]) -> argparse.ArgumentParser:
    """The options every upload benchmark takes (``--child`` and the rest are internal)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--mib", type=int, default=512, help="size of the stream in MiB")
    parser.add_argument("--runs", type=int, default=1, help="runs of every variant (medians)")
    parser.add_argument(
        "--provider-only", action="store_true", help="only the provider's default variant"
    )
    parser.add_argument("--child", choices=list(children), help=argparse.SUPPRESS)
    return parser


def run_child(script: str, kind: str, options: Sequence[str], mib: int, stdin: str = "") -> dict:
    """Run one upload in a fresh interpreter and check the server got every byte."""
    command = [sys.executable, script, "--child", kind, "--mib", str(mib), *options]
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(done.stderr)
    result: dict = json.loads(done.stdout)
    assert result["size"] == mib * MIB, result
    return result


def report(mib: int, rows: dict[str, list[dict]]) -> None:
    """Print the medians of every variant's runs as a Markdown table."""
    runs = max(len(results) for results in rows.values())
    print(
        f"| upload of a {mib} MiB stream (median of {runs}) | baseline RSS (MiB) "
        "| peak RSS (MiB) | peak above baseline (MiB) | each run above baseline | seconds |"
    )
    print("|---|---:|---:|---:|---|---:|")
    for label, results in rows.items():
        above = [(r["peak"] - r["baseline"]) / MIB for r in results]
        print(
            f"| {label} | {statistics.median(r['baseline'] for r in results) / MIB:.1f} "
            f"| {statistics.median(r['peak'] for r in results) / MIB:.1f} "
            f"| {statistics.median(above):.1f} | {', '.join(f'{a:.1f}' for a in above)} "
            f"| {statistics.median(r['seconds'] for r in results):.1f} |"
        )
