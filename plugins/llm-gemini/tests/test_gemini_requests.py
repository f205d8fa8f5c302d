"""What the gemini provider sends: the ``generateContent`` request body, URL and headers.

Request format: https://ai.google.dev/api/generate-content; function calling:
https://ai.google.dev/gemini-api/docs/function-calling; thought signatures:
https://ai.google.dev/gemini-api/docs/thought-signatures; structured output:
https://ai.google.dev/gemini-api/docs/structured-output; images:
https://ai.google.dev/gemini-api/docs/image-understanding.
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
from tenantkit_llm_gemini import GeminiLLM, GeminiSettings

FLIGHT = Tool(
    name="check_flight",
    description="Gets the current status of a flight",
    parameters={
        "type": "object",
        "properties": {"flight": {"type": "string"}},
        "required": ["flight"],
    },
)


def _send(gemini: GeminiLLM, api: respx.MockRouter, wire: Any, **fields: Any) -> dict[str, Any]:
    route = api.post(wire.generate).mock(return_value=wire.response("generate_text.json"))
    gemini.chat(ChatRequest(**fields))
    body: dict[str, Any] = wire.sent(route)
    return body


def test_the_key_goes_in_a_header_never_in_the_url(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any, api_key: str
) -> None:
    route = api.post(wire.generate).mock(return_value=wire.response("generate_text.json"))
    gemini.chat(ChatRequest(messages=[Message(role="user", content="Hello")]))
    request = route.calls[0].request
    assert request.headers["x-goog-api-key"] == api_key
    assert request.headers["x-goog-api-client"].startswith("tenantkit/")
    assert api_key not in str(request.url)
    assert request.url.path == "/v1beta/models/gemini-2.5-flash:generateContent"


def test_system_instruction_roles_and_generation_config(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    body = _send(
        gemini,
        api,
        wire,
        messages=[
            Message(role="system", content="You are a cat. Your name is Neko."),
            Message(role="user", content="Hello there"),
            Message(role="assistant", content="Meow."),
            Message(role="user", content="What is your name?"),
        ],
        max_tokens=200,
        temperature=1.5,
        stop=["END"],
    )
    assert body == {
        "systemInstruction": {"parts": [{"text": "You are a cat. Your name is Neko."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Hello there"}]},
            {"role": "model", "parts": [{"text": "Meow."}]},
            {"role": "user", "parts": [{"text": "What is your name?"}]},
        ],
        "generationConfig": {"maxOutputTokens": 200, "temperature": 1.5, "stopSequences": ["END"]},
    }


def test_model_override_changes_the_path(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    route = api.post("/v1beta/models/gemini-2.5-pro:generateContent").mock(
        return_value=wire.response("generate_text.json")
    )
    gemini.chat(ChatRequest(messages=[Message(role="user", content="Hi")], model="gemini-2.5-pro"))
    assert route.called
    assert "generationConfig" not in wire.sent(route)  # nothing asked, nothing sent


def test_max_tokens_default_from_settings(api: respx.MockRouter, wire: Any) -> None:
    llm = GeminiLLM(
        GeminiSettings(
            api_key="k",
            model="gemini-2.5-flash",
            base_url="https://generativelanguage.googleapis.test",
            max_tokens=77,
        )
    )
    route = api.post(wire.generate).mock(return_value=wire.response("generate_text.json"))
    llm.chat(ChatRequest(messages=[Message(role="user", content="Hi")]))
    llm.close()
    assert wire.sent(route)["generationConfig"] == {"maxOutputTokens": 77}


def test_images_inline_data_and_file_data(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    jpeg = b"\xff\xd8\xff\xe0-not-really-a-jpeg"
    encoded = base64.b64encode(jpeg).decode()
    body = _send(
        gemini,
        api,
        wire,
        messages=[
            Message(
                role="user",
                content=[
                    TextPart(text="Caption these."),
                    ImagePart(data=jpeg, media_type="image/jpeg"),
                    ImagePart(url="https://example.com/photos/cat.png"),
                    ImagePart(url="gs://bucket/scan", media_type="image/webp"),
                    ImagePart(url=f"data:image/jpeg;base64,{encoded}"),
                ],
            )
        ],
    )
    assert body["contents"][0]["parts"] == [
        {"text": "Caption these."},
        {"inlineData": {"mimeType": "image/jpeg", "data": encoded}},
        {"fileData": {"fileUri": "https://example.com/photos/cat.png", "mimeType": "image/png"}},
        {"fileData": {"fileUri": "gs://bucket/scan", "mimeType": "image/webp"}},
        {"inlineData": {"mimeType": "image/jpeg", "data": encoded}},
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        (
            NamedToolChoice(name="check_flight"),
            {"mode": "ANY", "allowedFunctionNames": ["check_flight"]},
        ),
        (None, None),
    ],
)
def test_function_declarations_and_calling_config(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any, choice: Any, expected: Any
) -> None:
    body = _send(
        gemini,
        api,
        wire,
        messages=[Message(role="user", content="Is AA100 on time?")],
        tools=[FLIGHT],
        tool_choice=choice,
    )
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "check_flight",
                    "description": "Gets the current status of a flight",
                    "parametersJsonSchema": FLIGHT.parameters,
                }
            ]
        }
    ]
    assert body.get("toolConfig") == (
        {"functionCallingConfig": expected} if expected is not None else None
    )


def test_function_calls_go_back_with_ids_and_thought_signatures(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    # The first turn's answer, as the provider gave it to the application.
    route = api.post(wire.generate).mock(
        side_effect=[
            wire.response("generate_function_call.json"),
            wire.response("generate_text.json"),
        ]
    )
    question = Message(role="user", content="Check flights AA100 and UA25.")
    first = gemini.chat(ChatRequest(messages=[question], tools=[FLIGHT]))
    calls = first.tool_calls
    results = [
        Message(role="tool", tool_call_id=calls[0].id, content='{"status": "delayed"}'),
        Message(role="tool", tool_call_id=calls[1].id, content="on time"),
    ]
    gemini.chat(ChatRequest(messages=[question, first.message, *results], tools=[FLIGHT]))
    contents = wire.sent(route)["contents"]
    assert contents == [
        {"role": "user", "parts": [{"text": "Check flights AA100 and UA25."}]},
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {
                        "name": "check_flight",
                        "args": {"flight": "AA100"},
                        "id": "8f2b1c3d",
                    },
                    "thoughtSignature": "CiUBjz1rX6Xk9n0w4gB7sVqXsY2vQ0tF8m1ZcH3aJpL2eR5uN7oD",
                },
                {
                    "functionCall": {
                        "name": "check_flight",
                        "args": {"flight": "UA25"},
                        "id": "a1c4e9f0",
                    }
                },
            ],
        },
        {
            # Parallel calls are answered in one user turn.
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": "check_flight",
                        "response": {"status": "delayed"},
                        "id": "8f2b1c3d",
                    }
                },
                {
                    "functionResponse": {
                        "name": "check_flight",
                        "response": {"output": "on time"},
                        "id": "a1c4e9f0",
                    }
                },
            ],
        },
    ]


def test_calls_without_gemini_ids_get_local_ids_that_are_not_sent(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    answer = wire.body("generate_function_call.json")["body"]
    for part in answer["candidates"][0]["content"]["parts"]:
        del part["functionCall"]["id"]
        part.pop("thoughtSignature", None)
    route = api.post(wire.generate).respond(200, json=answer)
    question = Message(role="user", content="Check AA100 and UA25.")
    first = gemini.chat(ChatRequest(messages=[question], tools=[FLIGHT]))
    ids = [call.id for call in first.tool_calls]
    assert len(set(ids)) == 2
    route.respond(json=wire.body("generate_text.json")["body"])
    gemini.chat(
        ChatRequest(
            messages=[
                question,
                first.message,
                Message(role="tool", tool_call_id=ids[0], content="delayed"),
                Message(role="tool", tool_call_id=ids[1], content="on time"),
            ]
        )
    )
    contents = wire.sent(route)["contents"]
    assert [p["functionCall"] for p in contents[1]["parts"]] == [
        {"name": "check_flight", "args": {"flight": "AA100"}},
        {"name": "check_flight", "args": {"flight": "UA25"}},
    ]
    assert [p["functionResponse"] for p in contents[2]["parts"]] == [
        {"name": "check_flight", "response": {"output": "delayed"}},
        {"name": "check_flight", "response": {"output": "on time"}},
    ]


def test_json_schema_output(gemini: GeminiLLM, api: respx.MockRouter, wire: Any) -> None:
    schema = {
        "type": "object",
        "properties": {"recipe_name": {"type": "string"}},
        "required": ["recipe_name"],
    }
    body = _send(
        gemini,
        api,
        wire,
        messages=[Message(role="user", content="A cookie recipe")],
        response_format=ResponseFormat(json_schema=schema),
    )
    assert body["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": schema,
    }


@pytest.mark.parametrize(
    ("fields", "field_named"),
    [
        ({"model": "../../v1/files"}, "model"),
        ({"model": "gemini-2.5-flash:generateContent?x"}, "model"),
        ({"stop": ["a", "b", "c", "d", "e", "f"]}, "stop"),
        ({"messages": [Message(role="tool", content="42")]}, "messages[0].tool_call_id"),
        (
            {"messages": [Message(role="tool", tool_call_id="call_unknown", content="42")]},
            "messages[0].tool_call_id",
        ),
        (
            {"messages": [Message(role="user", content=[ImagePart(data=b"x")])]},
            "messages[0].content[0].media_type",
        ),
        ({"messages": [Message(role="system", content="only a system prompt")]}, "messages"),
    ],
)
def test_bad_requests_name_the_field_and_send_nothing(
    gemini: GeminiLLM, api: respx.MockRouter, fields: dict[str, Any], field_named: str
) -> None:
    route = api.route()
    request = {"messages": [Message(role="user", content="Hi")], **fields}
    with pytest.raises(InvalidRequest) as info:
        gemini.chat(ChatRequest(**request))
    assert info.value.message.startswith(f"{field_named}: ")
    assert not route.called


def test_assistant_tool_calls_without_text(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    body = _send(
        gemini,
        api,
        wire,
        messages=[
            Message(role="user", content="Status of AA100?"),
            Message(
                role="assistant",
                tool_calls=[ToolCall(id="c1", name="check_flight", arguments={"flight": "AA100"})],
            ),
            Message(role="tool", tool_call_id="c1", content="[1, 2]"),
        ],
    )
    assert body["contents"][1] == {
        "role": "model",
        "parts": [
            {"functionCall": {"name": "check_flight", "args": {"flight": "AA100"}, "id": "c1"}}
        ],
    }
    # A result that is JSON but not an object still goes in as the output value's text.
    assert body["contents"][2]["parts"][0]["functionResponse"]["response"] == {"output": "[1, 2]"}


@pytest.mark.parametrize(
    ("fields", "field_named"),
    [
        ({"tools": [FLIGHT], "tool_choice": NamedToolChoice(name="nope")}, "tool_choice.name"),
        ({"tool_choice": "required"}, "tool_choice"),
    ],
)
def test_tool_choice_is_checked_once_by_the_core_and_nothing_is_sent(
    gemini: GeminiLLM, api: respx.MockRouter, fields: dict[str, Any], field_named: str
) -> None:
    route = api.route()
    tenant = TenantLLM(
        gemini,
        tenant_id="acme",
        provider="gemini",
        capabilities=frozenset(str(c) for c in gemini.capabilities),
        retry=NO_RETRY,
    )
    with pytest.raises(InvalidRequest) as info:
        tenant.chat(ChatRequest(messages=[Message(role="user", content="Hi")], **fields))
    assert info.value.message.startswith(f"{field_named}: ")
    assert not route.called


def test_tool_choice_none_without_tools_sends_no_tool_choice(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    body = _send(
        gemini, api, wire, messages=[Message(role="user", content="Hi")], tool_choice="none"
    )
    assert "tool_choice" not in body
    assert "toolConfig" not in body


def test_a_user_turn_of_one_empty_text_is_sent_as_it_is(
    gemini: GeminiLLM, api: respx.MockRouter, wire: Any
) -> None:
    # The API answers it (a turn that hands over to the system instruction and tools).
    body = _send(
        gemini,
        api,
        wire,
        messages=[
            Message(role="system", content="Tell three jokes."),
            Message(role="user", content=""),
        ],
    )
    assert body["contents"] == [{"role": "user", "parts": [{"text": ""}]}]
