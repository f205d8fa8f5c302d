"""Gemini's errors (``google.rpc.Status`` bodies) mapped onto the taxonomy, retried (or
not) by the core's policy, and the tenant's key kept out of every error, repr and log.

Errors: https://ai.google.dev/gemini-api/docs/troubleshooting; rate limits and
``RetryInfo``: https://ai.google.dev/gemini-api/docs/rate-limits.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
import respx

from tenantkit import ChatRequest, Message, RetryPolicy, TenantLLM
from tenantkit import errors as e
from tenantkit_llm_gemini import GeminiLLM, GeminiSettings

HELLO = ChatRequest(messages=[Message(role="user", content="Hello")])


@pytest.mark.parametrize(
    ("fixture", "expected", "code"),
    [
        ("error_api_key_invalid.json", e.AuthenticationError, "API_KEY_INVALID"),
        ("error_permission.json", e.PermissionDenied, "PERMISSION_DENIED"),
        ("error_not_found.json", e.NotFound, "NOT_FOUND"),
        ("error_context.json", e.ContextWindowExceeded, "INVALID_ARGUMENT"),
        ("error_invalid_argument.json", e.InvalidRequest, "INVALID_ARGUMENT"),
        ("error_rate_limit.json", e.RateLimited, "RESOURCE_EXHAUSTED"),
        ("error_quota.json", e.RateLimited, "RESOURCE_EXHAUSTED"),
        ("error_billing_required.json", e.QuotaExceeded, "FAILED_PRECONDITION"),
        ("error_internal.json", e.ProviderUnavailable, "INTERNAL"),
        ("error_unavailable.json", e.ProviderUnavailable, "UNAVAILABLE"),
        ("error_deadline.json", e.Timeout, "DEADLINE_EXCEEDED"),
    ],
)
def test_error_responses_map_onto_the_taxonomy(
    gemini: GeminiLLM,
    api: respx.MockRouter,
    wire: Any,
    fixture: str,
    expected: type[e.ProviderError],
    code: str,
) -> None:
    api.post(wire.generate).mock(return_value=wire.response(fixture))
    with pytest.raises(e.ProviderError) as info:
        gemini.chat(HELLO)
    error = info.value
    assert type(error) is expected
    assert error.code == code
    assert error.status == wire.body(fixture)["status"]
    assert error.provider == "gemini"


def test_retry_info_is_the_retry_after(gemini: GeminiLLM, api: respx.MockRouter, wire: Any) -> None:
    api.post(wire.generate).mock(return_value=wire.response("error_rate_limit.json"))
    with pytest.raises(e.RateLimited) as info:
        gemini.chat(HELLO)
    assert info.value.retry_after == 37
    assert info.value.retryable


def test_a_retry_after_header_wins_over_retry_info(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    recorded = wire.body("error_rate_limit.json")
    api.post(wire.generate).respond(429, headers={"retry-after": "3"}, json=recorded["body"])
    with pytest.raises(e.RateLimited) as info:
        gemini.chat(HELLO)
    assert info.value.retry_after == 3


def _rate_limited_for(seconds: str, wire: Any) -> httpx.Response:
    body = wire.body("error_rate_limit.json")["body"]
    for detail in body["error"]["details"]:
        if detail["@type"].endswith("RetryInfo"):
            detail["retryDelay"] = seconds
    return httpx.Response(429, json=body)


def _tenant(gemini: GeminiLLM, retry: RetryPolicy | None = None) -> TenantLLM:
    return TenantLLM(
        gemini,
        tenant_id="acme",
        provider="gemini",
        capabilities=frozenset(gemini.capabilities),
        retry=retry,
        secrets=[gemini.settings.api_key.get_secret_value()],
    )


def test_429_with_retry_after_is_retried_after_that_long(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    route = api.post(wire.generate).mock(
        side_effect=[
            httpx.Response(
                429, headers={"retry-after": "1"}, json=wire.body("error_quota.json")["body"]
            ),
            wire.response("generate_text.json"),
        ]
    )
    sleeps: list[float] = []
    reply = _tenant(gemini, RetryPolicy(sleep=sleeps.append)).chat(HELLO)  # default otherwise
    assert reply.text.startswith("AI learns")
    assert route.call_count == 2
    assert len(sleeps) == 1
    assert sleeps[0] >= 1.0  # Retry-After: 1 was honoured


def test_429_with_a_retry_info_delay_is_retried_after_that_long(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    route = api.post(wire.generate).mock(
        side_effect=[_rate_limited_for("1s", wire), wire.response("generate_text.json")]
    )
    sleeps: list[float] = []
    reply = _tenant(gemini, RetryPolicy(sleep=sleeps.append)).chat(HELLO)
    assert reply.text.startswith("AI learns")
    assert route.call_count == 2
    assert len(sleeps) == 1
    assert sleeps[0] >= 1.0  # RetryInfo.retryDelay "1s" was honoured


def test_a_retry_delay_past_the_budget_stops_retrying_at_once(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    route = api.post(wire.generate).mock(return_value=_rate_limited_for("3600s", wire))
    sleeps: list[float] = []
    with pytest.raises(e.RateLimited):
        _tenant(gemini, RetryPolicy(sleep=sleeps.append)).chat(HELLO)
    assert route.call_count == 1
    assert sleeps == []


def test_context_overflow_is_not_retried(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    route = api.post(wire.generate).mock(return_value=wire.response("error_context.json"))
    sleeps: list[float] = []
    with pytest.raises(e.ContextWindowExceeded):
        _tenant(gemini, RetryPolicy(sleep=sleeps.append)).chat(HELLO)
    assert route.call_count == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("connection reset"),
    ],
)
def test_transport_failures_are_retryable(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any, failure: Exception
) -> None:
    route = api.post(wire.generate).mock(side_effect=[failure, wire.response("generate_text.json")])
    reply = _tenant(gemini, RetryPolicy(sleep=[].append)).chat(HELLO)
    assert reply.text.startswith("AI learns")
    assert route.call_count == 2


def test_the_key_never_appears_in_errors_reprs_or_logs(
    gemini: GeminiLLM,
    settings: GeminiSettings,
    api: respx.MockRouter,
    wire: Any,
    api_key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    echoed = wire.body("error_api_key_invalid.json")["body"]
    echoed["error"]["message"] = f"API key not valid: {api_key}"
    leaky = {"error": {"code": 500, "message": f"internal {api_key}", "status": "INTERNAL"}}
    api.post(wire.generate).mock(
        side_effect=[
            httpx.Response(400, json=echoed),
            httpx.Response(500, json=leaky),
            httpx.Response(500, json=leaky),
        ]
    )
    api.post(wire.stream_path).respond(200, content=f"data: {json.dumps(leaky)}\n\n".encode())
    seen: list[str] = [repr(gemini), str(gemini), repr(settings), str(settings)]
    seen.append(settings.model_dump_json())
    tenant = _tenant(gemini, RetryPolicy(max_attempts=1))
    seen.append(repr(tenant))
    for _ in range(2):
        with pytest.raises(e.ProviderError) as info:
            tenant.chat(HELLO)
        seen += [str(info.value), repr(info.value), info.value.message, str(info.value.args)]
    with pytest.raises(e.ProviderUnavailable) as raw:
        gemini.chat(HELLO)  # straight from the provider, not through the scrubbing wrapper
    seen += [str(raw.value), repr(raw.value)]
    with pytest.raises(e.ProviderUnavailable) as streamed:
        list(gemini.stream(HELLO))
    seen += [str(streamed.value), repr(streamed.value)]
    assert "stream reported" in streamed.value.message
    assert "**********" in streamed.value.message
    seen.append(caplog.text)
    for text in seen:
        assert api_key not in text
    assert "**********" in repr(settings)
