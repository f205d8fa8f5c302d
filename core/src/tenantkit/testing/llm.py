"""The LLM conformance suite and the script a provider's tests supply to drive it.

A provider package runs the suite by subclassing :class:`LLMConformance` and supplying
two fixtures: ``llm``, the provider instance, and ``llm_script``, an
:class:`LLMScript` that makes the provider's mocked HTTP API answer as told::

    import pytest, respx
    from tenantkit.testing import LLMConformance

    class TestExample(LLMConformance):
        @pytest.fixture
        def llm(self):
            with respx.mock(base_url="https://api.example.com") as router:
                self.router = router
                yield ExampleLLM(Settings(api_key="sk-planted"), context)

        @pytest.fixture
        def llm_script(self, llm):
            return ExampleScript(self.router)      # an LLMScript

        @pytest.fixture
        def llm_secret(self):
            return "sk-planted"                    # checked absent from every error

The suite reaches the provider through :class:`tenantkit.TenantLLM` (a random tenant
id, no retries) and, for the capability checks, directly too. Sections are gated on
the capabilities the provider declares, both ways: a declared capability must work,
an undeclared one must raise :class:`~tenantkit.errors.Unsupported` from the wrapper
and from the provider itself. Every test carries the ``conformance("llm", section)``
marker, so ``-m conformance`` selects them.
"""

from __future__ import annotations

import abc
import base64
import json
import traceback
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from tenantkit.errors import (
    AuthenticationError,
    ConnectionFailed,
    ContentFiltered,
    ContextWindowExceeded,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
    StreamInterrupted,
    TenantkitError,
    Throttled,
    Timeout,
    Unsupported,
)
from tenantkit.llm import (
    LLM,
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    FinishEvent,
    FinishReason,
    ImagePart,
    ImageRequest,
    LLMCapability,
    Message,
    ResponseFormat,
    StartEvent,
    StreamEvent,
    TextDelta,
    TextPart,
    Tool,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from tenantkit.providers.echo import EchoFailure, EchoLLM, EchoReply, EchoToolCall, word_pieces
from tenantkit.registry import Kind
from tenantkit.retry import NO_RETRY
from tenantkit.scoped import TenantLLM
from tenantkit.testing.settings import SettingsOwnershipConformance

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ERROR_KINDS",
    "KIT_PNG",
    "USAGE_FIELDS",
    "EchoScript",
    "LLMConformance",
    "LLMScript",
    "SentRequest",
]

#: The errors of a provider call the suite asks each script to produce, in turn.
ERROR_KINDS: tuple[type[TenantkitError], ...] = (
    AuthenticationError,
    PermissionDenied,
    NotFound,
    RateLimited,
    Throttled,
    QuotaExceeded,
    ContextWindowExceeded,
    ContentFiltered,
    InvalidRequest,
    ProviderUnavailable,
    Timeout,
    ConnectionFailed,
)

#: Every :class:`~tenantkit.Usage` field.
USAGE_FIELDS: frozenset[str] = frozenset(
    {"input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens"}
)


@dataclass(frozen=True)
class SentRequest:
    """What the provider put on the wire for the last chat request, read back in core terms.

    Attributes:
        model: the model the request named.
        system: the system instructions, as one text.
        messages: ``(role, text)`` of each user and assistant message, in order; tool
            results and system instructions are not in it.
        tool_calls: ``(id, name, arguments)`` of each tool call of the assistant
            messages sent back, arguments decoded; the id is ``None`` when the wire
            format does not carry one (:attr:`LLMScript.tool_call_ids` false).
        tool_results: ``(tool call id, content)`` of each tool result sent back; the id
            is ``None`` when the wire format does not carry one.
        tools: the names of the tools offered.
        images: how many image parts the messages held.
        json_schema: the JSON schema the output was asked to follow, if any.
        max_tokens: the output token limit sent, if any.
        temperature: the temperature sent, if any.
        stop: the stop sequences sent.
    """

    model: str | None = None
    system: str = ""
    messages: Sequence[tuple[str, str]] = ()
    tool_calls: Sequence[tuple[str | None, str, dict[str, Any]]] = ()
    tool_results: Sequence[tuple[str | None, str]] = ()
    tools: Sequence[str] = ()
    images: int = 0
    json_schema: dict[str, Any] | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    stop: Sequence[str] = field(default_factory=list)


