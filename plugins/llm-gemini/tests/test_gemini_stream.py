"""Streaming with the gemini provider: ``streamGenerateContent?alt=sse`` chunks in,
tenantkit events out.

Each chunk is a whole GenerateContentResponse:
https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from tenantkit import ChatRequest, Message, RetryPolicy, TenantLLM, Usage
from tenantkit import errors as e
from tenantkit.llm import (
    FinishEvent,
    StartEvent,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
)
from tenantkit_llm_gemini import GeminiLLM

HELLO = ChatRequest(messages=[Message(role="user", content="Hello")])
RID = "pn9NaNu6DPeumtkP2qXqkAg"


def _tenant(gemini: GeminiLLM, sleeps: list[float] | None = None) -> TenantLLM:
    retry = RetryPolicy(sleep=sleeps.append) if sleeps is not None else RetryPolicy()
    return TenantLLM(
        gemini,
        tenant_id="acme",
        provider="gemini",
        capabilities=frozenset(gemini.capabilities),
        retry=retry,
    )


def test_text_stream_takes_the_last_usage(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    route = api.post(wire.stream_path).mock(return_value=wire.stream("stream_text.sse"))
    events = list(gemini.stream(HELLO))
    assert events == [
        StartEvent(id=RID, model="gemini-2.5-flash", request_id=RID),
        TextDelta(text="The"),
        TextDelta(text=" quick brown fox"),
        TextDelta(text=" jumps over the lazy dog."),
        UsageEvent(
            usage=Usage(
                input_tokens=1210, output_tokens=10 + 24, cached_tokens=1024, reasoning_tokens=24
            )
        ),
        FinishEvent(reason="stop", raw_reason="STOP"),
    ]
    request = route.calls[0].request
    assert request.url.params["alt"] == "sse"
    assert request.headers["accept"] == "text/event-stream"


def test_function_calls_arrive_whole_in_a_chunk(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    api.post(wire.stream_path).mock(return_value=wire.stream("stream_function_call.sse"))
    stream = _tenant(gemini).stream(HELLO)
    deltas = [event for event in stream if isinstance(event, ToolCallDelta)]
    assert [(d.index, d.name) for d in deltas] == [(0, "check_flight"), (1, "check_flight")]
    reply = stream.response
    assert reply.text == "Let me check both flights."
    assert (reply.finish_reason, reply.raw_finish_reason) == ("tool_calls", "STOP")
    first, second = reply.tool_calls
    assert first.id == "8f2b1c3d#CiUBjz1rX6Xk9n0w4gB7sVqXsY2vQ0tF8m1ZcH3aJpL2eR5uN7oD"
    assert first.arguments == {"flight": "AA100"}
    assert (second.id, second.arguments) == ("a1c4e9f0", {"flight": "UA25"})
    assert reply.usage.reasoning_tokens == 64


def test_thought_summaries_are_not_text(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    api.post(wire.stream_path).mock(return_value=wire.stream("stream_thoughts.sse"))
    reply = _tenant(gemini).stream(HELLO).response
    assert reply.text == "Forty-two."
    assert reply.usage == Usage(
        input_tokens=12, output_tokens=83, cached_tokens=0, reasoning_tokens=80
    )


def test_an_error_chunk_after_text_interrupts_with_the_partial_text(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    api.post(wire.stream_path).mock(return_value=wire.stream("stream_error_midway.sse"))
    with pytest.raises(e.StreamInterrupted) as info:
        list(_tenant(gemini, []).stream(HELLO))
    assert info.value.partial_text == "Once upon a time"
    assert info.value.code == "UNAVAILABLE"
    assert "overloaded" in info.value.message
    assert info.value.request_id == RID


def test_an_error_chunk_before_content_is_raised_plainly_and_retried(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    overloaded = b'data: {"error": {"code": 503, "message": "The model is overloaded.", '
    overloaded += b'"status": "UNAVAILABLE"}}\n\n'
    route = api.post(wire.stream_path).respond(200, content=overloaded)
    with pytest.raises(e.ProviderUnavailable) as info:
        list(gemini.stream(HELLO))
    assert info.value.status is None  # the HTTP status was 200
    assert info.value.code == "UNAVAILABLE"
    route.side_effect = [httpx.Response(200, content=overloaded), wire.stream("stream_text.sse")]
    sleeps: list[float] = []
    reply = _tenant(gemini, sleeps).stream(HELLO).response
    assert reply.text == "The quick brown fox jumps over the lazy dog."
    assert len(sleeps) == 1


def test_a_blocked_prompt_fails_before_any_event(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    route = api.post(wire.stream_path).mock(return_value=wire.stream("stream_blocked.sse"))
    with pytest.raises(e.ContentFiltered) as info:
        _tenant(gemini, []).stream(HELLO)
    assert info.value.code == "PROHIBITED_CONTENT"
    assert route.call_count == 1


def test_safety_stop_midway_is_a_content_filter_finish(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    api.post(wire.stream_path).mock(return_value=wire.stream("stream_safety_midway.sse"))
    reply = _tenant(gemini).stream(HELLO).response
    assert reply.text == "Here is how"
    assert (reply.finish_reason, reply.raw_finish_reason) == ("content_filter", "SAFETY")


def test_a_stream_without_a_finish_reason_is_interrupted(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    whole = wire.sse("stream_text.sse")
    cut = whole[: whole.rindex(b"data: ")]
    api.post(wire.stream_path).respond(200, content=cut)
    with pytest.raises(e.StreamInterrupted) as info:
        list(_tenant(gemini, []).stream(HELLO))
    assert info.value.partial_text == "The quick brown fox"


def test_a_rate_limit_before_the_stream_carries_retry_info(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    api.post(wire.stream_path).mock(return_value=wire.response("error_rate_limit.json"))
    with pytest.raises(e.RateLimited) as info:
        list(gemini.stream(HELLO))
    assert info.value.retry_after == 37
    assert info.value.code == "RESOURCE_EXHAUSTED"


def test_deltas_reach_the_consumer_before_the_stream_ends(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    whole = wire.sse("stream_text.sse")
    split = whole.index(b"data: ", whole.index(b'"text":"The"'))  # the second chunk
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

    api.post(wire.stream_path).respond(
        200, headers={"content-type": "text/event-stream"}, stream=Gated()
    )
    seen: list[StreamEvent] = []
    for event in _tenant(gemini).stream(HELLO):
        if isinstance(event, TextDelta) and not consumer_saw_first_delta.is_set():
            log.append(f"consumer got {event.text!r}")
            consumer_saw_first_delta.set()
        seen.append(event)
    assert log == ["consumer got 'The'", "released", "tail sent"]
    assert isinstance(seen[-1], FinishEvent)
