"""An LLM call under sustained throttling: every attempt answers 429.

One ``chat`` through the tenant-scoped LLM must make at most the policy's attempts,
wait at least what ``Retry-After`` says between them, and end with a typed, retryable
error within the policy's time budget. The policy's sleep and clock are injected (the
sleep advances the clock), so nothing waits for real.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import respx

from tenantkit import errors
from tenantkit.llm import LLM
from tenantkit.retry import RetryPolicy
from tenantkit.scoped import TenantLLM
from tenantkit_llm_claude import ClaudeLLM, ClaudeSettings
from tenantkit_llm_gemini import GeminiLLM, GeminiSettings
from tenantkit_llm_openai import AzureOpenAILLM, AzureOpenAISettings, OpenAILLM, OpenAISettings

KEY = "sk-throttled-planted-0123456789"


@dataclass(frozen=True)
class Throttled:
    """A provider, the URL it calls, and its documented 429 body."""

    make: Callable[[], LLM]
    url: str
    body: dict[str, Any]


PROVIDERS: dict[str, Throttled] = {
    # https://platform.openai.com/docs/guides/error-codes#api-errors
    "openai": Throttled(
        lambda: OpenAILLM(OpenAISettings(api_key=KEY, model="gpt-4o")),
        "https://api.openai.com/v1/chat/completions",
        {
            "error": {
                "message": "Rate limit reached for gpt-4o on requests per min (RPM).",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            }
        },
    ),
    # https://learn.microsoft.com/en-us/azure/ai-foundry/openai/quotas-limits
    "azure-openai": Throttled(
        lambda: AzureOpenAILLM(
            AzureOpenAISettings(
                endpoint="https://example.openai.azure.com", api_key=KEY, deployment="gpt-4o"
            )
        ),
        "https://example.openai.azure.com/openai/deployments/gpt-4o/chat/completions",
        {
            "error": {
                "code": "429",
                "message": "Requests to the ChatCompletions_Create Operation under Azure "
                "OpenAI API have exceeded the call rate limit of your current pricing tier.",
            }
        },
    ),
    # https://platform.claude.com/docs/en/api/errors
    "claude": Throttled(
        lambda: ClaudeLLM(ClaudeSettings(api_key=KEY, model="claude-sonnet-4-5")),
        "https://api.anthropic.com/v1/messages",
        {
            "type": "error",
            "error": {"type": "rate_limit_error", "message": "Number of requests exceeded."},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fz",
        },
    ),
    # https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
    "gemini": Throttled(
        lambda: GeminiLLM(GeminiSettings(api_key=KEY, model="gemini-2.5-flash")),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
        {
            "error": {
                "code": 429,
                "message": "You exceeded your current quota, please check your plan and "
                "billing details.",
                "status": "RESOURCE_EXHAUSTED",
            }
        },
    ),
}


class FakeClock:
    """The retry policy's clock, advanced only by its injected sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=sorted(PROVIDERS))
def throttled(request: pytest.FixtureRequest) -> Iterator[tuple[Throttled, LLM]]:
    found = PROVIDERS[request.param]
    llm = found.make()
    yield found, llm
    llm.close()


def _tenant(llm: LLM, policy: RetryPolicy) -> TenantLLM:
    return TenantLLM(
        llm,
        tenant_id="acme",
        provider=str(getattr(llm, "provider", "")) or type(llm).__name__,
        capabilities=frozenset(str(c) for c in llm.capabilities),
        retry=policy,
        secrets=[KEY],
    )


@pytest.mark.parametrize(("retry_after", "attempts"), [(2, 4), (8, 3)])
def test_one_chat_makes_at_most_the_policys_attempts(
    throttled: tuple[Throttled, LLM], clock: FakeClock, retry_after: int, attempts: int
) -> None:
    """With ``Retry-After: 2`` the four attempts fit the 20 s budget; with 8 s waits
    the third attempt ends at 16 s, and a fourth could start only after the budget."""
    found, llm = throttled
    policy = RetryPolicy(max_attempts=4, max_total=20.0, sleep=clock.sleep, clock=clock.monotonic)
    with respx.mock(assert_all_called=True) as router:
        route = router.post(url__startswith=found.url).mock(
            return_value=httpx.Response(
                429, headers={"retry-after": str(retry_after)}, json=found.body
            )
        )
        with pytest.raises(errors.TenantkitError) as caught:
            _tenant(llm, policy).chat(messages=[{"role": "user", "content": "hello"}])
    error = caught.value
    assert isinstance(error, errors.RateLimited)
    assert error.retryable
    assert error.retry_after == retry_after
    assert route.call_count == attempts
    assert len(clock.sleeps) == attempts - 1
    assert all(wait >= retry_after for wait in clock.sleeps)  # Retry-After honoured
    assert sum(clock.sleeps) <= policy.max_total  # within the policy's deadline
    assert KEY not in str(error)


def test_a_retry_after_beyond_the_budget_ends_at_once(
    throttled: tuple[Throttled, LLM], clock: FakeClock
) -> None:
    found, llm = throttled
    policy = RetryPolicy(max_attempts=4, max_total=20.0, sleep=clock.sleep, clock=clock.monotonic)
    with respx.mock() as router:
        route = router.post(url__startswith=found.url).mock(
            return_value=httpx.Response(429, headers={"retry-after": "60"}, json=found.body)
        )
        with pytest.raises(errors.RateLimited) as caught:
            _tenant(llm, policy).chat(messages=[{"role": "user", "content": "hello"}])
    assert route.call_count == 1
    assert clock.sleeps == []
    assert caught.value.retry_after == 60
