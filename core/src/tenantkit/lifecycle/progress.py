"""Progress of a long command on stderr: items and bytes done, rate and ETA."""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

__all__ = ["Progress"]


def _mib(count: float) -> float:
    return count / (1024 * 1024)


class Progress:
    """Counts items and bytes and reports them at most every ``interval`` seconds.

    Args:
        what: the operation (``"export"``, ``"copy"``...), first word of each line.
        total_items, total_bytes: known totals, for the ETA (``None``: unknown).
        quiet: report nothing.
        as_json: one JSON object per report instead of a line of text.
    """

    def __init__(
        self,
        what: str,
        *,
        total_items: int | None = None,
        total_bytes: int | None = None,
        quiet: bool = False,
        as_json: bool = False,
        stream: TextIO | None = None,
        interval: float = 1.0,
    ) -> None:
        self.what = what
        self.items = 0
        self.bytes = 0
        self.total_items = total_items
        self.total_bytes = total_bytes
        self._quiet = quiet
        self._json = as_json
        self._stream = stream
        self._interval = interval
        self._started = time.monotonic()
        self._last = float("-inf")

    def add(self, *, items: int = 0, nbytes: int = 0) -> None:
        """Count work done; report when ``interval`` has passed since the last report."""
        self.items += items
        self.bytes += nbytes
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._report(now, final=False)

    def done(self) -> None:
        """Report the totals once more, at the end."""
        self._report(time.monotonic(), final=True)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def snapshot(self) -> dict[str, float | int | None]:
        """Items, bytes, elapsed seconds, rates (per second) and the ETA in seconds."""
        elapsed = max(self.elapsed, 1e-9)
        items_rate = self.items / elapsed
        bytes_rate = self.bytes / elapsed
        eta: float | None = None
        if self.total_items and items_rate > 0:
            eta = max(self.total_items - self.items, 0) / items_rate
        elif self.total_bytes and bytes_rate > 0:
            eta = max(self.total_bytes - self.bytes, 0) / bytes_rate
        return {
            "items": self.items,
            "bytes": self.bytes,
            "total_items": self.total_items,
            "total_bytes": self.total_bytes,
            "elapsed_s": round(elapsed, 3),
            "items_per_s": round(items_rate, 1),
            "mib_per_s": round(_mib(bytes_rate), 3),
            "eta_s": None if eta is None else round(eta, 1),
        }

    def _report(self, now: float, *, final: bool) -> None:
        if self._quiet:
            return
        stream = self._stream or sys.stderr
        figures = self.snapshot()
        if self._json:
            stream.write(json.dumps({"progress": self.what, "final": final, **figures}) + "\n")
        else:
            total = f"/{self.total_items:,}" if self.total_items is not None else ""
            eta = figures["eta_s"]
            line = (
                f"{self.what}: {self.items:,}{total} items, {_mib(self.bytes):.1f} MiB, "
                f"{figures['items_per_s']:,} items/s, {figures['mib_per_s']} MiB/s"
            )
            if final:
                line += f", done in {figures['elapsed_s']} s"
            elif eta is not None:
                line += f", ETA {int(eta) // 60}:{int(eta) % 60:02d}"
            stream.write(line + "\n")
        stream.flush()