class LLMScript(abc.ABC):
    """Tells a provider's mocked API how to answer the next requests.

    Each call queues one answer for the next request the provider makes, in order;
    the answer takes whichever form that request asks for (a whole JSON body, or an
    event stream for a streaming request), exactly as the service would send it.
    Implement it over your HTTP mock (respx routes with a side effect that pops the
    queue) so the provider's real wire code is what the suite exercises.

    Set :attr:`provider` to the provider name. Narrow :attr:`usage_fields` when the
    wire format cannot carry some usage counts (the suite then ignores the others).
    Serve every streamed answer's body with :meth:`streamed`, so the suite can see
    whether the provider closes the response when the caller stops reading.
    """

    provider: str
    """The provider name the errors and responses should carry (``"openai"``...)."""

    usage_fields: ClassVar[frozenset[str]] = USAGE_FIELDS

    embedding_usage: ClassVar[bool] = True
    """Whether the embeddings wire format reports the input tokens."""

    tool_call_ids: ClassVar[bool] = True
    """Whether the wire format carries tool call ids back to the service; only a
    format without them may leave the ids of :class:`SentRequest` ``None``."""

    def streamed(self, body: bytes | Iterable[bytes]) -> httpx.SyncByteStream:
        """The body of a streamed answer, for ``httpx.Response(..., stream=...)``: the
        suite counts the bodies served this way and the ones closed."""
        import httpx

        script = self

        class Tracked(httpx.SyncByteStream):
            def __init__(self) -> None:
                self.closed = False

            def __iter__(self) -> Iterator[bytes]:
                yield from [body] if isinstance(body, bytes) else body

            def close(self) -> None:
                self.closed = True

        tracked = Tracked()
        served: list[Any] = script.__dict__.setdefault("_kit_streams", [])
        served.append(tracked)
        return tracked

    def unclosed_streams(self) -> int:
        """How many streamed answers are still open. The default counts the bodies made
        by :meth:`streamed`; a provider that holds no connection overrides it."""
        served: list[Any] = self.__dict__.get("_kit_streams", [])
        if not served:
            raise AssertionError(
                f"{type(self).__name__} served no stream through LLMScript.streamed(), "
                "so the suite cannot see whether the provider closes its response"
            )
        return sum(not body.closed for body in served)

    @abc.abstractmethod
    def reply(
        self, text: str, *, usage: Usage | None = None, finish: FinishReason = "stop"
    ) -> None:
        """Answer the next request with ``text``, ``usage`` and the wire's own finish
        reason for ``finish`` (the value :meth:`raw_finish` gives)."""

    @abc.abstractmethod
    def reply_tool_call(
        self,
        name: str,
        arguments: dict[str, Any],
        *,
        call_id: str = "call_1",
        usage: Usage | None = None,
    ) -> None:
        """Answer the next request with one call of tool ``name``; the finish reason is
        the wire's reason for ``tool_calls``. Streamed, the arguments should arrive in
        several fragments where the wire format does that."""

    @abc.abstractmethod
    def fail(self, error_kind: type[TenantkitError], *, retry_after: float | None = None) -> bool:
        """Make the next request fail the way the service signals ``error_kind`` (an HTTP
        status and error body, a broken connection, a timeout), with a ``Retry-After``
        when given. Quote the tenant's credential in the error body where the service
        would, so the suite can check it never reaches the error.

        Returns ``False`` (and queues nothing) when the service has no signal for that
        error; the suite then skips the case.
        """

    @abc.abstractmethod
    def interrupt_stream(self, after_text: str) -> None:
        """Make the next request's stream send ``after_text`` (in several pieces) and
        then break, the connection dropping before the stream's end."""

    @abc.abstractmethod
    def raw_finish(self, finish: FinishReason) -> str | None:
        """The wire's finish reason for ``finish``, or ``None`` when it has none."""

    @abc.abstractmethod
    def last_request(self) -> SentRequest:
        """The last chat request the provider sent, decoded from the wire."""

    def image(self, data: bytes, *, media_type: str = "image/png") -> bool:
        """Answer the next image generation request with this image. Return ``False``
        when the mock cannot; the suite then only checks the bytes are an image."""
        return False

    def embeddings(self, vectors: Sequence[Sequence[float]], *, usage: Usage | None = None) -> bool:
        """Answer the next embeddings request with these vectors (one per input), in the
        service's wire format. Return ``False`` when the mock cannot; the suite then
        only checks the shape of what comes back. A provider declaring ``embeddings``
        implements it."""
        return False

    def last_embedding_request(self) -> tuple[list[str], str | None, int | None] | None:
        """``(texts, model, dimensions)`` of the last embeddings request as sent on the
        wire, or ``None`` when the mock cannot tell."""
        return None


