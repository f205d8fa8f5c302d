"""The OpenAI Chat Completions wire format, in and out, over the tenant's own LLM.

``POST /v1/chat/completions`` takes OpenAI's request body and answers with a
``chat.completion`` object, or with ``stream: true`` a ``text/event-stream`` body of
``chat.completion.chunk`` events ended by ``data: [DONE]`` (format of the OpenAI API
reference, "Create chat completion" and "The chat completion chunk object",
https://platform.openai.com/docs/api-reference/chat). API Gateway HTTP APIs and
REST APIs do not stream Lambda answers, so the stream is produced whole and sent
in one response: clients read it as a stream that arrives at once.

``model`` (see :func:`resolve_model`): ``"default"``, the tenant's own model (as
``GET /v1/models`` lists it) or one of the deployment's aliases
(``TENANTKIT_MODEL_ALIASES``, for clients that hard-code a name such as ``gpt-4o``);
each of them means the model the tenant configured, and any other name is 404
``model_not_found``. A caller never chooses a model the tenant did not configure.
Request fields that only tune OpenAI's own sampling or bookkeeping (``top_p``,
``seed``, ``user``...) are accepted and ignored; unknown fields are refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import struct
import time
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tenantkit import (
    ChatRequest,
    ChatResponse,
    ImagePart,
    Message,
    TextPart,
    Tool,
    ToolCall,
    untrusted,
)
from tenantkit.errors import InvalidRequest, NotFound
from tenantkit.llm import (
    FinishEvent,
    NamedToolChoice,
    ResponseFormat,
    StartEvent,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
    UsageEvent,
)

__all__ = [
    "DEFAULT_MODEL",
    "ChatCompletionRequest",
    "EmbeddingsBody",
    "ModelNotFound",
    "completion",
    "embeddings_answer",
    "event_stream",
    "models_list",
    "openai_error",
    "resolve_model",
    "tenant_models",
    "to_chat_request",
]

_open = ConfigDict(extra="forbid", defer_build=True)
_FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
}


class _Text(BaseModel):
    model_config = _open
    type: Literal["text"]
    text: str


class _ImageURL(BaseModel):
    model_config = _open
    url: str
    detail: str | None = None


class _Image(BaseModel):
    model_config = _open
    type: Literal["image_url"]
    image_url: _ImageURL


_Part = Annotated[_Text | _Image, Field(discriminator="type")]


class _Function(BaseModel):
    model_config = _open
    name: str
    arguments: str = "{}"


class _ToolCall(BaseModel):
    model_config = _open
    id: str
    type: Literal["function"] = "function"
    function: _Function


class ChatMessageIn(BaseModel):
    model_config = _open
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[_Part] | None = None
    name: str | None = None
    tool_calls: list[_ToolCall] = []
    tool_call_id: str | None = None
    refusal: str | None = None


class _FunctionDef(BaseModel):
    model_config = _open
    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None


class _ToolDef(BaseModel):
    model_config = _open
    type: Literal["function"]
    function: _FunctionDef


class _ChoiceFunction(BaseModel):
    model_config = _open
    name: str


class _NamedChoice(BaseModel):
    model_config = _open
    type: Literal["function"]
    function: _ChoiceFunction


class _JsonSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)
    name: str = "response"
    description: str | None = None
    schema_: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None


class _ResponseFormat(BaseModel):
    model_config = _open
    type: Literal["text", "json_object", "json_schema"]
    json_schema: _JsonSchema | None = None


class _StreamOptions(BaseModel):
    model_config = _open
    include_usage: bool = False
    include_obfuscation: bool | None = None


class ChatCompletionRequest(BaseModel):
    """The request body of ``POST /v1/chat/completions``."""

    model_config = _open

    model: str
    messages: list[ChatMessageIn] = Field(min_length=1)
    stream: bool = False
    stream_options: _StreamOptions | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    max_completion_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0, le=2)
    stop: str | list[str] | None = None
    tools: list[_ToolDef] = []
    tool_choice: Literal["auto", "none", "required"] | _NamedChoice | None = None
    response_format: _ResponseFormat | None = None
    n: int | None = Field(default=None, ge=1, le=1)
    # accepted and ignored: they tune OpenAI's own sampling and bookkeeping
    top_p: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    seed: int | None = None
    user: str | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    logit_bias: dict[str, float] | None = None
    parallel_tool_calls: bool | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    service_tier: str | None = None
    reasoning_effort: str | None = None


def to_chat_request(body: ChatCompletionRequest) -> ChatRequest:
    """The tenantkit request for an OpenAI request body."""
    stop = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
    choice: Literal["auto", "none", "required"] | NamedToolChoice | None
    if isinstance(body.tool_choice, _NamedChoice):
        choice = NamedToolChoice(name=body.tool_choice.function.name)
    else:
        choice = body.tool_choice
    return ChatRequest(
        messages=[_message(m, i) for i, m in enumerate(body.messages)],
        model=None if body.model in ("", "default") else body.model,
        tools=[
            Tool(
                name=t.function.name,
                description=t.function.description,
                parameters=t.function.parameters,
            )
            for t in body.tools
        ],
        tool_choice=choice,
        response_format=_response_format(body.response_format),
        max_tokens=body.max_completion_tokens or body.max_tokens,
        temperature=body.temperature,
        stop=stop,
    )


def _message(message: ChatMessageIn, index: int) -> Message:
    where = f"messages[{index}]"
    role = "system" if message.role == "developer" else message.role
    content: str | list[TextPart | ImagePart]
    if message.content is None:
        content = ""
    elif isinstance(message.content, str):
        content = message.content
    else:
        content = [_part(p, f"{where}.content[{i}]") for i, p in enumerate(message.content)]
    calls = []
    for i, call in enumerate(message.tool_calls):
        field = f"{where}.tool_calls[{i}].function.arguments"
        arguments = untrusted.loads(call.function.arguments or "{}", what=field)
        if not isinstance(arguments, dict):
            raise InvalidRequest(f"{field} is not an object")
        calls.append(ToolCall(id=call.id, name=call.function.name, arguments=arguments))
    if role == "tool" and not message.tool_call_id:
        raise InvalidRequest(f"{where}.tool_call_id is required for a tool message")
    return Message(role=role, content=content, tool_calls=calls, tool_call_id=message.tool_call_id)


def _part(part: _Text | _Image, where: str) -> TextPart | ImagePart:
    if isinstance(part, _Text):
        return TextPart(text=part.text)
    url = part.image_url.url
    if not url.startswith("data:"):
        return ImagePart(url=url)
    header, _, data = url.partition(",")
    media_type = header[5:].split(";")[0] or None
    if ";base64" not in header or not media_type:
        raise InvalidRequest(f"{where}.image_url.url: data URLs must be base64 with a media type")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"{where}.image_url.url: the data is not valid base64") from None
    return ImagePart(data=raw, media_type=media_type)


def _response_format(fmt: _ResponseFormat | None) -> ResponseFormat | None:
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return ResponseFormat(name="json_object", json_schema={"type": "object"}, strict=False)
    if fmt.json_schema is None:
        raise InvalidRequest("response_format.json_schema is required with type 'json_schema'")
    return ResponseFormat(
        name=fmt.json_schema.name,
        json_schema=fmt.json_schema.schema_,
        strict=bool(fmt.json_schema.strict),
    )


# --- answers ------------------------------------------------------------------------------


def _completion_id(provider_id: str | None) -> str:
    return f"chatcmpl-{provider_id or secrets.token_hex(12)}"


def _finish(reason: str | None) -> str:
    return _FINISH.get(reason or "stop", "stop")


def _usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def _calls(calls: Iterable[ToolCall]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "type": "function",
            "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
        }
        for c in calls
    ]


def completion(response: ChatResponse, *, requested_model: str) -> dict[str, Any]:
    """A ``chat.completion`` object for a tenantkit response."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": response.text if response.text or not response.tool_calls else None,
        "refusal": None,
    }
    if response.tool_calls:
        message["tool_calls"] = _calls(response.tool_calls)
    return {
        "id": _completion_id(response.id),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": response.model or requested_model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": _finish(response.finish_reason),
            }
        ],
        "usage": _usage(response.usage),
    }


