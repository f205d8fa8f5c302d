"""A fake monotonic clock for tests of retries and caches: ``sleep`` advances it.

    clock = FakeClock()
    policy = RetryPolicy(sleep=clock.sleep, clock=clock)

Nothing waits for real; ``clock.slept`` records every wait asked for.
"""

from __future__ import annotations

import threading


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.start = start
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds

    @property
    def elapsed(self) -> float:
        return self.now - self.start
