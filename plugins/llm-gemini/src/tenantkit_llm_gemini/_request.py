"""A :class:`tenantkit.ChatRequest` as a ``generateContent`` request body.

* Request: https://ai.google.dev/api/generate-content
* Function calling: https://ai.google.dev/gemini-api/docs/function-calling
* Thought signatures: https://ai.google.dev/gemini-api/docs/thought-signatures
* Structured output: https://ai.google.dev/gemini-api/docs/structured-output
* Image generation: https://ai.google.dev/gemini-api/docs/image-generation
* Embeddings: https://ai.google.dev/api/embeddings (``models.batchEmbedContents``: one
  ``EmbedContentRequest`` per text, each naming the model, with
  ``outputDimensionality`` to shorten the vectors)
"""

from __future__ import annotations

import json
import math
import mimetypes
import re
from typing import Any

from tenantkit.errors import InvalidRequest
from tenantkit.llm import (
    ChatRequest,
    ImagePart,
    ImageRequest,
    InlineImage,
    Message,
    NamedToolChoice,
    Part,
    TextPart,
    ToolCall,
    image_source,
)
from tenantkit_llm_gemini.settings import MODEL_NAME, GeminiSettings

__all__ = [
    "build_body",
    "build_image_body",
    "join_call_id",
    "model_path",
    "split_call_id",
]

PROVIDER = "gemini"

# A tool call id is Gemini's function call id (or one made up when Gemini gives none,
# never sent back) followed by the part's thought signature, which Gemini 3 needs back
# with the call in the next turn. Keeping it inside the id keeps the provider stateless.
_MADE_UP = "tk-call-"
_SIGNATURE = "#"

_MODEL = re.compile(MODEL_NAME)
_ASPECT_RATIOS = frozenset(
    {"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"}
)
_IMAGE_SIZES = frozenset({"1K", "2K", "4K"})


def join_call_id(call_id: str | None, ordinal: int, signature: str | None) -> str:
    """The tenantkit tool call id for a Gemini function call."""
    base = call_id or f"{_MADE_UP}{ordinal}"
    return f"{base}{_SIGNATURE}{signature}" if signature else base


def split_call_id(tool_call_id: str) -> tuple[str | None, str | None]:
    """(Gemini's function call id or None, thought signature or None)."""
    base, _, signature = tool_call_id.partition(_SIGNATURE)
    return (None if base.startswith(_MADE_UP) else base or None), (signature or None)


def model_path(model: str, settings: GeminiSettings, method: str) -> str:
    """``/v1beta/models/{model}:{method}``, refusing model names that would change the path."""
    if not _MODEL.fullmatch(model):
        raise _invalid("model", f"{model!r} is not a Gemini model name")
    name = model if "/" in model else f"models/{model}"
    return f"/{settings.api_version}/{name}:{method}"


def build_embedding_body(texts: list[str], model: str, dimensions: int | None) -> dict[str, Any]:
    """The JSON body of ``batchEmbedContents``: one request per text, in order."""
    name = model if "/" in model else f"models/{model}"
    requests: list[dict[str, Any]] = []
    for text in texts:
        one: dict[str, Any] = {"model": name, "content": {"parts": [{"text": text}]}}
        if dimensions is not None:
            one["outputDimensionality"] = dimensions
        requests.append(one)
    return {"requests": requests}


def build_body(request: ChatRequest, settings: GeminiSettings) -> dict[str, Any]:
    """The JSON body of ``generateContent`` / ``streamGenerateContent`` for ``request``."""
    body: dict[str, Any] = {"contents": _contents(request.messages)}
    system = request.system
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    config: dict[str, Any] = {}
    max_tokens = request.max_tokens or settings.max_tokens
    if max_tokens:
        config["maxOutputTokens"] = max_tokens
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.stop:
        if len(request.stop) > 5:
            raise _invalid("stop", "gemini takes at most 5 stop sequences")
        config["stopSequences"] = list(request.stop)
    if request.response_format is not None:
        config["responseMimeType"] = "application/json"
        config["responseJsonSchema"] = request.response_format.json_schema
    if config:
        body["generationConfig"] = config
    if request.tools:
        body["tools"] = [
            {
                "functionDeclarations": [
                    {
                        "name": t.name,
                        "description": t.description,
                        "parametersJsonSchema": t.parameters,
                    }
                    for t in request.tools
                ]
            }
        ]
    choice = _tool_choice(request)
    if choice is not None:
        body["toolConfig"] = {"functionCallingConfig": choice}
    return body


