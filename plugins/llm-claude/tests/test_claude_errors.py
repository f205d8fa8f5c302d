"""Claude's errors mapped onto the taxonomy, retried (or not) by the core's policy,
and the tenant's key kept out of every error, repr and log line.

Errors: https://platform.claude.com/docs/en/api/errors
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
from tenantkit_llm_claude import ClaudeLLM, ClaudeSettings

HELLO = ChatRequest(messages=[Message(role="user", content="Hello")])


@pytest.mark.parametrize(
    ("fixture", "expected", "code"),
    [
        ("error_authentication.json", e.AuthenticationError, "authentication_error"),
        ("error_permission.json", e.PermissionDenied, "permission_error"),
        ("error_not_found.json", e.NotFound, "not_found_error"),
        ("error_prompt_too_long.json", e.ContextWindowExceeded, "invalid_request_error"),
        ("error_context_limit.json", e.ContextWindowExceeded, "invalid_request_error"),
        ("error_invalid_request.json", e.InvalidRequest, "invalid_request_error"),
        ("error_request_too_large.json", e.InvalidRequest, "request_too_large"),
        ("error_rate_limit.json", e.RateLimited, "rate_limit_error"),
        ("error_spend_limit.json", e.QuotaExceeded, "enforced_spend_limit_reached"),
        ("error_billing.json", e.QuotaExceeded, "billing_error"),
        ("error_api.json", e.ProviderUnavailable, "api_error"),
        ("error_timeout.json", e.Timeout, "timeout_error"),
        ("error_overloaded.json", e.ProviderUnavailable, "overloaded_error"),
    ],
)
def test_error_responses_map_onto_the_taxonomy(
    claude: ClaudeLLM,
    api: respx.MockRouter,
    wire: Any,
    fixture: str,
    expected: type[e.ProviderError],
    code: str,
) -> None:
    recorded = wire.body(fixture)
    api.post("/v1/messages").mock(return_value=wire.response(fixture))
    with pytest.raises(e.ProviderError) as info:
        claude.chat(HELLO)
    error = info.value
    assert type(error) is expected
    assert error.code == code
    assert error.status == recorded["status"]
    assert error.provider == "claude"
    assert error.request_id == recorded["headers"]["request-id"]


def test_529_overloaded_is_retryable(claude: ClaudeLLM, api: respx.MockRouter, wire: Any) -> None:
    api.post("/v1/messages").mock(return_value=wire.response("error_overloaded.json"))
    with pytest.raises(e.ProviderUnavailable) as info:
        claude.chat(HELLO)
    assert info.value.retryable
    assert info.value.status == 529


def _tenant(claude: ClaudeLLM, retry: RetryPolicy | None = None) -> TenantLLM:
    return TenantLLM(
        claude,
        tenant_id="acme",
        provider="claude",
        capabilities=frozenset(claude.capabilities),
        retry=retry,
        secrets=[claude.settings.api_key.get_secret_value()],
    )


def test_429_with_retry_after_is_retried_after_that_long(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any
) -> None:
    route = api.post("/v1/messages").mock(
        side_effect=[wire.response("error_rate_limit.json"), wire.response("message_text.json")]
    )
    sleeps: list[float] = []
    reply = _tenant(claude, RetryPolicy(sleep=sleeps.append)).chat(HELLO)  # default otherwise
    assert reply.text == "Hi! My name is Claude."
    assert route.call_count == 2
    assert len(sleeps) == 1
    assert sleeps[0] >= 1.0  # Retry-After: 1 was honoured


def test_the_request_id_of_the_error_body_is_kept_without_the_header(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any
) -> None:
    recorded = wire.body("error_rate_limit.json")
    api.post("/v1/messages").respond(429, json=recorded["body"])  # no request-id header
    with pytest.raises(e.RateLimited) as info:
        claude.chat(HELLO)
    assert info.value.request_id == recorded["body"]["request_id"]


def test_context_overflow_is_not_retried(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any
) -> None:
    route = api.post("/v1/messages").mock(return_value=wire.response("error_prompt_too_long.json"))
    sleeps: list[float] = []
    with pytest.raises(e.ContextWindowExceeded):
        _tenant(claude, RetryPolicy(sleep=sleeps.append)).chat(HELLO)
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
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any, failure: Exception
) -> None:
    route = api.post("/v1/messages").mock(side_effect=[failure, wire.response("message_text.json")])
    sleeps: list[float] = []
    reply = _tenant(claude, RetryPolicy(sleep=sleeps.append)).chat(HELLO)
    assert reply.text == "Hi! My name is Claude."
    assert route.call_count == 2


def test_the_key_never_appears_in_errors_reprs_or_logs(
    claude: ClaudeLLM,
    settings: ClaudeSettings,
    api: respx.MockRouter,
    wire: Any,
    api_key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    echoed = {
        "type": "error",
        "error": {"type": "authentication_error", "message": f"invalid x-api-key: {api_key}"},
    }
    leaky_500 = {"type": "error", "error": {"type": "api_error", "message": f"boom {api_key}"}}
    api.post("/v1/messages").mock(
        side_effect=[
            httpx.Response(401, json=echoed),
            httpx.Response(500, json=leaky_500),
            httpx.Response(500, json=leaky_500),
        ]
    )
    seen: list[str] = [repr(claude), str(claude), repr(settings), str(settings)]
    seen.append(settings.model_dump_json())
    tenant = _tenant(claude, RetryPolicy(max_attempts=1))
    seen.append(repr(tenant))
    for _ in range(2):
        with pytest.raises(e.ProviderError) as info:
            tenant.chat(HELLO)
        seen += [str(info.value), repr(info.value), info.value.message, str(info.value.args)]
    with pytest.raises(e.ProviderUnavailable) as info:
        claude.chat(HELLO)  # straight from the provider, not through the scrubbing wrapper
    seen += [str(info.value), repr(info.value)]
    assert "boom **********" in info.value.message
    stream_error = {"type": "error", "error": {"type": "api_error", "message": f"boom {api_key}"}}
    api.post("/v1/messages").respond(
        200, content=f"event: error\ndata: {json.dumps(stream_error)}\n\n".encode()
    )
    with pytest.raises(e.ProviderUnavailable) as streamed:
        list(claude.stream(HELLO))
    seen += [str(streamed.value), repr(streamed.value)]
    assert "stream reported" in streamed.value.message
    assert "**********" in streamed.value.message
    seen.append(caplog.text)
    for text in seen:
        assert api_key not in text
    assert "**********" in repr(settings)
