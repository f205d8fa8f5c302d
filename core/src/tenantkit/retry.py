"""The one retry policy: exponential backoff with full jitter, honouring ``retry_after``.

Only errors marked :attr:`TenantkitError.retryable` are retried, at most
``max_attempts`` times in all and never past ``max_total`` seconds after the first
failure. When the provider said how long to wait (``retry_after``), the wait is at
least that long; a ``retry_after`` that would overrun the total budget ends the
retries at once.

A call made of several requests (the chunks of a batch, the parts of an upload) runs
each request as a step of one :meth:`RetryPolicy.budget`: every step gets up to
``max_attempts`` attempts, and all of them share ``max_total``, counted from the
call's first failure. An error that leaves a policy has had its retries: no policy
retries it again, so the tenant-scoped wrapper around such a call does not multiply
the provider's attempts.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from tenantkit.errors import TenantkitError

if TYPE_CHECKING:
    import tenacity

__all__ = ["NO_RETRY", "RetryBudget", "RetryPolicy", "was_retried"]

T = TypeVar("T")

# Set on an error once a policy has given up on it (see was_retried).
_RETRIED = "_tenantkit_retried"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a retryable provider error.

    Attributes:
        max_attempts: attempts in all, the first included (1 disables retries).
        initial_delay: upper bound of the first backoff, in seconds.
        max_delay: upper bound of any one backoff.
        max_total: no attempt starts after this many seconds since the first failure.
        sleep: how to wait (tests pass a fake).
        clock: seconds, monotonic (tests pass the fake clock ``sleep`` advances).
    """

    max_attempts: int = 4
    initial_delay: float = 0.2
    max_delay: float = 5.0
    max_total: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` under this policy and return its result or raise its last error.

        The first attempt runs directly, so a call that succeeds pays nothing for the
        policy; only after a retryable failure does the retry loop start, counting
        that failure as its first attempt (the time budget starts there).
        """
        return RetryBudget(self).call(fn)

    def budget(self) -> RetryBudget:
        """A budget for one call made of several steps, each run with
        :meth:`RetryBudget.call`: up to ``max_attempts`` attempts per step, all steps
        within ``max_total`` of the call's first failure."""
        return RetryBudget(self)

    def backoff(self, attempt: int) -> float:
        """Full jitter: a random wait between 0 and the exponential bound."""
        bound = min(self.max_delay, self.initial_delay * (2 ** (attempt - 1)))
        return random.uniform(0, bound)


class RetryBudget:
    """The retries of one call: its steps share one time budget.

    Once one step has given up, the call has failed: steps still running (the parts
    of an upload sent in parallel) make no further attempt. Thread-safe.
    """

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._first_failure: float | None = None
        self._gave_up = False
        self._lock = threading.Lock()

    def call(self, fn: Callable[[], T]) -> T:
        """Run one step: retried while it fails retryably, within the call's budget."""
        policy = self._policy
        try:
            return fn()
        except TenantkitError as exc:
            if not exc.retryable or was_retried(exc):
                raise
            self._started()
            if policy.max_attempts <= 1 or self._gave_up or self._out_of_time(exc, self._elapsed()):
                self._give_up(exc)
                raise
            first: TenantkitError | None = exc

        def attempt() -> T:
            nonlocal first
            if first is not None:
                replay, first = first, None
                raise replay
            return fn()

        import tenacity  # only once a call has failed: successful calls never load it

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_is_retryable),
            stop=self._stop,
            wait=self._wait,
            sleep=policy.sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except TenantkitError as exc:
            if exc.retryable:
                self._give_up(exc)
            raise

    def _give_up(self, exc: TenantkitError) -> None:
        self._gave_up = True
        setattr(exc, _RETRIED, True)

    def _started(self) -> None:
        with self._lock:
            if self._first_failure is None:
                self._first_failure = self._policy.clock()

    def _elapsed(self) -> float:
        start = self._first_failure
        return 0.0 if start is None else self._policy.clock() - start

    def _out_of_time(self, error: BaseException | None, elapsed: float) -> bool:
        """True when no further attempt may start: the budget is spent, or the wait the
        provider asked for would overrun it."""
        wait_at_least = (
            error.retry_after
            if isinstance(error, TenantkitError) and error.retry_after is not None
            else 0.0
        )
        return elapsed >= self._policy.max_total or elapsed + wait_at_least > self._policy.max_total

    def _stop(self, state: tenacity.RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        if state.attempt_number >= self._policy.max_attempts or self._gave_up:
            return True
        return self._out_of_time(error, self._elapsed())

    def _wait(self, state: tenacity.RetryCallState) -> float:
        delay = self._policy.backoff(state.attempt_number)
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TenantkitError) and error.retry_after is not None:
            delay = max(delay, error.retry_after)
        # Never sleep past the budget; the stop condition already left room for retry_after.
        remaining = self._policy.max_total - self._elapsed()
        return max(0.0, min(delay, remaining))


def was_retried(exc: BaseException) -> bool:
    """True for an error a retry policy has already given up on: retrying it again
    would multiply the attempts (and the time) the policy allows."""
    return bool(getattr(exc, _RETRIED, False))


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, TenantkitError) and exc.retryable


NO_RETRY = RetryPolicy(max_attempts=1)
"""A policy that never retries (tests, and calls that are not safe to repeat)."""
