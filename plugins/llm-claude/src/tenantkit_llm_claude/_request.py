"""A :class:`tenantkit.ChatRequest` as a Messages API request body.

https://platform.claude.com/docs/en/api/messages
"""

from __future__ import annotations

from typing import Any

from tenantkit.errors import InvalidRequest
from tenantkit.llm import (
    ChatRequest,
    ImagePart,
    Message,
    NamedToolChoice,
    Part,
    TextPart,
    image_source,
)
from tenantkit_llm_claude.settings import ClaudeSettings

__all__ = ["build_body"]

PROVIDER = "claude"


def build_body(request: ChatRequest, settings: ClaudeSettings, *, stream: bool) -> dict[str, Any]:
    """The JSON body of ``POST /v1/messages`` for ``request``."""
    body: dict[str, Any] = {
        "model": request.model or settings.model,
        "max_tokens": request.max_tokens or settings.max_tokens,
        "messages": _messages(request.messages),
    }
    system = request.system
    if system:
        body["system"] = system
    if request.temperature is not None:
        if request.temperature > 1:
            raise _invalid("temperature", "must be from 0 to 1 for claude")
        body["temperature"] = request.temperature
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    if request.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            if t.description
            else {"name": t.name, "input_schema": t.parameters}
            for t in request.tools
        ]
    choice = _tool_choice(request)
    if choice is not None:
        body["tool_choice"] = choice
    if request.response_format is not None:
        # Structured outputs: https://platform.claude.com/docs/en/build-with-claude/structured-outputs
        body["output_config"] = {
            "format": {"type": "json_schema", "schema": request.response_format.json_schema}
        }
    if stream:
        body["stream"] = True
    return body


def _tool_choice(request: ChatRequest) -> dict[str, Any] | None:
    """The wire's tool choice. :class:`tenantkit.TenantLLM` has checked it against the
    tools (a choice other than ``"none"`` needs tools, a named tool must be one of them)."""
    choice = request.tool_choice
    if choice is None or not request.tools:
        return None
    if isinstance(choice, NamedToolChoice):
        return {"type": "tool", "name": choice.name}
    return {"type": {"auto": "auto", "none": "none", "required": "any"}[choice]}


def _messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Claude's turns: system messages removed, tool results in user turns,
    consecutive turns of one role merged (tool results first, as the API wants)."""
    turns: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        if message.role == "system":
            continue
        where = f"messages[{i}]"
        if message.role == "tool":
            role = "user"
            if not message.tool_call_id:
                raise _invalid(f"{where}.tool_call_id", "is required on tool messages")
            content = message.content
            result: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id}
            if isinstance(content, str):
                result["content"] = content
            else:
                result["content"] = _blocks(content, where)
            blocks = [result]
        elif message.role == "assistant":
            role = "assistant"
            blocks = _blocks(message.content, where)
            blocks.extend(
                {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
                for call in message.tool_calls
            )
        else:
            role = "user"
            blocks = _blocks(message.content, where)
        if not blocks:
            raise _invalid(f"{where}.content", "is empty")
        if turns and turns[-1]["role"] == role:
            previous = turns[-1]["content"]
            results = [b for b in previous + blocks if b["type"] == "tool_result"]
            others = [b for b in previous + blocks if b["type"] != "tool_result"]
            turns[-1]["content"] = results + others
        else:
            turns.append({"role": role, "content": blocks})
    if not turns:
        raise _invalid("messages", "holds no user or assistant message")
    return turns


def _blocks(content: str | list[Part], where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        if isinstance(part, TextPart):
            if part.text:
                blocks.append({"type": "text", "text": part.text})
        else:
            blocks.append(_image(part, f"{where}.content[{j}]"))
    return blocks


def _image(part: ImagePart, where: str) -> dict[str, Any]:
    source = image_source(part, where, provider=PROVIDER)
    if isinstance(source, str):
        return {"type": "image", "source": {"type": "url", "url": source}}
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": source.media_type, "data": source.data},
    }


def _invalid(field: str, problem: str) -> InvalidRequest:
    return InvalidRequest(f"{field}: {problem}", provider=PROVIDER)
