"""Error responses to the taxonomy, retries through the core's policy, and key hygiene."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import respx

from tenantkit import ChatRequest, Message, RetryPolicy, TenantLLM
from tenantkit.errors import (
    AuthenticationError,
    ConnectionFailed,
    ContextWindowExceeded,
    NotFound,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
    TenantkitError,
    Timeout,
)
from tenantkit.llm import LLM
from tenantkit_llm_openai import AzureOpenAILLM, OpenAILLM, OpenAISettings

CHAT = "https://api.openai.com/v1/chat/completions"
AZURE_CHAT = "https://acme-res.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions"
HELLO = ChatRequest(messages=[Message(role="user", content="Hello")])


@pytest.mark.parametrize(
    ("fixture", "expected", "request_id"),
    [
        ("openai/error_401.json", AuthenticationError, "req_401e0000000000000000000000000001"),
        ("openai/error_404_model.json", NotFound, "req_404e0000000000000000000000000001"),
        (
            "openai/error_400_context.json",
            ContextWindowExceeded,
            "req_400e0000000000000000000000000001",
        ),
        ("openai/error_429_rate_limit.json", RateLimited, "req_429e0000000000000000000000000001"),
        ("openai/error_429_quota.json", QuotaExceeded, "req_429e0000000000000000000000000002"),
        ("openai/error_500.json", ProviderUnavailable, "req_500e0000000000000000000000000001"),
    ],
)
def test_openai_errors(
    api: respx.MockRouter,
    wire: Any,
    openai_llm: OpenAILLM,
    fixture: str,
    expected: type[TenantkitError],
    request_id: str,
) -> None:
    api.post(CHAT).mock(return_value=wire.response(fixture))
    with pytest.raises(TenantkitError) as caught:
        openai_llm.chat(HELLO)
    error = caught.value
    assert type(error) is expected
    assert error.provider == "openai"
    assert error.request_id == request_id
    assert error.status == wire.json(fixture)["status"]


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("azure/error_401.json", AuthenticationError),
        ("azure/error_404_deployment.json", NotFound),
        ("azure/error_400_context.json", ContextWindowExceeded),
        ("azure/error_429.json", RateLimited),
    ],
)
def test_azure_errors(
    api: respx.MockRouter,
    wire: Any,
    azure_llm: AzureOpenAILLM,
    fixture: str,
    expected: type[TenantkitError],
) -> None:
    api.post(AZURE_CHAT).mock(return_value=wire.response(fixture))
    with pytest.raises(TenantkitError) as caught:
        azure_llm.chat(HELLO)
    assert type(caught.value) is expected
    assert caught.value.request_id == wire.json(fixture)["headers"]["apim-request-id"]


def test_azure_rate_limit_says_when_to_retry(
    api: respx.MockRouter, wire: Any, azure_llm: AzureOpenAILLM
) -> None:
    api.post(AZURE_CHAT).mock(return_value=wire.response("azure/error_429.json"))
    with pytest.raises(RateLimited) as caught:
        azure_llm.chat(HELLO)
    assert caught.value.retry_after == 1.0


def _tenant(llm: LLM, sleeps: list[float], **policy: Any) -> TenantLLM:
    return TenantLLM(
        llm,
        tenant_id="acme",
        provider="openai",
        capabilities=OpenAILLM.capabilities,
        retry=RetryPolicy(sleep=sleeps.append, **policy),
        secrets=["sk-plant-TOPSECRET-0123456789"],
    )


def test_rate_limit_is_retried_after_retry_after(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    route = api.post(CHAT).mock(
        side_effect=[
            wire.response("openai/error_429_rate_limit.json"),
            wire.response("openai/chat_text.json"),
        ]
    )
    sleeps: list[float] = []
    reply = _tenant(openai_llm, sleeps).chat(HELLO)
    assert reply.text == "Hello! How can I assist you today?"
    assert route.call_count == 2
    assert sleeps == [pytest.approx(1.0)]


def test_stream_rate_limit_is_retried_before_the_first_event(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    route = api.post(CHAT).mock(
        side_effect=[
            wire.response("openai/error_429_rate_limit.json"),
            wire.stream("openai/stream_text.sse").response(),
        ]
    )
    sleeps: list[float] = []
    reply = _tenant(openai_llm, sleeps).stream(HELLO).response
    assert reply.text == "Hello! How can I help?"
    assert route.call_count == 2
    assert sleeps == [pytest.approx(1.0)]


@pytest.mark.parametrize(
    "fixture",
    ["openai/error_400_context.json", "openai/error_429_quota.json", "openai/error_401.json"],
)
def test_final_errors_are_not_retried(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM, fixture: str
) -> None:
    route = api.post(CHAT).mock(return_value=wire.response(fixture))
    sleeps: list[float] = []
    with pytest.raises(TenantkitError) as caught:
        _tenant(openai_llm, sleeps).chat(HELLO)
    assert not caught.value.retryable
    assert route.call_count == 1
    assert sleeps == []


def test_server_errors_are_retried_then_surface(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    route = api.post(CHAT).mock(return_value=wire.response("openai/error_500.json"))
    sleeps: list[float] = []
    with pytest.raises(ProviderUnavailable):
        _tenant(openai_llm, sleeps, max_attempts=3).chat(HELLO)
    assert route.call_count == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        (httpx.ConnectTimeout("timed out"), Timeout),
        (httpx.ReadTimeout("timed out"), Timeout),
        (httpx.ConnectError("connection refused"), ConnectionFailed),
        (httpx.RemoteProtocolError("connection reset"), ConnectionFailed),
    ],
)
def test_transport_failures_are_retryable(
    api: respx.MockRouter,
    openai_llm: OpenAILLM,
    exception: Exception,
    expected: type[TenantkitError],
) -> None:
    api.post(CHAT).mock(side_effect=exception)
    with pytest.raises(expected) as caught:
        openai_llm.chat(HELLO)
    assert caught.value.retryable
    with pytest.raises(expected):
        next(iter(openai_llm.stream(HELLO)))


def test_the_key_never_shows(
    api: respx.MockRouter,
    wire: Any,
    openai_settings: OpenAISettings,
    openai_llm: OpenAILLM,
    openai_key: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    # The 401 body quotes the key; so does a 400 whose message echoes a header.
    echo = {"error": {"message": f"Invalid header value {openai_key}", "code": None}}
    api.post(CHAT).mock(
        side_effect=[
            wire.response("openai/error_401.json"),
            httpx.Response(400, json=echo, headers={"x-request-id": "req_echo"}),
        ]
    )
    assert openai_key in wire.json("openai/error_401.json")["body"]["error"]["message"]
    seen: list[str] = []
    for _ in range(2):
        with pytest.raises(TenantkitError) as caught:
            openai_llm.chat(HELLO)
        error = caught.value
        seen += [str(error), repr(error), error.message, repr(error.args)]
        print(error)
    seen += [repr(openai_llm), repr(openai_settings), str(openai_settings)]
    seen += [openai_settings.model_dump_json(), caplog.text]
    out = capsys.readouterr()
    seen += [out.out, out.err]
    for text in seen:
        assert openai_key not in text
    assert "rejected the credentials" in seen[0]


def test_the_azure_key_never_shows(
    api: respx.MockRouter,
    wire: Any,
    azure_llm: AzureOpenAILLM,
    azure_key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    api.post(AZURE_CHAT).mock(
        return_value=httpx.Response(
            400, json={"error": {"code": "BadRequest", "message": f"bad api-key {azure_key}"}}
        )
    )
    with pytest.raises(TenantkitError) as caught:
        azure_llm.chat(HELLO)
    for text in (str(caught.value), repr(caught.value), caplog.text, repr(azure_llm)):
        assert azure_key not in text
