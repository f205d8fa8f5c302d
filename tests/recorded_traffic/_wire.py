"""Each provider's recorded wire format, read back for the replay suite.

Two readings per provider:

* ``*_request(body) -> ChatRequest``: the recorded request body as the core's request,
  so the plugin can be asked the same thing the recording asked;
* ``*_view(body)``: the parts of a request body that a :class:`ChatRequest` can
  express (turns, tools, tool choice, output schema, limits), normalized so that two
  spellings the service treats alike compare equal (a string content and one text
  block; Gemini's OpenAPI ``parameters`` and ``parametersJsonSchema``). Everything
  else in a recorded body (``n``, ``thinking``, ``safetySettings``, ``cache_control``,
  ``metadata``...) is a setting the core does not model and is left out of the view.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from tenantkit.llm import (
    ChatRequest,
    ImagePart,
    Message,
    NamedToolChoice,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
)
from tenantkit_llm_gemini._request import join_call_id

_NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


# --- OpenAI chat completions (OpenAI, Azure OpenAI, compatible servers) ----------------
# https://platform.openai.com/docs/api-reference/chat/create


def openai_request(body: dict[str, Any]) -> ChatRequest:
    messages = []
    for m in body["messages"]:
        role = "system" if m["role"] == "developer" else m["role"]
        content = m.get("content")
        if isinstance(content, list):
            content = [
                TextPart(text=p["text"])
                if p["type"] == "text"
                else ImagePart(url=p["image_url"]["url"])
                for p in content
            ]
        calls = [
            ToolCall(
                id=c["id"],
                name=c["function"]["name"],
                arguments=json.loads(c["function"].get("arguments") or "{}"),
            )
            for c in m.get("tool_calls") or ()
        ]
        messages.append(
            Message(
                role=role,
                content=content or "",
                tool_calls=calls,
                tool_call_id=m.get("tool_call_id"),
            )
        )
    tools = [
        Tool(
            name=t["function"]["name"],
            description=t["function"].get("description") or "",
            parameters=t["function"].get("parameters") or {"type": "object", "properties": {}},
        )
        for t in body.get("tools") or ()
        if t.get("type") == "function"
    ]
    # A choice among server-side tools only (OpenRouter's web search) has no core form.
    choice = body.get("tool_choice") if tools else None
    fmt = body.get("response_format") or {}
    schema = fmt.get("json_schema") if fmt.get("type") == "json_schema" else None
    stop = body.get("stop")
    return ChatRequest(
        messages=messages,
        model=body.get("model"),
        tools=tools,
        tool_choice=NamedToolChoice(name=choice["function"]["name"])
        if isinstance(choice, dict)
        else choice,
        response_format=ResponseFormat(
            name=schema["name"], json_schema=schema["schema"], strict=bool(schema.get("strict"))
        )
        if schema
        else None,
        max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
        temperature=body.get("temperature"),
        stop=[stop] if isinstance(stop, str) else list(stop or ()),
    )


def openai_view(body: dict[str, Any], *, with_model: bool = True) -> dict[str, Any]:
    def content(raw: Any) -> list[tuple[str, str]]:
        if isinstance(raw, str):
            return [("text", raw)] if raw else []
        return [
            ("text", p["text"]) if p["type"] == "text" else ("image", p["image_url"]["url"])
            for p in raw or ()
        ]

    def turn(m: dict[str, Any]) -> tuple[Any, ...]:
        calls = [
            (c["id"], c["function"]["name"], json.loads(c["function"].get("arguments") or "{}"))
            for c in m.get("tool_calls") or ()
        ]
        role = "system" if m["role"] == "developer" else m["role"]
        return (role, content(m.get("content")), calls, m.get("tool_call_id"))

    fmt = body.get("response_format") or {}
    schema = fmt.get("json_schema") or {}
    stop = body.get("stop")
    return {
        "model": body.get("model") if with_model else None,
        "messages": [turn(m) for m in body["messages"]],
        "tools": [
            (
                t["function"]["name"],
                t["function"].get("description") or "",
                t["function"].get("parameters") or {"type": "object", "properties": {}},
            )
            for t in body.get("tools") or ()
            if t.get("type") == "function"
        ],
        "tool_choice": body.get("tool_choice"),
        "response_format": (
            fmt.get("type"),
            schema.get("name"),
            schema.get("schema"),
            bool(schema.get("strict")),  # left out, it is false
        )
        if fmt
        else None,
        "max_tokens": body.get("max_completion_tokens") or body.get("max_tokens"),
        "temperature": body.get("temperature"),
        "stop": [stop] if isinstance(stop, str) else list(stop or ()),
        "stream": bool(body.get("stream")),
        "stream_usage": bool((body.get("stream_options") or {}).get("include_usage")),
    }


# --- Anthropic Messages API ---------------------------------------------------------------
# https://platform.claude.com/docs/en/api/messages


def claude_request(body: dict[str, Any]) -> ChatRequest:
    messages = []
    system = body.get("system")
    if system:
        messages.append(Message(role="system", content=_claude_text(system)))
    for m in body["messages"]:
        blocks = m["content"]
        if isinstance(blocks, str):
            messages.append(Message(role=m["role"], content=blocks))
            continue
        parts: list[TextPart | ImagePart] = []
        calls: list[ToolCall] = []
        for block in blocks:
            kind = block["type"]
            if kind == "text":
                parts.append(TextPart(text=block["text"]))
            elif kind == "image":
                source = block["source"]
                if source["type"] == "base64":
                    data = base64.b64decode(source["data"])
                    parts.append(ImagePart(data=data, media_type=source["media_type"]))
                else:
                    parts.append(ImagePart(url=source["url"]))
            elif kind == "tool_use":
                calls.append(ToolCall(id=block["id"], name=block["name"], arguments=block["input"]))
            elif kind == "tool_result":
                messages.append(
                    Message(
                        role="tool",
                        tool_call_id=block["tool_use_id"],
                        content=_claude_text(block.get("content") or ""),
                    )
                )
        if parts or calls:
            messages.append(Message(role=m["role"], content=parts, tool_calls=calls))
    tools = [
        Tool(name=t["name"], description=t.get("description") or "", parameters=t["input_schema"])
        for t in body.get("tools") or ()
        if "input_schema" in t
    ]
    # A choice among server tools only (web search) has no core form.
    choice = body.get("tool_choice") if tools else None
    schema = ((body.get("output_config") or {}).get("format") or {}).get("schema")
    return ChatRequest(
        messages=messages,
        model=body.get("model"),
        tools=tools,
        tool_choice=None
        if choice is None
        else NamedToolChoice(name=choice["name"])
        if choice["type"] == "tool"
        else {"auto": "auto", "any": "required", "none": "none"}[choice["type"]],
        response_format=ResponseFormat(json_schema=schema) if schema else None,
        max_tokens=body.get("max_tokens"),
        temperature=body.get("temperature"),
        stop=list(body.get("stop_sequences") or ()),
    )


def _claude_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    return "\n\n".join(b["text"] for b in raw if b.get("type") == "text")


def claude_view(body: dict[str, Any]) -> dict[str, Any]:
    def block(b: dict[str, Any]) -> tuple[Any, ...]:
        kind = b["type"]
        if kind == "text":
            return ("text", b["text"])
        if kind == "image":
            return ("image", b["source"])
        if kind == "tool_use":
            return ("tool_use", b["id"], b["name"], b["input"])
        if kind == "tool_result":
            return ("tool_result", b["tool_use_id"], _claude_text(b.get("content") or ""))
        return (kind,)

    def turn(m: dict[str, Any]) -> tuple[Any, ...]:
        blocks = m["content"]
        if isinstance(blocks, str):
            return (m["role"], [("text", blocks)])
        return (m["role"], [block(b) for b in blocks])

    choice = body.get("tool_choice")
    return {
        "model": body.get("model"),
        "system": _claude_text(body.get("system") or ""),
        "messages": [turn(m) for m in body["messages"]],
        "tools": [
            (t["name"], t.get("description") or "", t.get("input_schema"))
            for t in body.get("tools") or ()
        ],
        "tool_choice": None if choice is None else (choice["type"], choice.get("name")),
        "output_schema": ((body.get("output_config") or {}).get("format") or {}).get("schema"),
        "max_tokens": body.get("max_tokens"),
        "temperature": body.get("temperature"),
        "stop": list(body.get("stop_sequences") or ()),
        "stream": bool(body.get("stream")),
    }


# --- Gemini generateContent ------------------------------------------------------------------
# https://ai.google.dev/api/generate-content


def _camel(part: dict[str, Any], name: str) -> Any:
    """A part's field under its JSON name or its proto name (SDKs send either)."""
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
    return part.get(name, part.get(snake))