# --- the suite ----------------------------------------------------------------------------

#: A 2x2 crimson PNG.
KIT_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR42mO4I2IDRAwQCgAjXgSxnuL+ZgAAAABJRU5ErkJggg=="
)
_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
_WEATHER = Tool(
    name="get_weather",
    description="The weather forecast for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
)
_PERSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
_FINISH_CASES: tuple[FinishReason, ...] = ("stop", "length", "tool_calls", "content_filter")


def _user(text: str) -> list[Message]:
    return [Message(role="user", content=text)]


def _need(llm: LLM, capability: LLMCapability) -> None:
    if capability not in llm.capabilities:
        pytest.skip(f"the provider does not declare {capability.value!r}")


def _lack(llm: LLM, capability: LLMCapability) -> None:
    if capability in llm.capabilities:
        pytest.skip(f"the provider declares {capability.value!r}")


def _assert_clean(error: BaseException, secret: str | None) -> None:
    """The credential appears nowhere a log line or an HTTP error body could show."""
    if not secret:
        return
    texts = [str(error), repr(error), *(str(a) for a in error.args)]
    texts.append("".join(traceback.format_exception(error)))
    if isinstance(error, TenantkitError):
        texts.extend(str(v) for v in (error.message, error.code, error.request_id) if v)
    leaked = [i for i, text in enumerate(texts) if secret in text]
    assert not leaked, f"the credential appears in the text of {type(error).__name__}"


def _assert_usage(actual: Usage, expected: Usage, fields: frozenset[str]) -> None:
    for name in sorted(fields):
        assert getattr(actual, name) == getattr(expected, name), f"usage.{name}"


def _check_order(events: Sequence[StreamEvent]) -> None:
    """Start first if present, deltas next, then usage, and one finish event last."""
    assert events, "the stream yielded no events"
    starts = [i for i, e in enumerate(events) if isinstance(e, StartEvent)]
    assert starts in ([], [0]), f"StartEvent must come once and first, got positions {starts}"
    finishes = [i for i, e in enumerate(events) if isinstance(e, FinishEvent)]
    assert finishes == [len(events) - 1], f"one FinishEvent must come last, got {finishes}"
    closing = next(
        (i for i, e in enumerate(events) if isinstance(e, UsageEvent | FinishEvent)), len(events)
    )
    late = [
        type(e).__name__
        for e in events[closing:]
        if isinstance(e, TextDelta | ToolCallDelta | StartEvent)
    ]
    assert not late, f"deltas arrived after the usage or finish event: {late}"


