"""The one retry policy: exponential backoff with full jitter, honouring ``retry_after``.

Only errors marked :attr:`TenantkitError.retryable` are retried, and
:class:`~tenantkit.errors.OutcomeUnknown` when the call is idempotent; at most
``max_attempts`` times in all and never past ``max_total`` seconds after the first
failure. When the provider
said how long to wait (``retry_after``), the wait is at least that long; a
``retry_after`` that would overrun the total budget ends the retries at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from tenantkit.errors import OutcomeUnknown, TenantkitError

if TYPE_CHECKING:
    import tenacity

__all__ = ["NO_RETRY", "RetryPolicy"]

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a retryable provider error.

    Attributes:
        max_attempts: attempts in all, the first included (1 disables retries).
        initial_delay: upper bound of the first backoff, in seconds.
        max_delay: upper bound of any one backoff.
        max_total: no attempt starts after this many seconds since the first failure.
    """

    max_attempts: int = 4
    initial_delay: float = 0.2
    max_delay: float = 5.0
    max_total: float = 20.0
    sleep: Callable[[float], None] = time.sleep

    def call(self, fn: Callable[[], T], *, idempotent: bool = False) -> T:
        """Run ``fn`` under this policy and return its result or raise its last error.

        ``idempotent`` says that running ``fn`` twice has the effect of running it
        once, so an :class:`~tenantkit.errors.OutcomeUnknown` (sent, answer lost) is
        retried too; otherwise it is raised at once.

        The first attempt runs directly, so a call that succeeds pays nothing for the
        policy; only after a retryable failure does the retry loop start, counting
        that failure as its first attempt (the time budget starts there).
        """
        try:
            return fn()
        except TenantkitError as exc:
            if not _should_retry(exc, idempotent) or self.max_attempts <= 1:
                raise
            first: TenantkitError | None = exc
        if first is None:  # pragma: no cover - the except clause always sets it
            raise AssertionError("unreachable")

        def attempt() -> T:
            nonlocal first
            if first is not None:
                replay, first = first, None
                raise replay
            return fn()

        import tenacity  # only once a call has failed: successful calls never load it

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda exc: _should_retry(exc, idempotent)),
            stop=tenacity.stop_any(
                tenacity.stop_after_attempt(self.max_attempts),
                _stop_on_budget(self.max_total),
            ),
            wait=self._wait,
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(attempt)

    def backoff(self, attempt: int) -> float:
        """Full jitter: a random wait between 0 and the exponential bound."""
        bound = min(self.max_delay, self.initial_delay * (2 ** (attempt - 1)))
        return random.uniform(0, bound)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        delay = self.backoff(state.attempt_number)
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TenantkitError) and error.retry_after is not None:
            delay = max(delay, error.retry_after)
        # Never sleep past the budget; the stop condition already left room for retry_after.
        remaining = self.max_total - (state.seconds_since_start or 0.0)
        return max(0.0, min(delay, remaining))


def _stop_on_budget(max_total: float) -> tenacity.stop.stop_base:
    """Stop when the next attempt could only start after the total budget."""
    import tenacity

    class StopOnBudget(tenacity.stop.stop_base):
        def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
            elapsed = retry_state.seconds_since_start or 0.0
            error = retry_state.outcome.exception() if retry_state.outcome else None
            wait_at_least = (
                error.retry_after
                if isinstance(error, TenantkitError) and error.retry_after is not None
                else 0.0
            )
            return elapsed >= max_total or elapsed + wait_at_least > max_total

    return StopOnBudget()


def _should_retry(exc: BaseException, idempotent: bool) -> bool:
    if not isinstance(exc, TenantkitError):
        return False
    return exc.retryable or (idempotent and isinstance(exc, OutcomeUnknown))


NO_RETRY = RetryPolicy(max_attempts=1)
"""A policy that never retries (tests, and calls that are not safe to repeat)."""
