"""Real recorded traffic, replayed through the LLM plugins.

``../shared/llm-traces/`` (next to the repository) holds real answers of the OpenAI,
Azure OpenAI, Anthropic and Gemini APIs and of OpenAI-compatible servers, recorded by
other public projects against the live services (its README describes the format).
Each fixture's ``response`` is served with respx at the provider's URL; the answer the
plugin makes of it, through the core's tenant-scoped wrapper, is checked against the
fixture's ``expect``; where the recording kept the request, the same request is asked
of the plugin and what it sends is checked against the recorded one
(:mod:`tests.recorded_traffic._wire` says which parts are compared).

Where the project answers differently from ``expect`` on purpose, :data:`DIVERGES`
says what it answers and why. The folder may be elsewhere: ``TENANTKIT_LLM_TRACES``
names it. Without it the whole module is skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import respx

from tenantkit import errors
from tenantkit.llm import LLM, ChatRequest, ChatResponse, Message
from tenantkit.retry import NO_RETRY
from tenantkit.scoped import TenantLLM
from tenantkit_llm_claude import ClaudeLLM, ClaudeSettings
from tenantkit_llm_gemini import GeminiLLM, GeminiSettings
from tenantkit_llm_gemini._request import split_call_id
from tenantkit_llm_openai import AzureOpenAILLM, AzureOpenAISettings, OpenAILLM, OpenAISettings
from tests.recorded_traffic import _wire

REPO_ROOT = Path(__file__).resolve().parents[2]
TRACES = Path(os.environ.get("TENANTKIT_LLM_TRACES") or REPO_ROOT.parent / "shared" / "llm-traces")
FIXTURES = TRACES / "fixtures"

if not FIXTURES.is_dir():
    pytest.skip(
        f"recorded LLM traffic not found: {TRACES} is absent (a clone without ../shared)",
        allow_module_level=True,
    )

#: Planted credentials: each must stay out of every error.
KEY = "sk-replay-planted-0123456789abcdef"

#: Fixtures whose ``expect`` the project answers differently on purpose: the id, the
#: field of ``expect`` replaced, and why.
DIVERGES: dict[str, tuple[dict[str, Any], str]] = {
    "openai/error_429_request_too_large": (
        {"class": "InvalidRequest", "retryable": False},
        "OpenAI files 'Request too large ... on tokens per min (TPM): Limit 30000, Requested "
        "30601' as a 429 rate limit, but no wait lets a request larger than the whole "
        "per-minute limit through: only a smaller request does. The request is at fault "
        "(as with Anthropic's 413 request_too_large), so it is InvalidRequest, not retried.",
    ),
}


@dataclass(frozen=True)
class Fixture:
    id: str
    data: dict[str, Any]

    @property
    def provider(self) -> str:
        return str(self.data["provider"])

    @property
    def recorded(self) -> dict[str, Any] | None:
        request: dict[str, Any] | None = self.data.get("request")
        return request


def _fixtures() -> list[Fixture]:
    found = []
    for path in sorted(FIXTURES.glob("*/*.json")):
        found.append(
            Fixture(f"{path.parent.name}/{path.stem}", json.loads(path.read_text("utf-8")))
        )
    return found


FIXTURE_LIST = _fixtures()


# --- the plugins, set up as the recording's client was -----------------------------------


@dataclass
class Replay:
    """One plugin instance, its URL, and how to read the requests it sends."""

    llm: LLM
    url: str  # the URL the plugin must call (path and the query that matters)
    request: Callable[[dict[str, Any]], ChatRequest]
    view: Callable[[dict[str, Any]], dict[str, Any]]
    call_id: Callable[[str], tuple[str | None, str | None]]


def _openai(fixture: Fixture) -> Replay:
    body = (fixture.recorded or {}).get("body") or {}
    base_url = fixture.data.get("base_url") or "https://api.openai.com/v1"
    llm = OpenAILLM(
        OpenAISettings(
            base_url=base_url,
            api_key=KEY,
            model=fixture.data["model"],
            stream_usage=bool(body.get("stream_options")) if body else True,
            max_tokens_field="max_tokens" if "max_tokens" in body else "max_completion_tokens",
        )
    )
    return Replay(
        llm,
        f"{base_url}/chat/completions",
        _wire.openai_request,
        _wire.openai_view,
        lambda call_id: (call_id, None),
    )


def _azure(fixture: Fixture) -> Replay:
    recorded = fixture.recorded
    endpoint, deployment, version = "https://example.openai.azure.com", "gpt-4o", "2024-10-21"
    if recorded:
        url = urlsplit(recorded["url"])
        endpoint = f"{url.scheme}://{url.netloc}"
        deployment = url.path.split("/deployments/")[1].split("/")[0]
        version = dict(q.split("=") for q in url.query.split("&"))["api-version"]
    llm = AzureOpenAILLM(
        AzureOpenAISettings(
            endpoint=endpoint, api_key=KEY, deployment=deployment, api_version=version
        )
    )
    return Replay(
        llm,
        f"{endpoint}/openai/deployments/{deployment}/chat/completions?api-version={version}",
        _wire.openai_request,
        lambda body: _wire.openai_view(body, with_model=False),
        lambda call_id: (call_id, None),
    )


def _claude(fixture: Fixture) -> Replay:
    llm = ClaudeLLM(ClaudeSettings(api_key=KEY, model=fixture.data["model"]))
    return Replay(
        llm,
        "https://api.anthropic.com/v1/messages",
        _wire.claude_request,
        _wire.claude_view,
        lambda call_id: (call_id, None),
    )


def _gemini(fixture: Fixture) -> Replay:
    model = fixture.data["model"]
    llm = GeminiLLM(GeminiSettings(api_key=KEY, model=model))
    method = (
        "streamGenerateContent?alt=sse" if fixture.data["mode"] == "stream" else ("generateContent")
    )
    return Replay(
        llm,
        f"https://generativelanguage.googleapis.com/v1beta/models/{model}:{method}",
        _wire.gemini_request,
        _wire.gemini_view,
        split_call_id,
    )


REPLAYS: dict[str, Callable[[Fixture], Replay]] = {
    "openai": _openai,
    "azure-openai": _azure,
    "claude": _claude,
    "gemini": _gemini,
}


# --- the replay ----------------------------------------------------------------------------


def _served(fixture: Fixture) -> httpx.Response:
    response = fixture.data["response"]
    headers = dict(response.get("headers") or {})
    if "sse" in response:
        return httpx.Response(
            response["status"], headers=headers, content=response["sse"].encode("utf-8")
        )
    return httpx.Response(response["status"], headers=headers, json=response["json"])


def _ask(fixture: Fixture, replay: Replay) -> ChatRequest:
    recorded = fixture.recorded
    if recorded and recorded.get("body"):
        return replay.request(recorded["body"])
    return ChatRequest(messages=[Message(role="user", content="Hello")])


@pytest.fixture(params=FIXTURE_LIST, ids=[f.id for f in FIXTURE_LIST])
def fixture(request: pytest.FixtureRequest) -> Fixture:
    found: Fixture = request.param
    return found


@pytest.fixture
def replay(fixture: Fixture) -> Iterator[Replay]:
    made = REPLAYS[fixture.provider](fixture)
    yield made
    made.llm.close()


def _run(fixture: Fixture, replay: Replay) -> tuple[ChatResponse | Exception, httpx.Request]:
    tenant = TenantLLM(
        replay.llm,
        tenant_id="replay",
        provider=replay.llm.provider if hasattr(replay.llm, "provider") else fixture.provider,
        capabilities=frozenset(str(c) for c in replay.llm.capabilities),
        retry=NO_RETRY,
    )
    ask = _ask(fixture, replay)
    with respx.mock(assert_all_called=False) as router:
        route = router.route().mock(return_value=_served(fixture))
        try:
            if fixture.data["mode"] == "stream":
                with tenant.stream(ask) as stream:
                    for _ in stream:
                        pass
                outcome: ChatResponse | Exception = stream.response
            else:
                outcome = tenant.chat(ask)
        except errors.TenantkitError as exc:
            outcome = exc
        assert route.call_count == 1, "the plugin should send exactly one request"
        sent: httpx.Request = route.calls.last.request
    return outcome, sent


def test_replay(fixture: Fixture, replay: Replay) -> None:
    outcome, sent = _run(fixture, replay)
    expect = dict(fixture.data["expect"])
    if fixture.id in DIVERGES:
        replaced, _why = DIVERGES[fixture.id]
        expect["error"] = {**expect["error"], **replaced}

    assert str(sent.url).startswith(replay.url), f"sent to {sent.url}, not to {replay.url}"
    assert KEY not in str(sent.url)

    if "error" in expect:
        _check_error(outcome, expect["error"])
    else:
        if isinstance(outcome, Exception):
            raise AssertionError(f"expected an answer, got {outcome!r}") from outcome
        _check_answer(outcome, expect, replay)

    recorded = fixture.recorded
    if recorded and recorded.get("body") and fixture.data.get("compare_request") is not False:
        assert replay.view(json.loads(sent.content)) == replay.view(recorded["body"])


def _check_error(outcome: ChatResponse | Exception, expected: dict[str, Any]) -> None:
    assert isinstance(outcome, errors.TenantkitError), f"expected an error, got {outcome!r}"
    assert type(outcome).__name__ == expected["class"], repr(outcome)
    assert outcome.retryable is expected["retryable"]
    if "code" in expected:
        assert outcome.code == expected["code"]
    if "request_id" in expected:
        assert outcome.request_id == expected["request_id"]
    if "retry_after" in expected:
        assert outcome.retry_after == pytest.approx(expected["retry_after"])
    if "message_contains" in expected:
        assert expected["message_contains"] in str(outcome)
    assert KEY not in str(outcome)
    assert KEY not in repr(outcome)


def _check_answer(response: ChatResponse, expect: dict[str, Any], replay: Replay) -> None:
    assert response.text == expect["text"]
    assert response.finish_reason == expect["finish_reason"]
    assert response.raw_finish_reason == expect["raw_finish_reason"]
    assert response.id == expect["id"]
    assert response.model == expect["model"]
    assert len(response.tool_calls) == len(expect["tool_calls"])
    for call, wanted in zip(response.tool_calls, expect["tool_calls"], strict=True):
        call_id, signature = replay.call_id(call.id)
        assert call.name == wanted["name"]
        assert call.arguments == wanted["arguments"]
        if wanted["id"] is None:
            # The service gave no id; the plugin makes one up so a result can answer it.
            assert call.id
        else:
            assert call_id == wanted["id"]
        assert signature == wanted.get("thought_signature")
    usage = expect["usage"]  # total_tokens is the core's input + output: not compared
    assert response.usage.input_tokens == usage["input_tokens"]
    assert response.usage.output_tokens == usage["output_tokens"]
    assert response.usage.cached_tokens == usage["cached_tokens"]
    assert response.usage.reasoning_tokens == usage["reasoning_tokens"]
