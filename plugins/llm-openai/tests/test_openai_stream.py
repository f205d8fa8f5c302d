"""``openai``: streamed chat completions, chunk by chunk."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from tenantkit import ChatRequest, ChatStream, Message, TenantLLM, ToolCall
from tenantkit.errors import StreamInterrupted
from tenantkit.llm import FinishEvent, StartEvent, TextDelta, ToolCallDelta, UsageEvent
from tenantkit.retry import NO_RETRY
from tenantkit_llm_openai import OpenAILLM, OpenAISettings

CHAT = "https://api.openai.com/v1/chat/completions"
HELLO = ChatRequest(messages=[Message(role="user", content="Hello")])


def test_text_stream_events_in_order(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    stream = wire.stream("openai/stream_text.sse")
    route = api.post(CHAT).mock(return_value=stream.response())
    events = list(openai_llm.stream(HELLO))
    body = json.loads(route.calls.last.request.content)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert events[0] == StartEvent(
        id="chatcmpl-BQ7aXHfFKJlw3RSxh1oS4aUvfe2Tj",
        model="o4-mini-2025-04-16",
        request_id="req_5f1e2d3c4b5a69788796a5b4c3d2e1f0",
    )
    assert [e.text for e in events if isinstance(e, TextDelta)] == [
        "Hello",
        "!",
        " How",
        " can I",
        " help?",
    ]
    usage, finish = events[-2:]
    assert isinstance(usage, UsageEvent)
    assert usage.usage.model_dump() == {
        "input_tokens": 1210,
        "output_tokens": 148,
        "cached_tokens": 1152,
        "reasoning_tokens": 128,
    }
    assert finish == FinishEvent(reason="stop", raw_reason="stop")


def test_assembled_through_chat_stream(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    api.post(CHAT).mock(return_value=wire.stream("openai/stream_text.sse").response())
    stream = ChatStream(iter(openai_llm.stream(HELLO)), provider="openai")
    reply = stream.response
    assert reply.text == "Hello! How can I help?"
    assert reply.finish_reason == "stop"
    assert reply.request_id == "req_5f1e2d3c4b5a69788796a5b4c3d2e1f0"
    assert reply.usage.reasoning_tokens == 128


def test_usage_chunk_can_be_switched_off(api: respx.MockRouter, wire: Any) -> None:
    stream = wire.stream("openai/stream_text.sse")
    stream.chunks = [c for c in stream.chunks if b'"choices":[]' not in c]
    route = api.post(CHAT).mock(return_value=stream.response())
    llm = OpenAILLM(OpenAISettings(api_key="sk-x", model="gpt-4o-mini", stream_usage=False))
    try:
        events = list(llm.stream(HELLO))
    finally:
        llm.close()
    assert "stream_options" not in json.loads(route.calls.last.request.content)
    assert not any(isinstance(e, UsageEvent) for e in events)
    assert events[-1] == FinishEvent(reason="stop", raw_reason="stop")


def test_tool_call_fragments_are_assembled(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    api.post(CHAT).mock(return_value=wire.stream("openai/stream_tool_calls.sse").response())
    stream = ChatStream(iter(openai_llm.stream(HELLO)), provider="openai")
    deltas = [e for e in stream if isinstance(e, ToolCallDelta)]
    assert len(deltas) == 12
    assert deltas[0] == ToolCallDelta(
        index=0, id="call_DdmO9pD3xa9XTPNJ32zg2hcA", name="get_weather", arguments=""
    )
    assert deltas[1] == ToolCallDelta(index=0, arguments='{"')
    reply = stream.response
    assert reply.finish_reason == "tool_calls"
    assert reply.tool_calls == [
        ToolCall(
            id="call_DdmO9pD3xa9XTPNJ32zg2hcA",
            name="get_weather",
            arguments={"location": "Paris, France"},
        ),
        ToolCall(
            id="call_ABn5Wo9VcXz2vbQ1kfdk4TaM",
            name="get_weather",
            arguments={"location": "Bogotá, Colombia"},
        ),
    ]
    assert reply.usage.input_tokens == 82


def test_whole_tool_calls_without_index(api: respx.MockRouter, wire: Any) -> None:
    url = "http://127.0.0.1:11434/v1/chat/completions"
    api.post(url).mock(return_value=wire.stream("openai/stream_compat_whole_call.sse").response())
    llm = OpenAILLM(
        OpenAISettings(
            base_url="http://127.0.0.1:11434/v1", model="llama3.1:8b", stream_usage=False
        )
    )
    try:
        reply = ChatStream(iter(llm.stream(HELLO)), provider="openai").response
    finally:
        llm.close()
    assert reply.text == "Checking."
    assert reply.tool_calls == [
        ToolCall(id="call_q7x1m2ab", name="get_weather", arguments={"location": "Paris, France"}),
        ToolCall(id="call_r8y2n3cd", name="get_time", arguments={"zone": "Europe/Paris"}),
    ]
    assert reply.usage.total_tokens == 0


def test_first_delta_arrives_before_the_last_chunk_is_sent(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    stream = wire.stream("openai/stream_text.sse").hold_after(1)  # role chunk, then "Hello"
    api.post(CHAT).mock(return_value=stream.response())
    tenant = TenantLLM(
        openai_llm, tenant_id="acme", provider="openai", capabilities=OpenAILLM.capabilities
    )
    with tenant.stream(HELLO) as events:
        for event in events:
            if isinstance(event, TextDelta):
                assert event.text == "Hello"
                served_at_first_delta = stream.served
                stream.gate.set()
                break
        rest = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert served_at_first_delta == 2 < len(stream.chunks)
    assert not stream.gate_timed_out, "the mock had to send more before the first delta arrived"
    assert rest == "! How can I help?"


def test_broken_connection_keeps_the_partial_text(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    stream = wire.stream("openai/stream_text.sse")
    api.post(CHAT).mock(return_value=stream.response(fail_after=4))
    tenant = TenantLLM(
        openai_llm,
        tenant_id="acme",
        provider="openai",
        capabilities=OpenAILLM.capabilities,
        retry=NO_RETRY,
    )
    chat = tenant.stream(HELLO)
    with pytest.raises(StreamInterrupted) as caught:
        for _ in chat:
            pass
    assert caught.value.partial_text == "Hello! How"
    assert caught.value.provider == "openai"
    assert caught.value.request_id == "req_5f1e2d3c4b5a69788796a5b4c3d2e1f0"
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda chunks: chunks[:5], "ended the stream before a finish reason"),
        (lambda chunks: [*chunks[:3], b"data: {not json\n\n", *chunks[3:]], "not JSON"),
        (
            lambda chunks: [
                *chunks[:3],
                b'data: {"error": {"message": "The server had an error", "type": "server_error"}}'
                b"\n\n",
            ],
            "reported an error in the stream: The server had an error",
        ),
    ],
)
def test_damaged_streams_are_interrupted(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM, tamper: Any, message: str
) -> None:
    stream = wire.stream("openai/stream_text.sse")
    stream.chunks = tamper(stream.chunks)
    api.post(CHAT).mock(return_value=stream.response())
    chat = ChatStream(iter(openai_llm.stream(HELLO)), provider="openai")
    with pytest.raises(StreamInterrupted, match=message) as caught:
        for _ in chat:
            pass
    assert caught.value.partial_text.startswith("Hello")


def test_stream_without_done_still_finishes(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    stream = wire.stream("openai/stream_text.sse")
    assert stream.chunks[-1] == b"data: [DONE]\n\n"
    stream.chunks = stream.chunks[:-1]
    api.post(CHAT).mock(return_value=stream.response())
    events = list(openai_llm.stream(HELLO))
    assert isinstance(events[-1], FinishEvent)


def test_errors_before_the_stream_are_typed(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    from tenantkit.errors import ContextWindowExceeded

    api.post(CHAT).mock(return_value=wire.response("openai/error_400_context.json"))
    with pytest.raises(ContextWindowExceeded) as caught:
        next(iter(openai_llm.stream(HELLO)))
    assert caught.value.request_id == "req_400e0000000000000000000000000001"


def test_closing_early_releases_the_connection(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    stream = wire.stream("openai/stream_text.sse")
    closed: list[bool] = []

    class Body(httpx.SyncByteStream):
        def __iter__(self) -> Any:
            yield from stream.chunks

        def close(self) -> None:
            closed.append(True)

    api.post(CHAT).mock(return_value=httpx.Response(200, headers=stream.headers, stream=Body()))
    with ChatStream(iter(openai_llm.stream(HELLO)), provider="openai") as chat:
        next(chat)
    assert closed == [True]


def _without_finish_reason(chunks: list[bytes]) -> list[bytes]:
    """The chunks with every ``finish_reason`` null, as OpenRouter sends them."""
    out = []
    for chunk in chunks:
        if chunk.startswith(b"data: {"):
            data = json.loads(chunk[len(b"data: ") :])
            for choice in data.get("choices") or ():
                choice["finish_reason"] = None
            chunk = b"data: " + json.dumps(data).encode() + b"\n\n"
        out.append(chunk)
    return out


def test_a_stream_that_ends_with_done_but_no_finish_reason_is_whole(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    # OpenRouter: every chunk says finish_reason null, then the usage chunk and [DONE].
    stream = wire.stream("openai/stream_text.sse")
    stream.chunks = _without_finish_reason(stream.chunks)
    assert stream.chunks[-1] == b"data: [DONE]\n\n"
    api.post(CHAT).mock(return_value=stream.response())
    events = list(openai_llm.stream(HELLO))
    assert isinstance(events[-2], UsageEvent)
    assert events[-1] == FinishEvent(reason="other", raw_reason=None)


def test_a_stream_cut_before_done_and_finish_reason_is_interrupted(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    stream = wire.stream("openai/stream_text.sse")
    stream.chunks = _without_finish_reason(stream.chunks)[:-1]
    api.post(CHAT).mock(return_value=stream.response())
    with pytest.raises(StreamInterrupted, match="before a finish reason"):
        list(openai_llm.stream(HELLO))