class LLMConformance(SettingsOwnershipConformance):
    """The conformance suite for :class:`tenantkit.LLM` providers (see the module doc).

    Fixtures a subclass supplies: ``llm`` (the provider), ``llm_script`` (an
    :class:`LLMScript` over the provider's mocked API) and optionally ``llm_secret``
    (the credential the provider was configured with, to check errors for leaks).
    """

    settings_kind: ClassVar[Kind] = "llm"

    @pytest.fixture
    def settings_subject(self, llm: Any) -> Any:
        """The instance whose settings ownership is checked."""
        return llm

    @pytest.fixture
    def llm_secret(self) -> str | None:
        """The provider's credential; ``None`` when it has none."""
        return None

    @pytest.fixture
    def tenant_llm(self, llm: LLM, llm_script: LLMScript) -> TenantLLM:
        """The provider behind the core's tenant-scoped wrapper, without retries."""
        return TenantLLM(
            llm,
            tenant_id=f"conformance-{uuid.uuid4().hex[:12]}",
            provider=llm_script.provider,
            capabilities=frozenset(str(c) for c in llm.capabilities),
            retry=NO_RETRY,
        )

    # --- chat -------------------------------------------------------------------------------

    @pytest.mark.conformance("llm", "chat")
    def test_chat_returns_text(self, tenant_llm: TenantLLM, llm_script: LLMScript) -> None:
        llm_script.reply("Hello from the conformance kit.")
        response = tenant_llm.chat(messages=_user("Say hello."))
        assert isinstance(response, ChatResponse)
        assert response.text == "Hello from the conformance kit."
        assert response.message.role == "assistant"
        assert response.tool_calls == []
        assert response.finish_reason == "stop"
        assert response.provider == llm_script.provider
        assert llm_script.last_request().messages == [("user", "Say hello.")]

    @pytest.mark.conformance("llm", "chat")
    def test_system_prompt_and_turns_are_sent(
        self, tenant_llm: TenantLLM, llm_script: LLMScript
    ) -> None:
        llm_script.reply("Your name is Ada.")
        response = tenant_llm.chat(
            messages=[
                Message(role="system", content="You are terse."),
                Message(role="user", content="My name is Ada."),
                Message(role="assistant", content="Hello Ada."),
                Message(role="user", content=[TextPart(text="What is my name?")]),
            ]
        )
        assert response.text == "Your name is Ada."
        sent = llm_script.last_request()
        assert sent.system == "You are terse."
        assert [m for m in sent.messages if m[1]] == [
            ("user", "My name is Ada."),
            ("assistant", "Hello Ada."),
            ("user", "What is my name?"),
        ]

    @pytest.mark.conformance("llm", "chat")
    def test_request_options_are_sent(self, tenant_llm: TenantLLM, llm_script: LLMScript) -> None:
        llm_script.reply("ok")
        tenant_llm.chat(
            messages=_user("Count to three."),
            model="conformance-model",
            max_tokens=64,
            temperature=0.5,
            stop=["END"],
        )
        sent = llm_script.last_request()
        assert sent.model == "conformance-model"
        assert sent.max_tokens == 64
        assert sent.temperature == 0.5
        assert list(sent.stop) == ["END"]

    @pytest.mark.conformance("llm", "chat")
    def test_usage_is_reported(self, tenant_llm: TenantLLM, llm_script: LLMScript) -> None:
        usage = Usage(input_tokens=120, output_tokens=30, cached_tokens=100, reasoning_tokens=12)
        llm_script.reply("Counted.", usage=usage)
        response = tenant_llm.chat(messages=_user("Count my tokens."))
        _assert_usage(response.usage, usage, llm_script.usage_fields)

    @pytest.mark.conformance("llm", "chat")
    @pytest.mark.parametrize("finish", _FINISH_CASES)
    def test_finish_reason_is_normalized(
        self, llm: LLM, tenant_llm: TenantLLM, llm_script: LLMScript, finish: FinishReason
    ) -> None:
        raw = llm_script.raw_finish(finish)
        if raw is None:
            pytest.skip(f"{llm_script.provider} has no finish reason for {finish!r}")
        if finish == "tool_calls":
            _need(llm, LLMCapability.TOOLS)
            llm_script.reply_tool_call("get_weather", {"city": "Oslo"}, call_id="call_f1")
            response = tenant_llm.chat(messages=_user("Weather in Oslo?"), tools=[_WEATHER])
        else:
            llm_script.reply("A partial answer", finish=finish)
            response = tenant_llm.chat(messages=_user("Tell me a story."))
        assert response.finish_reason == finish
        assert response.raw_finish_reason == raw

    # --- tools --------------------------------------------------------------------------------

    @pytest.mark.conformance("llm", "tools")
    def test_tool_call_arguments_are_decoded(
        self, llm: LLM, tenant_llm: TenantLLM, llm_script: LLMScript
    ) -> None:
        _need(llm, LLMCapability.TOOLS)
        llm_script.reply_tool_call("get_weather", {"city": "Paris", "days": 3}, call_id="call_w1")
        response = tenant_llm.chat(messages=_user("Weather in Paris?"), tools=[_WEATHER])
        assert response.tool_calls == [
            ToolCall(id="call_w1", name="get_weather", arguments={"city": "Paris", "days": 3})
        ]
        assert response.finish_reason == "tool_calls"
        assert list(llm_script.last_request().tools) == ["get_weather"]

    @pytest.mark.conformance("llm", "tools")
    def test_tool_results_are_sent_back(
        self, llm: LLM, tenant_llm: TenantLLM, llm_script: LLMScript
    ) -> None:
        _need(llm, LLMCapability.TOOLS)
        llm_script.reply_tool_call("get_weather", {"city": "Paris"}, call_id="call_w2")
        llm_script.reply("It is sunny in Paris.")
        question = Message(role="user", content="Weather in Paris?")
        first = tenant_llm.chat(messages=[question], tools=[_WEATHER])
        call_id = first.tool_calls[0].id
        result = Message(role="tool", tool_call_id=call_id, content='{"forecast": "sunny"}')
        second = tenant_llm.chat(messages=[question, first.message, result], tools=[_WEATHER])
        assert second.text == "It is sunny in Paris."
        assert second.finish_reason == "stop"
        sent = llm_script.last_request()
        wire_id = "call_w2" if llm_script.tool_call_ids else None
        # The assistant's call goes back with its result, or the service cannot pair them.
        assert list(sent.tool_calls) == [(wire_id, "get_weather", {"city": "Paris"})]
        assert list(sent.tool_results) == [(wire_id, '{"forecast": "sunny"}')]
        assert ("user", "Weather in Paris?") in sent.messages

    @pytest.mark.conformance("llm", "tools")
    def test_tools_unsupported(self, llm: LLM, tenant_llm: TenantLLM) -> None:
        _lack(llm, LLMCapability.TOOLS)
        request = ChatRequest(messages=_user("Weather?"), tools=[_WEATHER])
        with pytest.raises(Unsupported):
            tenant_llm.chat(request)
        with pytest.raises(Unsupported):
            llm.chat(request)

    # --- streaming ----------------------------------------------------------------------------

    @pytest.mark.conformance("llm", "streaming")
    def test_stream_events_assemble(
        self, llm: LLM, tenant_llm: TenantLLM, llm_script: LLMScript
    ) -> None:
        _need(llm, LLMCapability.STREAMING)
        text = "The quick brown fox jumps over the lazy dog."
        usage = Usage(input_tokens=11, output_tokens=9)
        llm_script.reply(text, usage=usage)
        with tenant_llm.stream(messages=_user("Pangram, please.")) as stream:
            events = list(stream)
        _check_order(events)
        deltas = [e.text for e in events if isinstance(e, TextDelta)]
        assert len(deltas) >= 2, "the text should arrive in several deltas"
        assert "".join(deltas) == text
        assert stream.text == text
        response = stream.response
        assert response.text == text
        assert response.finish_reason == "stop"
        assert response.provider == llm_script.provider
        _assert_usage(response.usage, usage, llm_script.usage_fields)
        finish = events[-1]
        assert isinstance(finish, FinishEvent)
        assert finish.raw_reason == llm_script.raw_finish("stop")

    @pytest.mark.conformance("llm", "streaming")
    def test_stream_response_without_iterating(
        self, llm: LLM, tenant_llm: TenantLLM, llm_script: LLMScript
    ) -> None:
        _need(llm, LLMCapability.STREAMING)
        llm_script.reply("Straight to the response.")
        stream = tenant_llm.stream(messages=_user("Hi"))
        assert stream.response.text == "Straight to the response."
        assert stream.response.finish_reason == "stop"

    @pytest.mark.conformance("llm", "streaming")
    def test_stream_tool_call_assembles(
        self, llm: LLM, tenant_llm: TenantLLM, llm_script: LLMScript
    ) -> None:
        _need(llm, LLMCapability.STREAMING)
        _need(llm, LLMCapability.TOOLS)
        arguments = {"city": "Buenos Aires", "days": 5}
        llm_script.reply_tool_call("get_weather", arguments, call_id="call_s1")
        with tenant_llm.stream(messages=_user("Weather?"), tools=[_WEATHER]) as stream:
            events = list(stream)
        _check_order(events)
        pieces = [e for e in events if isinstance(e, ToolCallDelta)]
        assert pieces, "a streamed tool call arrives as ToolCallDelta events"
        assert json.loads("".join(p.arguments for p in pieces)) == arguments
        assert stream.response.tool_calls == [
            ToolCall(id="call_s1", name="get_weather", arguments=arguments)
        ]
        assert stream.response.finish_reason == "tool_calls"

    @pytest.mark.conformance("llm", "streaming")
    def test_stream_interrupted_keeps_partial_text(
        self, llm: LLM, tenant_llm: TenantLLM, llm_script: LLMScript, llm_secret: str | None
    ) -> None:
        _need(llm, LLMCapability.STREAMING)
        llm_script.interrupt_stream("Once upon a time")
        stream = tenant_llm.stream(messages=_user("Tell me a story."))
        with pytest.raises(StreamInterrupted) as caught:
            for _ in stream:
                pass
        assert caught.value.partial_text == "Once upon a time"
        assert caught.value.retryable
        assert caught.value.provider == llm_script.provider
        assert stream.text == "Once upon a time"
        _assert_clean(caught.value, llm_secret)

    @pytest.mark.conformance("llm", "streaming")
    def test_stream_closed_early_releases(
        self, llm: LLM, tenant_llm: TenantLLM, llm_script: LLMScript
    ) -> None:
        _need(llm, LLMCapability.STREAMING)
        llm_script.reply("one two three four five six seven eight")
        llm_script.reply("Still answering.")
        with tenant_llm.stream(messages=_user("Count.")) as stream:
            next(stream)
        assert llm_script.unclosed_streams() == 0, (
            "a stream closed early must close the provider's response (its connection)"
        )
        assert tenant_llm.chat(messages=_user("Again?")).text == "Still answering."

    @pytest.mark.conformance("llm", "streaming")
    def test_streaming_unsupported(self, llm: LLM, tenant_llm: TenantLLM) -> None:
        _lack(llm, LLMCapability.STREAMING)
        with pytest.raises(Unsupported):
            tenant_llm.stream(messages=_user("Hi"))
        with pytest.raises(Unsupported):
            list(llm.stream(ChatRequest(messages=_user("Hi"))))

    # --- errors -------------------------------------------------------------------------------

    @pytest.mark.conformance("llm", "errors")
    @pytest.mark.parametrize("kind", ERROR_KINDS, ids=lambda k: k.__name__)
    def test_error_is_mapped(
        self,
        llm: LLM,
        tenant_llm: TenantLLM,
        llm_script: LLMScript,
        llm_secret: str | None,
        kind: type[TenantkitError],
    ) -> None:
        retry_after = 7.0 if kind is RateLimited else None
        if not llm_script.fail(kind, retry_after=retry_after):
            pytest.skip(f"{llm_script.provider} has no wire signal for {kind.__name__}")
        with pytest.raises(TenantkitError) as caught:
            tenant_llm.chat(messages=_user("Hello?"))
        self._check_error(caught.value, kind, llm_script, llm_secret, retry_after)

        assert llm_script.fail(kind, retry_after=retry_after)
        with pytest.raises(TenantkitError) as raw:
            llm.chat(ChatRequest(messages=_user("Hello?")))
        self._check_error(raw.value, kind, llm_script, llm_secret, retry_after, raw=True)

    @pytest.mark.conformance("llm", "errors")
    @pytest.mark.parametrize("kind", ERROR_KINDS, ids=lambda k: k.__name__)
    def test_stream_error_before_first_event(
        self,
        llm: LLM,
        tenant_llm: TenantLLM,
        llm_script: LLMScript,
        llm_secret: str | None,
        kind: type[TenantkitError],
    ) -> None:
        _need(llm, LLMCapability.STREAMING)
        retry_after = 7.0 if kind is RateLimited else None
        if not llm_script.fail(kind, retry_after=retry_after):
            pytest.skip(f"{llm_script.provider} has no wire signal for {kind.__name__}")
        with pytest.raises(TenantkitError) as caught:
            list(tenant_llm.stream(messages=_user("Hello?")))
        self._check_error(caught.value, kind, llm_script, llm_secret, retry_after)

    @staticmethod
    def _check_error(
        error: TenantkitError,
        kind: type[TenantkitError],
        script: LLMScript,
        secret: str | None,
        retry_after: float | None,
        *,
        raw: bool = False,
    ) -> None:
        assert type(error) is kind, f"expected {kind.__name__}, got {type(error).__name__}"
        assert error.retryable is kind.retryable
        if raw:
            assert error.provider in (None, script.provider)
        else:
            assert error.provider == script.provider
        if retry_after is not None:
            assert error.retry_after == retry_after
        _assert_clean(error, secret)

    # --- capabilities -------------------------------------------------------------------------

    @pytest.mark.conformance("llm", "vision")
    def test_image_input(self, llm: LLM, tenant_llm: TenantLLM, llm_script: LLMScript) -> None:
        _need(llm, LLMCapability.VISION)
        llm_script.reply("A crimson square.")
        content: list[TextPart | ImagePart] = [
            TextPart(text="What is this?"),
            ImagePart(data=KIT_PNG, media_type="image/png"),
        ]
        response = tenant_llm.chat(messages=[Message(role="user", content=content)])
        assert response.text == "A crimson square."
        sent = llm_script.last_request()
        assert sent.images == 1
        assert ("user", "What is this?") in sent.messages

    @pytest.mark.conformance("llm", "vision")
    def test_image_input_unsupported(self, llm: LLM, tenant_llm: TenantLLM) -> None:
        _lack(llm, LLMCapability.VISION)
        content: list[TextPart | ImagePart] = [ImagePart(data=KIT_PNG, media_type="image/png")]
        request = ChatRequest(messages=[Message(role="user", content=content)])
        with pytest.raises(Unsupported):
            tenant_llm.chat(request)
        with pytest.raises(Unsupported):
            llm.chat(request)

    @pytest.mark.conformance("llm", "json_schema")
    def test_json_schema_output(
        self, llm: LLM, tenant_llm: TenantLLM, llm_script: LLMScript
    ) -> None:
        _need(llm, LLMCapability.JSON_SCHEMA)
        person = {"name": "Ada", "age": 36}
        llm_script.reply(json.dumps(person))
        response = tenant_llm.chat(
            messages=_user("Ada is 36. Extract the person."),
            response_format=ResponseFormat(name="person", json_schema=_PERSON_SCHEMA),
        )
        assert json.loads(response.text) == person
        sent = llm_script.last_request()
        assert sent.json_schema is not None, "the schema was not sent"
        assert set(sent.json_schema.get("properties", {})) == {"name", "age"}

    @pytest.mark.conformance("llm", "json_schema")
    def test_json_schema_unsupported(self, llm: LLM, tenant_llm: TenantLLM) -> None:
        _lack(llm, LLMCapability.JSON_SCHEMA)
        request = ChatRequest(
            messages=_user("Extract."), response_format=ResponseFormat(json_schema=_PERSON_SCHEMA)
        )
        with pytest.raises(Unsupported):
            tenant_llm.chat(request)
        with pytest.raises(Unsupported):
            llm.chat(request)

    @pytest.mark.conformance("llm", "image_generation")
    def test_image_generation(self, llm: LLM, tenant_llm: TenantLLM, llm_script: LLMScript) -> None:
        _need(llm, LLMCapability.IMAGE_GENERATION)
        scripted = llm_script.image(KIT_PNG, media_type="image/png")
        response = tenant_llm.generate_image(prompt="A crimson square.")
        assert response.images, "no image came back"
        image = response.images[0]
        if scripted:
            assert image.data == KIT_PNG
            assert image.media_type == "image/png"
        else:
            assert image.media_type in _MAGIC, f"unexpected media type {image.media_type!r}"
            assert image.data.startswith(_MAGIC[image.media_type])

    @pytest.mark.conformance("llm", "image_generation")
    def test_image_generation_unsupported(self, llm: LLM, tenant_llm: TenantLLM) -> None:
        _lack(llm, LLMCapability.IMAGE_GENERATION)
        with pytest.raises(Unsupported):
            tenant_llm.generate_image(prompt="A square.")
        with pytest.raises(Unsupported):
            llm.generate_image(ImageRequest(prompt="A square."))

    @pytest.mark.conformance("llm", "embeddings")
    def test_embeddings(self, llm: LLM, tenant_llm: TenantLLM, llm_script: LLMScript) -> None:
        _need(llm, LLMCapability.EMBEDDINGS)
        vectors = [[0.25, -0.5, 0.75], [1.0, 0.0, -1.0]]
        scripted = llm_script.embeddings(vectors, usage=Usage(input_tokens=5))
        response = tenant_llm.embed(input=["kit first text", "kit second"], dimensions=3)
        assert len(response.vectors) == 2
        if scripted:
            assert response.vectors == vectors
            if llm_script.embedding_usage:
                assert response.usage.input_tokens == 5
        else:
            assert all(v and all(isinstance(x, float) for x in v) for v in response.vectors)
            assert len({len(v) for v in response.vectors}) == 1
        sent = llm_script.last_embedding_request()
        if sent is not None:
            texts, _, dimensions = sent
            assert texts == ["kit first text", "kit second"]
            assert dimensions == 3

    @pytest.mark.conformance("llm", "embeddings")
    def test_embeddings_error_is_mapped(
        self, llm: LLM, tenant_llm: TenantLLM, llm_script: LLMScript, llm_secret: str | None
    ) -> None:
        _need(llm, LLMCapability.EMBEDDINGS)
        if not llm_script.fail(AuthenticationError):
            pytest.skip(f"{llm_script.provider} has no wire signal for AuthenticationError")
        with pytest.raises(AuthenticationError) as caught:
            tenant_llm.embed(input=["kit text"])
        _assert_clean(caught.value, llm_secret)

    @pytest.mark.conformance("llm", "embeddings")
    def test_embeddings_need_inputs(self, llm: LLM, tenant_llm: TenantLLM) -> None:
        _need(llm, LLMCapability.EMBEDDINGS)
        with pytest.raises(InvalidRequest, match="input"):
            tenant_llm.embed(input=[])

    @pytest.mark.conformance("llm", "embeddings")
    def test_embeddings_unsupported(self, llm: LLM, tenant_llm: TenantLLM) -> None:
        _lack(llm, LLMCapability.EMBEDDINGS)
        with pytest.raises(Unsupported):
            tenant_llm.embed(input=["kit text"])
        with pytest.raises(Unsupported):
            llm.embed(EmbeddingRequest(input=["kit text"]))


