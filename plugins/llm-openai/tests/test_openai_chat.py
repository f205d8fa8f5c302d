"""``openai``: the chat completions request body and the response object."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
import respx

from tenantkit import ChatRequest, Message, ToolCall
from tenantkit.errors import InvalidRequest, ProviderError
from tenantkit.llm import ImagePart, NamedToolChoice, ResponseFormat, TextPart, Tool
from tenantkit_llm_openai import OpenAILLM, OpenAISettings

CHAT = "https://api.openai.com/v1/chat/completions"


def _body(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


WEATHER = Tool(
    name="get_weather",
    description="Current weather for a place",
    parameters={
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
        "additionalProperties": False,
    },
)


def test_request_carries_every_option(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    route = api.post(CHAT).mock(return_value=wire.response("openai/chat_text.json"))
    png = b"\x89PNG\r\n\x1a\nfake"
    request = ChatRequest(
        messages=[
            Message(role="system", content="You are terse."),
            Message(
                role="user",
                content=[
                    TextPart(text="What is in these images?"),
                    ImagePart(url="https://example.com/cat.jpg"),
                    ImagePart(data=png, media_type="image/png"),
                ],
            ),
            Message(
                role="assistant",
                tool_calls=[
                    ToolCall(id="call_1", name="get_weather", arguments={"location": "Paris"})
                ],
            ),
            Message(role="tool", tool_call_id="call_1", content='{"temp_c": 21}'),
            Message(role="assistant", content="It is 21 °C."),
            Message(role="user", content="And tomorrow?"),
        ],
        tools=[WEATHER],
        tool_choice="required",
        max_tokens=256,
        temperature=0.2,
        stop=["\n\n", "END"],
    )
    openai_llm.chat(request)
    sent = route.calls.last.request
    assert sent.headers["authorization"] == "Bearer sk-plant-TOPSECRET-0123456789"
    assert sent.headers["openai-organization"] == "org-acme"
    assert "openai-project" not in sent.headers
    assert _body(route) == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in these images?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                    {
                        "type": "image_url",
                        "image_url": {
                            "url": "data:image/png;base64," + base64.b64encode(png).decode()
                        },
                    },
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 21}'},
            {"role": "assistant", "content": "It is 21 °C."},
            {"role": "user", "content": "And tomorrow?"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Current weather for a place",
                    "parameters": WEATHER.parameters,
                },
            }
        ],
        "tool_choice": "required",
        "max_completion_tokens": 256,
        "temperature": 0.2,
        "stop": ["\n\n", "END"],
    }


def test_named_tool_choice_and_json_schema(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    route = api.post(CHAT).mock(return_value=wire.response("openai/chat_json_schema.json"))
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "date": {"type": "string"},
            "participants": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["name", "date", "participants"],
        "additionalProperties": False,
    }
    reply = openai_llm.chat(
        ChatRequest(
            messages=[
                Message(role="user", content="Alice and Bob go to a science fair on Friday.")
            ],
            tools=[WEATHER],
            tool_choice=NamedToolChoice(name="get_weather"),
            response_format=ResponseFormat(name="calendar_event", json_schema=schema),
        )
    )
    body = _body(route)
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "calendar_event", "schema": schema, "strict": True},
    }
    assert json.loads(reply.text) == {
        "name": "Science fair",
        "date": "Friday",
        "participants": ["Alice", "Bob"],
    }


def test_response_text_usage_and_request_id(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    api.post(CHAT).mock(return_value=wire.response("openai/chat_text.json"))
    reply = openai_llm.chat(ChatRequest(messages=[Message(role="user", content="Hello")]))
    assert reply.text == "Hello! How can I assist you today?"
    assert reply.finish_reason == "stop"
    assert reply.raw_finish_reason == "stop"
    assert reply.id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    assert reply.model == "o4-mini-2025-04-16"
    assert reply.provider == "openai"
    assert reply.request_id == "req_7d1f0c3b5a9e4e0f8c2d6b1a3e5f7a9c"
    assert reply.usage.input_tokens == 1117
    assert reply.usage.output_tokens == 110
    assert reply.usage.cached_tokens == 1024
    assert reply.usage.reasoning_tokens == 64


def test_length_finish(api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM) -> None:
    api.post(CHAT).mock(return_value=wire.response("openai/chat_length.json"))
    reply = openai_llm.chat(
        ChatRequest(messages=[Message(role="user", content="A story")], max_tokens=8)
    )
    assert (reply.finish_reason, reply.raw_finish_reason) == ("length", "length")
    assert reply.text == "Once upon a time, in a"


def test_tool_calls_are_decoded(api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM) -> None:
    api.post(CHAT).mock(return_value=wire.response("openai/chat_tool_calls.json"))
    reply = openai_llm.chat(
        ChatRequest(
            messages=[Message(role="user", content="Weather in Paris and Bogotá?")],
            tools=[WEATHER],
        )
    )
    assert reply.finish_reason == "tool_calls"
    assert reply.text == ""
    assert reply.tool_calls == [
        ToolCall(id="call_12345xyz", name="get_weather", arguments={"location": "Paris, France"}),
        ToolCall(
            id="call_67890abc", name="get_weather", arguments={"location": "Bogotá, Colombia"}
        ),
    ]


def test_refusal_is_a_content_filter_finish(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    api.post(CHAT).mock(return_value=wire.response("openai/chat_refusal.json"))
    reply = openai_llm.chat(ChatRequest(messages=[Message(role="user", content="...")]))
    assert reply.finish_reason == "content_filter"
    assert reply.raw_finish_reason == "stop"
    assert reply.text == "I'm sorry, I cannot assist with that request."


def test_model_override_per_request(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    route = api.post(CHAT).mock(return_value=wire.response("openai/chat_text.json"))
    openai_llm.chat(ChatRequest(messages=[Message(role="user", content="hi")]))
    assert _body(route)["model"] == "gpt-4o-mini"
    openai_llm.chat(ChatRequest(messages=[Message(role="user", content="hi")], model="o4-mini"))
    assert _body(route)["model"] == "o4-mini"


def test_compatible_server_without_key(api: respx.MockRouter, wire: Any) -> None:
    route = api.post("http://127.0.0.1:11434/v1/chat/completions").mock(
        return_value=wire.response("openai/chat_text.json")
    )
    llm = OpenAILLM(
        OpenAISettings(
            base_url="http://127.0.0.1:11434/v1/",
            model="llama3.1:8b",
            max_tokens_field="max_tokens",
            project="proj_1",
        )
    )
    try:
        llm.chat(ChatRequest(messages=[Message(role="user", content="hi")], max_tokens=5))
    finally:
        llm.close()
    sent = route.calls.last.request
    assert "authorization" not in sent.headers
    assert sent.headers["openai-project"] == "proj_1"
    assert _body(route)["max_tokens"] == 5
    assert "max_completion_tokens" not in _body(route)


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (Message(role="tool", content="42"), "messages[0].tool_call_id"),
        (
            Message(role="user", content=[ImagePart(data=b"\x89PNG")]),
            "messages[0].content[0].media_type",
        ),
        (Message(role="user", content=[ImagePart()]), "messages[0].content[0]"),
        (
            Message(role="system", content=[ImagePart(url="https://example.com/a.png")]),
            "messages[0]",
        ),
    ],
)
def test_bad_messages_name_the_field(
    api: respx.MockRouter, openai_llm: OpenAILLM, message: Message, field: str
) -> None:
    route = api.post(CHAT)
    with pytest.raises(InvalidRequest) as caught:
        openai_llm.chat(ChatRequest(messages=[message]))
    assert caught.value.message.startswith(field)
    assert not route.called


def test_arguments_that_are_not_json_are_an_error(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    body = wire.body("openai/chat_tool_calls.json")
    body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = '{"location": '
    api.post(CHAT).mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(ProviderError, match="tool call 0"):
        openai_llm.chat(ChatRequest(messages=[Message(role="user", content="hi")]))


def test_body_that_is_not_json(api: respx.MockRouter, openai_llm: OpenAILLM) -> None:
    api.post(CHAT).mock(return_value=httpx.Response(200, text="<html>gateway</html>"))
    with pytest.raises(ProviderError, match="malformed body") as caught:
        openai_llm.chat(ChatRequest(messages=[Message(role="user", content="hi")]))
    assert caught.value.retryable