def event_stream(
    events: Iterable[StreamEvent], *, requested_model: str, include_usage: bool
) -> str:
    """The whole ``text/event-stream`` body for a tenantkit event stream."""
    created = int(time.time())
    completion_id = _completion_id(None)
    model = requested_model
    lines: list[str] = []
    usage: Usage | None = None

    def chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> None:
        choices = (
            [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
            if delta is not None
            else []
        )
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
            **({"usage": None} if include_usage else {}),  # null until the last chunk
            **extra,
        }
        lines.append(f"data: {json.dumps(body, separators=(',', ':'))}\n\n")

    started = False
    for event in events:
        if isinstance(event, StartEvent):
            completion_id = _completion_id(event.id)
            model = event.model or requested_model
        if not started:
            chunk({"role": "assistant", "content": "", "refusal": None})
            started = True
        match event:
            case TextDelta(text=text) if text:
                chunk({"content": text})
            case ToolCallDelta():
                call: dict[str, Any] = {"index": event.index}
                if event.id:
                    call["id"] = event.id
                    call["type"] = "function"
                function: dict[str, Any] = {"arguments": event.arguments}
                if event.name:
                    function["name"] = event.name
                call["function"] = function
                chunk({"tool_calls": [call]})
            case UsageEvent():
                usage = event.usage
            case FinishEvent(reason=reason):
                chunk({}, _finish(reason))
    if include_usage:
        chunk(None, usage=_usage(usage or Usage()))
    lines.append("data: [DONE]\n\n")
    return "".join(lines)