# --- the echo provider's script -------------------------------------------------------------


class EchoScript(LLMScript):
    """The :class:`LLMScript` of the embedded ``echo`` provider: it queues echo replies.

    Echo has no wire, so :meth:`last_request` reads the request it received.
    """

    def __init__(self, llm: EchoLLM) -> None:
        self.llm = llm
        self.provider = llm.provider

    def reply(
        self, text: str, *, usage: Usage | None = None, finish: FinishReason = "stop"
    ) -> None:
        self.llm.enqueue(EchoReply(text=text, usage=usage, finish=finish))

    def reply_tool_call(
        self,
        name: str,
        arguments: dict[str, Any],
        *,
        call_id: str = "call_1",
        usage: Usage | None = None,
    ) -> None:
        call = EchoToolCall(name=name, arguments=arguments, id=call_id)
        self.llm.enqueue(EchoReply(tool_calls=(call,), usage=usage))

    def fail(self, error_kind: type[TenantkitError], *, retry_after: float | None = None) -> bool:
        self.llm.enqueue(
            EchoReply(error=EchoFailure(error=error_kind.kind, retry_after=retry_after))
        )
        return True

    def interrupt_stream(self, after_text: str) -> None:
        pieces = len(word_pieces(after_text))
        failure = EchoFailure(error=StreamInterrupted.kind, after=pieces)
        self.llm.enqueue(EchoReply(text=after_text, error=failure))

    def raw_finish(self, finish: FinishReason) -> str | None:
        return finish

    def unclosed_streams(self) -> int:
        return self.llm.open_streams

    def last_request(self) -> SentRequest:
        request = self.llm.last_request
        if request is None:
            raise AssertionError("echo has received no chat request")
        return SentRequest(
            model=request.model or self.llm.settings.model,
            system=request.system,
            messages=[
                (m.role, m.text) for m in request.messages if m.role in ("user", "assistant")
            ],
            tool_calls=[
                (call.id, call.name, call.arguments)
                for m in request.messages
                for call in m.tool_calls
            ],
            tool_results=[(m.tool_call_id, m.text) for m in request.messages if m.role == "tool"],
            tools=[t.name for t in request.tools],
            images=sum(
                isinstance(p, ImagePart)
                for m in request.messages
                if not isinstance(m.content, str)
                for p in m.content
            ),
            json_schema=request.response_format.json_schema if request.response_format else None,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            stop=list(request.stop),
        )

    def image(self, data: bytes, *, media_type: str = "image/png") -> bool:
        self.llm.enqueue(EchoReply(images=(base64.b64encode(data),)))
        return True

    def embeddings(self, vectors: Sequence[Sequence[float]], *, usage: Usage | None = None) -> bool:
        self.llm.enqueue(EchoReply(vectors=tuple(tuple(v) for v in vectors), usage=usage))
        return True
