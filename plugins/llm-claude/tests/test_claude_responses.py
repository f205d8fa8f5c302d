"""What the claude provider makes of the Messages API's answers (non-streamed)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx

from tenantkit import ChatRequest, Message, Usage
from tenantkit.errors import ProviderUnavailable, Unsupported
from tenantkit.llm import ImageRequest, LLMCapability, ResponseFormat
from tenantkit_llm_claude import ClaudeLLM

HELLO = ChatRequest(messages=[Message(role="user", content="Hello")])


def test_text_reply_with_usage_including_cache_reads_and_writes(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any
) -> None:
    api.post("/v1/messages").mock(return_value=wire.response("message_text.json"))
    reply = claude.chat(HELLO)
    assert reply.text == "Hi! My name is Claude."
    assert reply.finish_reason == "stop"
    assert reply.raw_finish_reason == "end_turn"
    assert reply.id == "msg_013Zva2CMHLNnXjNJJKqJ2EF"
    assert reply.model == "claude-sonnet-4-5-20250929"
    assert reply.provider == "claude"
    assert reply.request_id == "req_018EeWyXxfu5pfWkrYcMdjWG"
    # input_tokens excludes cache reads and writes on the wire; the core's includes them.
    assert reply.usage == Usage(
        input_tokens=2095 + 2051 + 2051, output_tokens=503, cached_tokens=2051
    )


def test_tool_use_reply(claude: ClaudeLLM, api: respx.MockRouter, wire: Any) -> None:
    api.post("/v1/messages").mock(return_value=wire.response("message_tool_use.json"))
    reply = claude.chat(HELLO)
    assert reply.finish_reason == "tool_calls"
    assert reply.raw_finish_reason == "tool_use"
    assert reply.text == "I'll check the current weather in San Francisco for you."
    [call] = reply.tool_calls
    assert call.id == "toolu_01A09q90qw90lq917835lq9"
    assert call.name == "get_weather"
    assert call.arguments == {"location": "San Francisco, CA", "unit": "celsius"}


def test_refusal_is_content_filter(claude: ClaudeLLM, api: respx.MockRouter, wire: Any) -> None:
    api.post("/v1/messages").mock(return_value=wire.response("message_refusal.json"))
    reply = claude.chat(HELLO)
    assert reply.finish_reason == "content_filter"
    assert reply.raw_finish_reason == "refusal"


@pytest.mark.parametrize(
    ("stop_reason", "normalized"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "other"),
        ("a_reason_added_later", "other"),
    ],
)
def test_stop_reasons_are_normalized_and_kept(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any, stop_reason: str, normalized: str
) -> None:
    api.post("/v1/messages").mock(
        return_value=wire.response("message_text.json", stop_reason=stop_reason)
    )
    reply = claude.chat(HELLO)
    assert reply.finish_reason == normalized
    assert reply.raw_finish_reason == stop_reason


def test_structured_output_reply_is_json_text(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any
) -> None:
    api.post("/v1/messages").mock(return_value=wire.response("message_json.json"))
    reply = claude.chat(
        ChatRequest(
            messages=[Message(role="user", content="Extract the contact")],
            response_format=ResponseFormat(json_schema={"type": "object"}),
        )
    )
    assert json.loads(reply.text)["email"] == "john@example.com"


def test_claude_declares_no_image_generation(claude: ClaudeLLM) -> None:
    assert LLMCapability.IMAGE_GENERATION not in claude.capabilities
    with pytest.raises(Unsupported):
        claude.generate_image(ImageRequest(prompt="a cat"))


@pytest.mark.parametrize(
    "body",
    [b"<html>proxy error</html>", b'{"content": [{"type": "tool_use"}]}', b"[]"],
)
def test_a_malformed_success_body_is_a_retryable_error(
    claude: ClaudeLLM, api: respx.MockRouter, body: bytes
) -> None:
    api.post("/v1/messages").respond(200, content=body, headers={"request-id": "req_x"})
    with pytest.raises(ProviderUnavailable) as info:
        claude.chat(HELLO)
    assert info.value.request_id == "req_x"
    assert "malformed" in info.value.message