def build_image_body(request: ImageRequest) -> dict[str, Any]:
    """A ``generateContent`` body asking an image model for an image."""
    config: dict[str, Any] = {"responseModalities": ["TEXT", "IMAGE"]}
    if request.size:
        config["imageConfig"] = _image_config(request.size)
    return {
        "contents": [{"role": "user", "parts": [{"text": request.prompt}]}],
        "generationConfig": config,
    }


def _image_config(size: str) -> dict[str, str]:
    """``"1024x1024"`` or ``"16:9"`` → an aspect ratio; ``"1K"``/``"2K"``/``"4K"`` → a size."""
    if size.upper() in _IMAGE_SIZES:
        return {"imageSize": size.upper()}
    match = re.fullmatch(r"([1-9][0-9]*)\s*[x:]\s*([1-9][0-9]*)", size.strip())
    if match:
        width, height = int(match[1]), int(match[2])
        divisor = math.gcd(width, height)
        ratio = f"{width // divisor}:{height // divisor}"
        if ratio in _ASPECT_RATIOS:
            return {"aspectRatio": ratio}
    supported = ", ".join(sorted(_ASPECT_RATIOS))
    raise _invalid(
        "size", f"{size!r}: use WIDTHxHEIGHT in a ratio gemini offers ({supported}), or 1K/2K/4K"
    )


def _tool_choice(request: ChatRequest) -> dict[str, Any] | None:
    """The wire's tool choice. :class:`tenantkit.TenantLLM` has checked it against the
    tools (a choice other than ``"none"`` needs tools, a named tool must be one of them)."""
    choice = request.tool_choice
    if choice is None or not request.tools:
        return None
    if isinstance(choice, NamedToolChoice):
        return {"mode": "ANY", "allowedFunctionNames": [choice.name]}
    return {"mode": {"auto": "AUTO", "none": "NONE", "required": "ANY"}[choice]}


def _contents(messages: list[Message]) -> list[dict[str, Any]]:
    """Gemini's turns: roles ``user`` and ``model``, function responses in user turns,
    consecutive turns of one role merged (parallel calls answered in one turn)."""
    contents: list[dict[str, Any]] = []
    calls: dict[str, ToolCall] = {}
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if message.role == "system":
            continue
        if message.role == "assistant":
            role = "model"
            parts = _parts(message.content, where)
            for call in message.tool_calls:
                calls[call.id] = call
                parts.append(_function_call(call))
        elif message.role == "tool":
            role = "user"
            parts = [_function_response(message, calls, where)]
        else:
            role = "user"
            # The API answers a user turn of one empty text part (a turn that only
            # hands over to the system instruction and the tools); it refuses no parts.
            parts = _parts(message.content, where) or [{"text": ""}]
        if not parts:
            raise _invalid(f"{where}.content", "is empty")
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    if not contents:
        raise _invalid("messages", "holds no user or assistant message")
    return contents


def _function_call(call: ToolCall) -> dict[str, Any]:
    call_id, signature = split_call_id(call.id)
    function: dict[str, Any] = {"name": call.name, "args": call.arguments}
    if call_id:
        function["id"] = call_id
    part: dict[str, Any] = {"functionCall": function}
    if signature:
        part["thoughtSignature"] = signature
    return part


def _function_response(message: Message, calls: dict[str, ToolCall], where: str) -> dict[str, Any]:
    if not message.tool_call_id:
        raise _invalid(f"{where}.tool_call_id", "is required on tool messages")
    call = calls.get(message.tool_call_id)
    if call is None:
        raise _invalid(
            f"{where}.tool_call_id",
            f"{message.tool_call_id!r} answers no tool call of an earlier assistant message "
            "(gemini needs the function's name)",
        )
    text = message.text
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = None
    # The response must be an object; the documented key for a plain result is "output".
    response = decoded if isinstance(decoded, dict) else {"output": text}
    function: dict[str, Any] = {"name": call.name, "response": response}
    call_id, _ = split_call_id(call.id)
    if call_id:
        function["id"] = call_id
    return {"functionResponse": function}


def _parts(content: str | list[Part], where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        if isinstance(part, TextPart):
            if part.text:
                parts.append({"text": part.text})
        else:
            parts.append(_image(part, f"{where}.content[{j}]"))
    return parts


def _image(part: ImagePart, where: str) -> dict[str, Any]:
    source = image_source(part, where, provider=PROVIDER)
    if isinstance(source, InlineImage):
        return {"inlineData": {"mimeType": source.media_type, "data": source.data}}
    file_data: dict[str, str] = {"fileUri": source}
    guessed = part.media_type or mimetypes.guess_type(source)[0]
    if guessed:
        file_data["mimeType"] = guessed
    return {"fileData": file_data}


def _invalid(field: str, problem: str) -> InvalidRequest:
    return InvalidRequest(f"{field}: {problem}", provider=PROVIDER)
