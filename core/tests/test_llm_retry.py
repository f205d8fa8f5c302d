"""The one retry policy, driven through TenantLLM by echo's error injection.

A fake clock is the policy's ``clock`` and ``sleep``, so waits are recorded and the
total budget is checked without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tenantkit import errors
from tenantkit.llm import ChatRequest, Message
from tenantkit.providers.echo import EchoFailure, EchoLLM, EchoReply, EchoSettings
from tenantkit.retry import RetryPolicy
from tenantkit.scoped import TenantLLM


@dataclass
class Clock:
    now: float = 0.0
    waits: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    @property
    def starts(self) -> list[float]:
        """When each attempt started: at 0 and after each wait."""
        starts, at = [0.0], 0.0
        for wait in self.waits:
            at += wait
            starts.append(at)
        return starts


@pytest.fixture
def clock() -> Clock:
    return Clock()


@dataclass(frozen=True)
class NoJitter(RetryPolicy):
    """The policy with its upper backoff bound as the wait, to make waits predictable."""

    def backoff(self, attempt: int) -> float:
        return float(min(self.max_delay, self.initial_delay * (2 ** (attempt - 1))))


def _tenant(llm: EchoLLM, policy: RetryPolicy) -> TenantLLM:
    return TenantLLM(
        llm,
        tenant_id="acme",
        provider="echo",
        capabilities=frozenset(str(c) for c in llm.capabilities),
        retry=policy,
    )


def _fail(kind: str, retry_after: float | None = None) -> EchoReply:
    return EchoReply(error=EchoFailure(error=kind, retry_after=retry_after))


_ASK = ChatRequest(messages=[Message(role="user", content="hi")])


def test_rate_limit_is_retried_after_retry_after(clock: Clock) -> None:
    llm = EchoLLM(EchoSettings())
    llm.script(_fail("rate_limited", retry_after=3), "answered")
    tenant = _tenant(llm, RetryPolicy(max_attempts=4, sleep=clock.sleep, clock=clock.monotonic))
    assert tenant.chat(_ASK).text == "answered"
    assert clock.waits == [3.0]


def test_retryable_errors_back_off_within_bounds(clock: Clock) -> None:
    llm = EchoLLM(EchoSettings())
    llm.script(_fail("provider_unavailable"), _fail("timeout"), _fail("connection_failed"), "ok")
    policy = RetryPolicy(
        max_attempts=4, initial_delay=0.5, max_delay=1.5, sleep=clock.sleep, clock=clock.monotonic
    )
    assert _tenant(llm, policy).chat(_ASK).text == "ok"
    assert len(clock.waits) == 3
    for attempt, wait in enumerate(clock.waits, start=1):
        assert 0 <= wait <= min(1.5, 0.5 * 2 ** (attempt - 1))


@pytest.mark.parametrize(
    "kind",
    [
        "authentication_error",
        "permission_denied",
        "not_found",
        "invalid_request",
        "context_window_exceeded",
        "content_filtered",
        "quota_exceeded",
    ],
)
def test_final_errors_are_not_retried(clock: Clock, kind: str) -> None:
    llm = EchoLLM(EchoSettings())
    llm.script(_fail(kind), "never reached")
    with pytest.raises(errors.ProviderError) as caught:
        _tenant(llm, RetryPolicy(sleep=clock.sleep, clock=clock.monotonic)).chat(_ASK)
    assert caught.value.kind == kind
    assert not caught.value.retryable
    assert clock.waits == []
    assert llm.pending == 1


def test_attempts_are_bounded(clock: Clock) -> None:
    llm = EchoLLM(EchoSettings())
    llm.script(*[_fail("provider_unavailable")] * 6)
    with pytest.raises(errors.ProviderUnavailable):
        _tenant(llm, RetryPolicy(max_attempts=3, sleep=clock.sleep, clock=clock.monotonic)).chat(
            _ASK
        )
    assert llm.pending == 3
    assert len(clock.waits) == 2


def test_a_retry_after_beyond_the_budget_ends_retries(clock: Clock) -> None:
    llm = EchoLLM(EchoSettings())
    llm.script(_fail("rate_limited", retry_after=30), "never reached")
    with pytest.raises(errors.RateLimited) as caught:
        _tenant(llm, RetryPolicy(max_total=20, sleep=clock.sleep, clock=clock.monotonic)).chat(_ASK)
    assert caught.value.retry_after == 30
    assert clock.waits == []
    assert llm.pending == 1


def test_retry_after_counts_against_the_budget(clock: Clock) -> None:
    llm = EchoLLM(EchoSettings())
    llm.script(*[_fail("rate_limited", retry_after=6)] * 5)
    with pytest.raises(errors.RateLimited):
        _tenant(
            llm, RetryPolicy(max_attempts=5, max_total=10, sleep=clock.sleep, clock=clock.monotonic)
        ).chat(_ASK)
    assert clock.waits == [6.0]  # a second wait would start the third attempt at 12 s
    assert llm.pending == 3


def test_no_attempt_starts_after_the_total_budget(clock: Clock) -> None:
    llm = EchoLLM(EchoSettings())
    llm.script(*[_fail("timeout")] * 10)
    policy = NoJitter(
        max_attempts=10,
        initial_delay=1,
        max_delay=8,
        max_total=10,
        sleep=clock.sleep,
        clock=clock.monotonic,
    )
    with pytest.raises(errors.Timeout):
        _tenant(llm, policy).chat(_ASK)
    assert max(clock.starts) <= 10
    assert clock.starts == [0, 1, 3, 7, 10]
    assert llm.pending == 10 - len(clock.starts)


def test_stream_failing_before_its_first_event_is_retried(clock: Clock) -> None:
    llm = EchoLLM(EchoSettings())
    llm.script(_fail("rate_limited", retry_after=2), "streamed answer")
    stream = _tenant(llm, RetryPolicy(sleep=clock.sleep, clock=clock.monotonic)).stream(_ASK)
    assert stream.response.text == "streamed answer"
    assert clock.waits == [2.0]


def test_stream_failing_after_its_first_event_is_not_retried(clock: Clock) -> None:
    llm = EchoLLM(EchoSettings())
    broken = EchoReply(text="one two three", error=EchoFailure(error="stream_interrupted", after=2))
    llm.script(broken, "never reached")
    stream = _tenant(llm, RetryPolicy(sleep=clock.sleep, clock=clock.monotonic)).stream(_ASK)
    with pytest.raises(errors.StreamInterrupted) as caught:
        list(stream)
    assert caught.value.partial_text == "one two "
    assert clock.waits == []
    assert llm.pending == 1


def test_final_stream_error_before_the_first_event_is_not_retried(clock: Clock) -> None:
    llm = EchoLLM(EchoSettings())
    llm.script(_fail("authentication_error"), "never reached")
    with pytest.raises(errors.AuthenticationError):
        _tenant(llm, RetryPolicy(sleep=clock.sleep, clock=clock.monotonic)).stream(_ASK)
    assert clock.waits == []
    assert llm.pending == 1
