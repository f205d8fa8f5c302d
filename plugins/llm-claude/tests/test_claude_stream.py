"""Streaming with the claude provider: server-sent events in, tenantkit events out.

Event flow: https://platform.claude.com/docs/en/build-with-claude/streaming
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from tenantkit import ChatRequest, Message, RetryPolicy, TenantLLM, Usage
from tenantkit.errors import ProviderUnavailable, StreamInterrupted
from tenantkit.llm import (
    FinishEvent,
    StartEvent,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
)
from tenantkit_llm_claude import ClaudeLLM

HELLO = ChatRequest(messages=[Message(role="user", content="Hello")])


def _tenant(claude: ClaudeLLM, sleeps: list[float] | None = None) -> TenantLLM:
    retry = RetryPolicy(sleep=sleeps.append) if sleeps is not None else RetryPolicy()
    return TenantLLM(
        claude,
        tenant_id="acme",
        provider="claude",
        capabilities=frozenset(claude.capabilities),
        retry=retry,
    )


def test_text_stream_events_in_order(claude: ClaudeLLM, api: respx.MockRouter, wire: Any) -> None:
    route = api.post("/v1/messages").mock(return_value=wire.stream("stream_text.sse"))
    events = list(claude.stream(HELLO))
    assert events == [
        StartEvent(
            id="msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY",
            model="claude-sonnet-4-5-20250929",
            request_id="req_stream_0001",
        ),
        TextDelta(text="Hello"),
        TextDelta(text="!"),
        UsageEvent(usage=Usage(input_tokens=35, output_tokens=15, cached_tokens=10)),
        FinishEvent(reason="stop", raw_reason="end_turn"),
    ]
    request = route.calls[0].request
    assert wire.sent(route)["stream"] is True
    assert request.headers["accept"] == "text/event-stream"


def test_tool_use_stream_assembles_argument_fragments(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any
) -> None:
    api.post("/v1/messages").mock(return_value=wire.stream("stream_tool_use.sse"))
    stream = _tenant(claude).stream(HELLO)
    deltas = [e for e in stream if isinstance(e, ToolCallDelta)]
    # Claude numbers content blocks (the text was block 0); tool calls are numbered apart.
    assert {d.index for d in deltas} == {0}
    assert deltas[0].id == "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
    assert deltas[0].name == "get_weather"
    reply = stream.response
    assert reply.text == "Okay, let's check the weather for San Francisco, CA:"
    assert reply.finish_reason == "tool_calls"
    [call] = reply.tool_calls
    assert call.arguments == {"location": "San Francisco, CA", "unit": "fahrenheit"}
    assert reply.usage.output_tokens == 89
    assert reply.request_id == "req_stream_0001"


def test_tool_input_given_whole_in_the_block_start_is_kept(
    claude: ClaudeLLM, api: respx.MockRouter
) -> None:
    # A variation of the documented tool-use stream: the input arrives whole with
    # content_block_start and no input_json_delta follows.
    sse = (
        'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1",'
        '"model":"claude-sonnet-4-5","usage":{"input_tokens":10,"output_tokens":1}}}\n\n'
        'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
        '"content_block":{"type":"tool_use","id":"toolu_9","name":"lookup",'
        '"input":{"q":"tenantkit"}}}\n\n'
        'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
        'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"tool_use"},'
        '"usage":{"output_tokens":12}}\n\n'
        'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )
    api.post("/v1/messages").respond(200, content=sse.encode())
    reply = _tenant(claude).stream(HELLO).response
    [call] = reply.tool_calls
    assert (call.id, call.name, call.arguments) == ("toolu_9", "lookup", {"q": "tenantkit"})


def test_thinking_blocks_are_not_text(claude: ClaudeLLM, api: respx.MockRouter, wire: Any) -> None:
    api.post("/v1/messages").mock(return_value=wire.stream("stream_thinking.sse"))
    reply = _tenant(claude).stream(HELLO).response
    assert reply.text == "The greatest common divisor of 1071 and 462 is **21**."


def test_refusal_in_a_stream(claude: ClaudeLLM, api: respx.MockRouter, wire: Any) -> None:
    api.post("/v1/messages").mock(return_value=wire.stream("stream_refusal.sse"))
    reply = _tenant(claude).stream(HELLO).response
    assert (reply.finish_reason, reply.raw_finish_reason) == ("content_filter", "refusal")
    assert reply.text == "I'll start"


def test_overloaded_error_event_before_content_is_retried(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any
) -> None:
    route = api.post("/v1/messages").mock(
        side_effect=[wire.stream("stream_error_after_start.sse"), wire.stream("stream_text.sse")]
    )
    with pytest.raises(ProviderUnavailable) as info:
        list(claude.stream(HELLO))
    assert info.value.code == "overloaded_error"
    assert info.value.request_id == "req_stream_0001"
    assert info.value.retryable
    assert "Overloaded" in info.value.message

    route.side_effect = [
        wire.stream("stream_error_after_start.sse"),
        wire.stream("stream_text.sse"),
    ]
    sleeps: list[float] = []
    reply = _tenant(claude, sleeps).stream(HELLO).response
    assert reply.text == "Hello!"
    assert len(sleeps) == 1


def test_error_event_after_content_interrupts_with_the_partial_text(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any
) -> None:
    route = api.post("/v1/messages").mock(return_value=wire.stream("stream_error_midway.sse"))
    stream = _tenant(claude, []).stream(HELLO)
    with pytest.raises(StreamInterrupted) as info:
        list(stream)
    assert info.value.partial_text == "Once upon a time"
    assert info.value.code == "overloaded_error"
    assert info.value.request_id == "req_stream_0001"
    assert route.call_count == 1  # the consumer has the text so far; it decides


def test_a_stream_cut_before_message_stop_is_interrupted(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any
) -> None:
    whole = wire.sse("stream_text.sse").decode()
    cut = whole[: whole.index("event: message_delta")]
    api.post("/v1/messages").respond(200, content=cut.encode())
    stream = _tenant(claude, []).stream(HELLO)
    with pytest.raises(StreamInterrupted) as info:
        list(stream)
    assert info.value.partial_text == "Hello!"


def test_a_connection_reset_midway_is_interrupted(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any
) -> None:
    whole = wire.sse("stream_text.sse")
    head = whole[: whole.index(b"event: content_block_stop")]

    class Reset(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield head
            raise httpx.RemoteProtocolError("peer closed connection without sending complete body")

    api.post("/v1/messages").respond(200, stream=Reset())
    stream = _tenant(claude, []).stream(HELLO)
    with pytest.raises(StreamInterrupted) as info:
        list(stream)
    assert info.value.partial_text == "Hello!"
    assert info.value.provider == "claude"


def test_http_error_before_the_stream_is_raised_and_retried(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any
) -> None:
    api.post("/v1/messages").mock(
        side_effect=[wire.response("error_overloaded.json"), wire.stream("stream_text.sse")]
    )
    sleeps: list[float] = []
    assert _tenant(claude, sleeps).stream(HELLO).response.text == "Hello!"
    assert len(sleeps) == 1


def test_deltas_reach_the_consumer_before_the_stream_ends(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any
) -> None:
    whole = wire.sse("stream_text.sse")
    split = whole.index(b'"text": "!"')
    split = whole.rindex(b"event:", 0, split)  # after the first text delta's blank line
    head, tail = whole[:split], whole[split:]
    consumer_saw_first_delta = threading.Event()
    log: list[str] = []

    class Gated(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield head
            released = consumer_saw_first_delta.wait(timeout=10)
            log.append("released" if released else "timed out")
            log.append("tail sent")
            yield tail

    api.post("/v1/messages").respond(
        200, headers={"content-type": "text/event-stream"}, stream=Gated()
    )
    seen: list[StreamEvent] = []
    for event in _tenant(claude).stream(HELLO):
        if isinstance(event, TextDelta) and not consumer_saw_first_delta.is_set():
            log.append(f"consumer got {event.text!r}")
            consumer_saw_first_delta.set()
        seen.append(event)
    assert log == ["consumer got 'Hello'", "released", "tail sent"]
    assert isinstance(seen[-1], FinishEvent)