def gemini_request(body: dict[str, Any]) -> ChatRequest:
    messages = []
    system = body.get("systemInstruction")
    if system:
        messages.append(
            Message(role="system", content="".join(p.get("text", "") for p in system["parts"]))
        )
    calls_by_name: dict[str, str] = {}
    ordinal = 0
    for content in body["contents"]:
        parts: list[TextPart | ImagePart] = []
        calls: list[ToolCall] = []
        for part in content["parts"]:
            call = _camel(part, "functionCall")
            answer = _camel(part, "functionResponse")
            inline = _camel(part, "inlineData")
            if call is not None:
                call_id = join_call_id(call.get("id"), ordinal, _camel(part, "thoughtSignature"))
                ordinal += 1
                calls_by_name[call["name"]] = call_id
                calls.append(ToolCall(id=call_id, name=call["name"], arguments=call.get("args")))
            elif answer is not None:
                response = answer["response"]
                output = response.get("output") if set(response) == {"output"} else None
                messages.append(
                    Message(
                        role="tool",
                        tool_call_id=calls_by_name[answer["name"]],
                        content=output if isinstance(output, str) else json.dumps(response),
                    )
                )
            elif inline is not None:
                data = base64.urlsafe_b64decode(_padded(inline["data"]))
                parts.append(ImagePart(data=data, media_type=_camel(inline, "mimeType")))
            elif "text" in part and not part.get("thought"):
                parts.append(TextPart(text=part["text"]))
        role = "assistant" if content.get("role") == "model" else "user"
        if parts or calls:
            messages.append(Message(role=role, content=_plain(parts), tool_calls=calls))
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    declarations = [d for t in body.get("tools") or () for d in t.get("functionDeclarations", ())]
    calling = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    mode = calling.get("mode")
    allowed = calling.get("allowedFunctionNames") or ()
    if set(allowed) == {d["name"] for d in declarations}:
        allowed = ()  # all the tools: the same as naming none
    return ChatRequest(
        messages=messages,
        tools=[
            Tool(
                name=d["name"],
                description=d.get("description") or "",
                parameters=_lower_types(
                    _camel(d, "parametersJsonSchema") or d.get("parameters") or _NO_PARAMETERS
                ),
            )
            for d in declarations
        ],
        tool_choice=None
        if mode is None
        else NamedToolChoice(name=allowed[0])
        if mode == "ANY" and len(allowed) == 1
        else {"AUTO": "auto", "ANY": "required", "NONE": "none"}[mode],
        response_format=ResponseFormat(json_schema=_lower_types(schema)) if schema else None,
        max_tokens=config.get("maxOutputTokens"),
        temperature=config.get("temperature"),
        stop=list(config.get("stopSequences") or ()),
    )


