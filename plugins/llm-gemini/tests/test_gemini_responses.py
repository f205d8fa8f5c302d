"""What the gemini provider makes of ``GenerateContentResponse`` bodies, and image output.

Responses: https://ai.google.dev/api/generate-content; images:
https://ai.google.dev/gemini-api/docs/image-generation.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import respx

from tenantkit import ChatRequest, Message, Usage
from tenantkit import errors as e
from tenantkit.llm import ImageRequest, LLMCapability
from tenantkit_llm_gemini import GeminiLLM, GeminiSettings

HELLO = ChatRequest(messages=[Message(role="user", content="Hello")])


def test_text_reply_with_cached_and_thinking_tokens(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    api.post(wire.generate).mock(return_value=wire.response("generate_text.json"))
    reply = gemini.chat(HELLO)
    assert reply.text == "AI learns patterns from data to make predictions or decisions."
    assert (reply.finish_reason, reply.raw_finish_reason) == ("stop", "STOP")
    assert reply.model == "gemini-2.5-flash"
    assert reply.id == reply.request_id == "bn5NaK7nHo2JmNAP5Z7ZmQY"
    assert reply.provider == "gemini"
    # Thoughts are output tokens, counted as reasoning; cached tokens are part of the prompt.
    assert reply.usage == Usage(
        input_tokens=1210, output_tokens=11 + 353, cached_tokens=1024, reasoning_tokens=353
    )


def test_function_calls_keep_ids_and_thought_signatures(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    api.post(wire.generate).mock(return_value=wire.response("generate_function_call.json"))
    reply = gemini.chat(HELLO)
    # Gemini says STOP after function calls; the core says tool_calls.
    assert (reply.finish_reason, reply.raw_finish_reason) == ("tool_calls", "STOP")
    first, second = reply.tool_calls
    assert first.id == "8f2b1c3d#CiUBjz1rX6Xk9n0w4gB7sVqXsY2vQ0tF8m1ZcH3aJpL2eR5uN7oD"
    assert (first.name, first.arguments) == ("check_flight", {"flight": "AA100"})
    assert second.id == "a1c4e9f0"
    assert second.arguments == {"flight": "UA25"}


def test_a_blocked_prompt_is_content_filtered(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    api.post(wire.generate).mock(return_value=wire.response("generate_blocked_prompt.json"))
    with pytest.raises(e.ContentFiltered) as info:
        gemini.chat(HELLO)
    assert info.value.code == "SAFETY"
    assert info.value.request_id == "BlKd7mPrompt0FeedBack1x"
    assert not info.value.retryable


def test_a_blocked_answer_finishes_with_content_filter(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    api.post(wire.generate).mock(return_value=wire.response("generate_safety.json"))
    reply = gemini.chat(HELLO)
    assert (reply.finish_reason, reply.raw_finish_reason) == ("content_filter", "SAFETY")
    assert reply.text == ""


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"),
        ("LANGUAGE", "other"),
        ("MALFORMED_FUNCTION_CALL", "other"),
        ("OTHER", "other"),
        ("FINISH_REASON_UNSPECIFIED", "other"),
    ],
)
def test_finish_reasons_are_normalized_and_kept(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any, raw: str, normalized: str
) -> None:
    body = wire.body("generate_text.json")["body"]
    body["candidates"][0]["finishReason"] = raw
    api.post(wire.generate).respond(200, json=body)
    reply = gemini.chat(HELLO)
    assert (reply.finish_reason, reply.raw_finish_reason) == (normalized, raw)


def test_json_reply(gemini: GeminiLLM, api: respx.MockRouter, wire: Any) -> None:
    api.post(wire.generate).mock(return_value=wire.response("generate_json.json"))
    assert json.loads(gemini.chat(HELLO).text)["prep_time_minutes"] == 15


def test_image_generation_returns_bytes(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    assert LLMCapability.IMAGE_GENERATION in gemini.capabilities
    route = api.post(wire.generate).mock(return_value=wire.response("generate_image.json"))
    result = gemini.generate_image(ImageRequest(prompt="A nano banana dish", size="1536x1024"))
    recorded = wire.body("generate_image.json")["body"]["candidates"][0]["content"]["parts"][1]
    [image] = result.images
    assert image.data == base64.b64decode(recorded["inlineData"]["data"])
    assert image.data.startswith(b"\x89PNG")
    assert image.media_type == "image/png"
    assert result.request_id == "ImAgE0GeneraTioN0nano1"
    assert result.usage.output_tokens == 1300
    assert wire.sent(route) == {
        "contents": [{"role": "user", "parts": [{"text": "A nano banana dish"}]}],
        "generationConfig": {
            "responseModalities": ["TEXT", "IMAGE"],
            "imageConfig": {"aspectRatio": "3:2"},
        },
    }


@pytest.mark.parametrize(
    ("size", "config"),
    [
        ("1024x1024", {"aspectRatio": "1:1"}),
        ("1920x1080", {"aspectRatio": "16:9"}),
        ("9:16", {"aspectRatio": "9:16"}),
        ("2k", {"imageSize": "2K"}),
    ],
)
def test_image_sizes(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any, size: str, config: dict[str, str]
) -> None:
    route = api.post(wire.generate).mock(return_value=wire.response("generate_image.json"))
    gemini.generate_image(ImageRequest(prompt="p", size=size))
    assert wire.sent(route)["generationConfig"]["imageConfig"] == config


def test_image_size_gemini_cannot_make_is_refused(gemini: GeminiLLM, api: respx.MockRouter) -> None:
    route = api.route()
    with pytest.raises(e.InvalidRequest) as info:
        gemini.generate_image(ImageRequest(prompt="p", size="1000x7"))
    assert info.value.message.startswith("size: ")
    assert not route.called


def test_n_images_and_the_image_model_setting(api: respx.MockRouter, wire: Any) -> None:
    llm = GeminiLLM(
        GeminiSettings(
            api_key="k",
            model="gemini-2.5-flash",
            image_model="gemini-2.5-flash-image",
            base_url="https://generativelanguage.googleapis.test",
        )
    )
    route = api.post("/v1beta/models/gemini-2.5-flash-image:generateContent").mock(
        return_value=wire.response("generate_image.json")
    )
    result = llm.generate_image(ImageRequest(prompt="two bananas", n=2))
    llm.close()
    assert route.call_count == 2
    assert len(result.images) == 2
    assert result.model == "gemini-2.5-flash-image"
    assert result.usage.input_tokens == 26


def test_an_image_refused_for_safety_is_content_filtered(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    api.post(wire.generate).mock(return_value=wire.response("generate_image_refused.json"))
    with pytest.raises(e.ContentFiltered) as info:
        gemini.generate_image(ImageRequest(prompt="p"))
    assert info.value.code == "IMAGE_SAFETY"


def test_a_text_only_answer_to_an_image_request_is_an_error(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    api.post(wire.generate).mock(return_value=wire.response("generate_text.json"))
    with pytest.raises(e.ProviderError) as info:
        gemini.generate_image(ImageRequest(prompt="p"))
    assert "without an image" in info.value.message
    assert not info.value.retryable


@pytest.mark.parametrize(
    "body",
    [
        b"<html>proxy error</html>",
        b"[]",
        b'{"candidates": [{"content": {"parts": [{"functionCall": {"args": {}}}]}}]}',
    ],
)
def test_a_malformed_success_body_is_a_retryable_error(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any, body: bytes
) -> None:
    api.post(wire.generate).respond(200, content=body)
    with pytest.raises(e.ProviderUnavailable) as info:
        gemini.chat(HELLO)
    assert "gemini answered" in info.value.message
    assert "malformed" in info.value.message or "not a JSON object" in info.value.message
    with pytest.raises(e.ProviderError):  # malformed, or without an image
        gemini.generate_image(ImageRequest(prompt="p"))