# --- the rest of the gateway: models, embeddings, errors -------------------------------------
#
# ``GET /v1/models`` (https://platform.openai.com/docs/api-reference/models/list),
# ``POST /v1/embeddings`` (https://platform.openai.com/docs/api-reference/embeddings) and
# OpenAI's error object (https://platform.openai.com/docs/guides/error-codes and the
# ``{"error": {"message", "type", "param", "code"}}`` body of every error answer).

#: The model name every client may send: the tenant's own model.
DEFAULT_MODEL = "default"


class EmbeddingsBody(BaseModel):
    """The request body of ``POST /v1/embeddings``."""

    model_config = _open

    model: str
    input: str | list[str] = Field(min_length=1, max_length=2048)
    dimensions: int | None = Field(default=None, gt=0, le=65_536)
    encoding_format: Literal["float", "base64"] = "float"
    user: str | None = None

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


class ModelNotFound(NotFound):
    """The request names a model the tenant does not offer (OpenAI's 404 ``model_not_found``)."""

    kind = "model_not_found"


def tenant_models(settings: Any) -> tuple[str, str | None]:
    """The tenant's chat model and embedding model names, read from its LLM settings
    (``model`` or ``deployment``; ``embedding_model`` or ``embedding_deployment``)."""
    chat = getattr(settings, "model", None) or getattr(settings, "deployment", None)
    embedding = getattr(settings, "embedding_model", None) or getattr(
        settings, "embedding_deployment", None
    )
    return (str(chat) if chat else DEFAULT_MODEL), (str(embedding) if embedding else None)


def resolve_model(requested: str, offered: str | None, aliases: Iterable[str]) -> None:
    """Check the request's ``model`` against the rule: ``"default"``, the tenant's own
    model, or one of the deployment's aliases, all of which mean the tenant's model.
    Anything else is refused with 404 ``model_not_found``: a caller never picks a
    model the tenant did not configure."""
    if requested in (DEFAULT_MODEL, "") or requested == offered or requested in set(aliases):
        return
    raise ModelNotFound(f"The model '{requested[:200]}' does not exist")


def models_list(
    *, chat: str, embedding: str | None, aliases: Iterable[str], owner: str
) -> dict[str, Any]:
    """The ``list`` of ``model`` objects a tenant's callers may name."""
    names = [DEFAULT_MODEL, chat, *([embedding] if embedding else []), *aliases]
    unique = list(dict.fromkeys(names))
    return {
        "object": "list",
        "data": [{"id": n, "object": "model", "created": 0, "owned_by": owner} for n in unique],
    }


def embeddings_answer(
    vectors: list[list[float]], *, model: str, input_tokens: int, encoding: str
) -> dict[str, Any]:
    """The ``list`` of ``embedding`` objects; ``base64`` packs each vector as little-endian
    float32, as OpenAI does (and as its Python client asks for by default)."""

    def encoded(vector: list[float]) -> list[float] | str:
        if encoding == "base64":
            return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        return vector

    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": encoded(v)}
            for i, v in enumerate(vectors)
        ],
        "model": model,
        "usage": {"prompt_tokens": input_tokens, "total_tokens": input_tokens},
    }


#: OpenAI's error ``type`` per status (its documented error classes).
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_exceeded",
}


def openai_error(status: int, error: Mapping[str, Any]) -> dict[str, Any]:
    """OpenAI's error body for one of the runtime's error answers (``error`` is the
    ``{"code", "message", "request_id", "details"?}`` of :mod:`http_errors`).

    Validation problems answer 400 as OpenAI does (not 422), ``param`` naming the first
    field; server-side failures keep their 5xx status with type ``server_error``.
    """
    details = error.get("details") or []
    param = details[0]["path"] if details else None
    code = error.get("code")
    if code == "invalid_token":
        code = "invalid_api_key"
    return {
        "error": {
            "message": error.get("message") or "",
            "type": _ERROR_TYPES.get(
                status, "server_error" if status >= 500 else "invalid_request_error"
            ),
            "param": param,
            "code": code,
        }
    }
