"""The LLM conformance suite on the embedded echo provider, both ways round.

``TestEcho`` runs it on echo as shipped (every optional capability declared);
``TestChatOnlyEcho`` on an echo that declares none, so every "not declared → Unsupported"
check runs too. The last tests check that the suite itself catches a faulty provider.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import ClassVar

import pytest

from tenantkit.errors import AuthenticationError, ProviderError
from tenantkit.llm import ChatRequest, ChatResponse, LLMCapability, StreamEvent
from tenantkit.providers.echo import EchoFailure, EchoLLM, EchoReply, EchoSettings
from tenantkit.registry import ProviderContext
from tenantkit.scoped import TenantLLM
from tenantkit.testing.llm import EchoScript, LLMConformance, LLMScript, SentRequest


def _context() -> ProviderContext:
    return ProviderContext(tenant_id="conformance", provider="echo")


class TestEcho(LLMConformance):
    @pytest.fixture
    def llm(self) -> Iterator[EchoLLM]:
        llm = EchoLLM(EchoSettings(), _context())
        yield llm
        llm.close()

    @pytest.fixture
    def llm_script(self, llm: EchoLLM) -> EchoScript:
        return EchoScript(llm)


class ChatOnlyEcho(EchoLLM):
    """Echo declaring no optional capability: it must refuse every optional feature."""

    capabilities: ClassVar[frozenset[LLMCapability]] = frozenset()


class TestChatOnlyEcho(LLMConformance):
    @pytest.fixture
    def llm(self) -> ChatOnlyEcho:
        return ChatOnlyEcho(EchoSettings(), _context())

    @pytest.fixture
    def llm_script(self, llm: EchoLLM) -> EchoScript:
        return EchoScript(llm)


# --- the suite catches faulty providers -----------------------------------------------------

SECRET = "sk-planted-7f3a9c21"


class _LeakyScript(EchoScript):
    """Errors quote the credential, as a careless provider copying a server body would."""

    def fail(self, error_kind: type[ProviderError], *, retry_after: float | None = None) -> bool:
        failure = EchoFailure(error=error_kind.kind, message=f"invalid api key {SECRET}")
        self.llm.enqueue(EchoReply(error=failure))
        return True


class _AcceptsEverything(ChatOnlyEcho):
    """Declares nothing optional but silently accepts tools."""

    def _need(self, capability: LLMCapability, what: str) -> None:
        return None


def _tenant(llm: EchoLLM) -> TenantLLM:
    return TenantLLM(
        llm,
        tenant_id="kit-self-test",
        provider="echo",
        capabilities=frozenset(str(c) for c in llm.capabilities),
    )


def test_suite_detects_a_leaked_credential() -> None:
    llm = EchoLLM(EchoSettings(), _context())
    suite = TestEcho()
    with pytest.raises(AssertionError, match="credential appears"):
        suite.test_error_is_mapped(
            llm, _tenant(llm), _LeakyScript(llm), SECRET, AuthenticationError
        )
    # The same case passes when the planted value is not in the errors.
    suite.test_error_is_mapped(llm, _tenant(llm), EchoScript(llm), SECRET, AuthenticationError)


def test_suite_detects_an_undeclared_capability_that_is_accepted() -> None:
    llm = _AcceptsEverything(EchoSettings(), _context())
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        TestChatOnlyEcho().test_tools_unsupported(llm, _tenant(llm))


class _DropsToolCalls(EchoLLM):
    """Sends the tool results back without the assistant's calls they answer."""

    def chat(self, request: ChatRequest) -> ChatResponse:
        messages = [m.model_copy(update={"tool_calls": []}) for m in request.messages]
        return super().chat(request.model_copy(update={"messages": messages}))


class _LosesToolCallIds(EchoScript):
    """A wire that claims to carry tool call ids but sends none back."""

    def last_request(self) -> SentRequest:
        sent = super().last_request()
        return dataclasses.replace(
            sent,
            tool_calls=[(None, name, args) for _, name, args in sent.tool_calls],
            tool_results=[(None, text) for _, text in sent.tool_results],
        )


class _NeverClosesStreams(EchoLLM):
    """Hands out its stream as a bare iterator, closing it early cannot reach the source,
    and keeps the source (as a provider keeping its last response would)."""

    held: ClassVar[list[Iterator[StreamEvent]]] = []

    def stream(self, request: ChatRequest) -> Iterator[StreamEvent]:
        events = super().stream(request)
        self.held.append(events)
        return iter(lambda: next(events, None), None)  # type: ignore[arg-type]


def test_suite_detects_tool_calls_not_sent_back() -> None:
    llm = _DropsToolCalls(EchoSettings(), _context())
    with pytest.raises(AssertionError):
        TestEcho().test_tool_results_are_sent_back(llm, _tenant(llm), EchoScript(llm))


def test_suite_detects_tool_call_ids_not_sent_back() -> None:
    llm = EchoLLM(EchoSettings(), _context())
    with pytest.raises(AssertionError):
        TestEcho().test_tool_results_are_sent_back(llm, _tenant(llm), _LosesToolCallIds(llm))
    # The same case passes with the ids sent back.
    llm = EchoLLM(EchoSettings(), _context())
    TestEcho().test_tool_results_are_sent_back(llm, _tenant(llm), EchoScript(llm))


def test_suite_detects_a_stream_left_open() -> None:
    llm = _NeverClosesStreams(EchoSettings(), _context())
    with pytest.raises(AssertionError, match="must close the provider's response"):
        TestEcho().test_stream_closed_early_releases(llm, _tenant(llm), EchoScript(llm))
    _NeverClosesStreams.held.clear()
    llm = EchoLLM(EchoSettings(), _context())
    TestEcho().test_stream_closed_early_releases(llm, _tenant(llm), EchoScript(llm))


def test_a_script_that_serves_no_tracked_stream_is_told_so() -> None:
    class Untracked(LLMScript):
        provider = "example"
        reply = reply_tool_call = fail = interrupt_stream = raw_finish = last_request = (
            EchoScript.reply
        )

    with pytest.raises(AssertionError, match=r"LLMScript\.streamed\(\)"):
        Untracked().unclosed_streams()
