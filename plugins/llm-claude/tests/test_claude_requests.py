"""What the claude provider sends: the Messages API request body and headers.

Request format: https://platform.claude.com/docs/en/api/messages; tool use:
https://platform.claude.com/docs/en/agents-and-tools/tool-use/implement-tool-use; images:
https://platform.claude.com/docs/en/build-with-claude/vision; structured outputs:
https://platform.claude.com/docs/en/build-with-claude/structured-outputs.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import respx

from tenantkit import ChatRequest, ImagePart, Message, TextPart, Tool, ToolCall
from tenantkit.errors import InvalidRequest
from tenantkit.llm import NamedToolChoice, ResponseFormat
from tenantkit.retry import NO_RETRY
from tenantkit.scoped import TenantLLM
from tenantkit_llm_claude import ClaudeLLM, ClaudeSettings

WEATHER = Tool(
    name="get_weather",
    description="Get the current weather in a given location",
    parameters={
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
)


def _send(claude: ClaudeLLM, api: respx.MockRouter, wire: Any, **fields: Any) -> dict[str, Any]:
    route = api.post("/v1/messages").mock(return_value=wire.response("message_text.json"))
    claude.chat(ChatRequest(**fields))
    body: dict[str, Any] = wire.sent(route)
    return body


def test_headers_carry_the_key_and_the_pinned_version(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any, api_key: str
) -> None:
    route = api.post("/v1/messages").mock(return_value=wire.response("message_text.json"))
    claude.chat(ChatRequest(messages=[Message(role="user", content="Hello")]))
    headers = route.calls[0].request.headers
    assert headers["x-api-key"] == api_key
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["content-type"] == "application/json"
    assert "authorization" not in headers


def test_a_tenant_pins_another_api_version(api: respx.MockRouter, wire: Any) -> None:
    settings = ClaudeSettings(
        api_key="k",
        model="m",
        base_url="https://api.anthropic.test",
        anthropic_version="2024-01-01",
    )
    route = api.post("/v1/messages").mock(return_value=wire.response("message_text.json"))
    llm = ClaudeLLM(settings)
    llm.chat(ChatRequest(messages=[Message(role="user", content="Hi")]))
    llm.close()
    assert route.calls[0].request.headers["anthropic-version"] == "2024-01-01"


def test_system_is_a_top_level_field_and_max_tokens_defaults_from_settings(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any
) -> None:
    body = _send(
        claude,
        api,
        wire,
        messages=[
            Message(role="system", content="You are terse."),
            Message(role="system", content="Answer in English."),
            Message(role="user", content="Hello"),
            Message(role="assistant", content="Hi."),
            Message(role="user", content="How are you?"),
        ],
    )
    assert body == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": "You are terse.\n\nAnswer in English.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Hello"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Hi."}]},
            {"role": "user", "content": [{"type": "text", "text": "How are you?"}]},
        ],
    }


def test_model_max_tokens_temperature_and_stop_per_request(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any
) -> None:
    body = _send(
        claude,
        api,
        wire,
        messages=[Message(role="user", content="Count")],
        model="claude-haiku-4-5",
        max_tokens=50,
        temperature=0.2,
        stop=["\n\nHuman:", "END"],
    )
    assert body["model"] == "claude-haiku-4-5"
    assert body["max_tokens"] == 50
    assert body["temperature"] == 0.2
    assert body["stop_sequences"] == ["\n\nHuman:", "END"]
    assert "stream" not in body


def test_images_as_base64_url_and_data_url(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any
) -> None:
    png = b"\x89PNG\r\n\x1a\n-not-really-a-png"
    encoded = base64.b64encode(png).decode()
    body = _send(
        claude,
        api,
        wire,
        messages=[
            Message(
                role="user",
                content=[
                    ImagePart(data=png, media_type="image/png"),
                    ImagePart(url="https://upload.wikimedia.org/ant.jpg"),
                    ImagePart(url=f"data:image/webp;base64,{encoded}"),
                    TextPart(text="Describe these images."),
                ],
            )
        ],
    )
    assert body["messages"][0]["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": encoded}},
        {"type": "image", "source": {"type": "url", "url": "https://upload.wikimedia.org/ant.jpg"}},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/webp", "data": encoded},
        },
        {"type": "text", "text": "Describe these images."},
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        (NamedToolChoice(name="get_weather"), {"type": "tool", "name": "get_weather"}),
        (None, None),
    ],
)
def test_tools_and_tool_choice(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any, choice: Any, expected: Any
) -> None:
    body = _send(
        claude,
        api,
        wire,
        messages=[Message(role="user", content="Weather in SF?")],
        tools=[WEATHER],
        tool_choice=choice,
    )
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "Get the current weather in a given location",
            "input_schema": WEATHER.parameters,
        }
    ]
    assert body.get("tool_choice") == expected


def test_tool_calls_and_results_go_back_as_tool_use_and_tool_result_blocks(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any
) -> None:
    body = _send(
        claude,
        api,
        wire,
        tools=[WEATHER],
        messages=[
            Message(role="user", content="Weather in SF and NYC?"),
            Message(
                role="assistant",
                content="Checking both.",
                tool_calls=[
                    ToolCall(id="toolu_1", name="get_weather", arguments={"location": "SF"}),
                    ToolCall(id="toolu_2", name="get_weather", arguments={"location": "NYC"}),
                ],
            ),
            Message(role="tool", tool_call_id="toolu_1", content="15 degrees"),
            Message(role="tool", tool_call_id="toolu_2", content=[TextPart(text="20 degrees")]),
            Message(role="user", content="Which is warmer?"),
        ],
    )
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in SF and NYC?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking both."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"location": "SF"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_2",
                    "name": "get_weather",
                    "input": {"location": "NYC"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "15 degrees"},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": [{"type": "text", "text": "20 degrees"}],
                },
                {"type": "text", "text": "Which is warmer?"},
            ],
        },
    ]


def test_json_schema_output_uses_output_config(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any
) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "required": ["name"],
        "additionalProperties": False,
    }
    body = _send(
        claude,
        api,
        wire,
        messages=[Message(role="user", content="Extract the name: John Smith")],
        response_format=ResponseFormat(name="contact", json_schema=schema),
    )
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}


@pytest.mark.parametrize(
    ("fields", "field_named"),
    [
        ({"temperature": 1.5}, "temperature"),
        (
            {"messages": [Message(role="tool", content="42")]},
            "messages[0].tool_call_id",
        ),
        (
            {"messages": [Message(role="user", content=[ImagePart(data=b"x")])]},
            "messages[0].content[0].media_type",
        ),
        (
            {"messages": [Message(role="user", content=[ImagePart()])]},
            "messages[0].content[0]",
        ),
        (
            {"messages": [Message(role="user", content=[ImagePart(url="data:image/png,abc")])]},
            "messages[0].content[0].url",
        ),
        ({"messages": [Message(role="system", content="only a system prompt")]}, "messages"),
        ({"messages": [Message(role="user", content="")]}, "messages[0].content"),
    ],
)
def test_bad_requests_name_the_field_and_send_nothing(
    claude: ClaudeLLM, api: respx.MockRouter, fields: dict[str, Any], field_named: str
) -> None:
    route = api.post("/v1/messages")
    request = {"messages": [Message(role="user", content="Hi")], **fields}
    with pytest.raises(InvalidRequest) as info:
        claude.chat(ChatRequest(**request))
    assert info.value.message.startswith(f"{field_named}: ")
    assert info.value.provider == "claude"
    assert not route.called


@pytest.mark.parametrize(
    ("fields", "field_named"),
    [
        ({"tools": [WEATHER], "tool_choice": NamedToolChoice(name="nope")}, "tool_choice.name"),
        ({"tool_choice": "required"}, "tool_choice"),
    ],
)
def test_tool_choice_is_checked_once_by_the_core_and_nothing_is_sent(
    claude: ClaudeLLM, api: respx.MockRouter, fields: dict[str, Any], field_named: str
) -> None:
    route = api.post("/v1/messages")
    tenant = TenantLLM(
        claude,
        tenant_id="acme",
        provider="claude",
        capabilities=frozenset(str(c) for c in claude.capabilities),
        retry=NO_RETRY,
    )
    with pytest.raises(InvalidRequest) as info:
        tenant.chat(ChatRequest(messages=[Message(role="user", content="Hi")], **fields))
    assert info.value.message.startswith(f"{field_named}: ")
    assert not route.called


def test_tool_choice_none_without_tools_sends_no_tool_choice(
    claude: ClaudeLLM, api: respx.MockRouter, wire: Any
) -> None:
    body = _send(
        claude, api, wire, messages=[Message(role="user", content="Hi")], tool_choice="none"
    )
    assert "tool_choice" not in body
    assert "toolConfig" not in body