def _declared_parameters(declaration: dict[str, Any]) -> dict[str, Any]:
    found = _camel(declaration, "parametersJsonSchema") or declaration.get("parameters")
    lowered: dict[str, Any] = _lower_types(found or _NO_PARAMETERS)
    return lowered


def _plain(parts: list[TextPart | ImagePart]) -> str | list[TextPart | ImagePart]:
    if len(parts) == 1 and isinstance(parts[0], TextPart):
        return parts[0].text
    return parts


def _padded(data: str) -> str:
    return data + "=" * (-len(data) % 4)


def _lower_types(schema: Any) -> Any:
    """Gemini's OpenAPI schema spells types in capitals (``STRING``); JSON Schema does not."""
    if isinstance(schema, dict):
        return {
            k: v.lower() if k == "type" and isinstance(v, str) else _lower_types(v)
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_lower_types(v) for v in schema]
    return schema


def gemini_view(body: dict[str, Any]) -> dict[str, Any]:
    def part(p: dict[str, Any]) -> tuple[Any, ...] | None:
        call = _camel(p, "functionCall")
        if call is not None:
            signature = _camel(p, "thoughtSignature")
            return ("call", call.get("id"), call["name"], call.get("args") or {}, signature)
        answer = _camel(p, "functionResponse")
        if answer is not None:
            return ("response", answer.get("id"), answer["name"], answer["response"])
        inline = _camel(p, "inlineData")
        if inline is not None:
            data = base64.urlsafe_b64decode(
                _padded(inline["data"].replace("+", "-").replace("/", "_"))
            )
            return ("image", _camel(inline, "mimeType"), hashlib.sha256(data).hexdigest())
        if p.get("thought"):
            return None
        return ("text", p.get("text", ""))

    def turn(c: dict[str, Any]) -> tuple[Any, ...]:
        parts = [v for v in (part(p) for p in c["parts"]) if v is not None]
        if len(parts) > 1:  # an empty text beside other parts says nothing
            parts = [v for v in parts if v != ("text", "")]
        return (c.get("role", "user"), parts)

    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    system = body.get("systemInstruction")
    declared = {
        d["name"] for t in body.get("tools") or () for d in t.get("functionDeclarations", ())
    }
    calling = dict((body.get("toolConfig") or {}).get("functionCallingConfig") or {})
    if set(calling.get("allowedFunctionNames") or ()) == declared:
        calling.pop("allowedFunctionNames", None)  # all the tools: the same as naming none
    return {
        "system": "".join(p.get("text", "") for p in system["parts"]) if system else "",
        "contents": [turn(c) for c in body["contents"]],
        "tools": [
            (
                d["name"],
                d.get("description") or "",
                _lower_types(
                    _camel(d, "parametersJsonSchema") or d.get("parameters") or _NO_PARAMETERS
                ),
            )
            for t in body.get("tools") or ()
            for d in t.get("functionDeclarations", ())
        ],
        "tool_config": calling or None,
        "response_schema": _lower_types(schema) if schema else None,
        "max_tokens": config.get("maxOutputTokens"),
        "temperature": config.get("temperature"),
        "stop": list(config.get("stopSequences") or ()),
    }
