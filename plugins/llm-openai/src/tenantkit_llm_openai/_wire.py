"""The chat completions wire format, to and from tenantkit's LLM models.

One translation serves OpenAI, Azure OpenAI and compatible servers:

* request body: https://platform.openai.com/docs/api-reference/chat/create
* response object: https://platform.openai.com/docs/api-reference/chat/object
* stream chunks: https://platform.openai.com/docs/api-reference/chat/streaming
* images: https://platform.openai.com/docs/api-reference/images/create
* embeddings: https://platform.openai.com/docs/api-reference/embeddings/create (request:
  ``model``, ``input``, ``dimensions``, ``encoding_format``) and
  https://platform.openai.com/docs/api-reference/embeddings/object (a ``list`` of
  ``embedding`` objects with ``index``, and ``usage.prompt_tokens``); Azure answers the
  same body at ``deployments/{deployment}/embeddings``
* Azure additions (``prompt_filter_results``, ``content_filter_results``, the
  ``content_filter`` error): https://learn.microsoft.com/en-us/azure/ai-services/openai/concepts/content-filter
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tenantkit.errors import InvalidRequest, ProviderError, StreamInterrupted
from tenantkit.http import ErrorInfo
from tenantkit.llm import (
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    FinishEvent,
    FinishReason,
    GeneratedImage,
    ImagePart,
    ImageRequest,
    ImageResponse,
    InlineImage,
    Message,
    NamedToolChoice,
    StartEvent,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
    image_source,
)

if TYPE_CHECKING:
    import httpx

__all__ = [
    "StreamDecoder",
    "chat_body",
    "embedding_body",
    "error_info",
    "finish_reason",
    "image_body",
    "parse_chat",
    "parse_embeddings",
    "parse_images",
    "usage",
]

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


# --- request --------------------------------------------------------------------------


def chat_body(
    request: ChatRequest,
    *,
    model: str | None,
    max_tokens_field: str,
    stream: bool = False,
    stream_usage: bool = True,
) -> dict[str, Any]:
    """The JSON body for ``POST .../chat/completions``.

    ``model`` is left out when the URL names the deployment (Azure's deployment form).
    """
    body: dict[str, Any] = {}
    if model is not None:
        body["model"] = model
    body["messages"] = [_message(i, m) for i, m in enumerate(request.messages)]
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    **({"description": tool.description} if tool.description else {}),
                    "parameters": tool.parameters,
                },
            }
            for tool in request.tools
        ]
    if isinstance(request.tool_choice, NamedToolChoice):
        body["tool_choice"] = {"type": "function", "function": {"name": request.tool_choice.name}}
    elif request.tool_choice is not None:
        body["tool_choice"] = request.tool_choice
    if request.response_format is not None:
        fmt = request.response_format
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": fmt.name, "schema": fmt.json_schema, "strict": fmt.strict},
        }
    if request.max_tokens is not None:
        body[max_tokens_field] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.stop:
        body["stop"] = list(request.stop)
    if stream:
        body["stream"] = True
        if stream_usage:
            body["stream_options"] = {"include_usage": True}
    return body


def _message(i: int, message: Message) -> dict[str, Any]:
    where = f"messages[{i}]"
    role = message.role
    if role == "tool":
        if not message.tool_call_id:
            raise InvalidRequest(f"{where}.tool_call_id is required for a tool message")
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.text}
    if role == "user" and not isinstance(message.content, str):
        return {
            "role": "user",
            "content": [_part(f"{where}.content[{j}]", p) for j, p in enumerate(message.content)],
        }
    if not isinstance(message.content, str) and any(
        isinstance(p, ImagePart) for p in message.content
    ):
        raise InvalidRequest(f"{where}: only user messages may hold images")
    if role == "assistant":
        encoded: dict[str, Any] = {"role": "assistant", "content": message.text or None}
        if message.tool_calls:
            encoded["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for call in message.tool_calls
            ]
        elif encoded["content"] is None:
            encoded["content"] = ""
        return encoded
    return {"role": role, "content": message.text}


def _part(where: str, part: TextPart | ImagePart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    source = image_source(part, where)
    if isinstance(source, InlineImage):
        source = f"data:{source.media_type};base64,{source.data}"
    return {"type": "image_url", "image_url": {"url": source}}


# --- response -------------------------------------------------------------------------


def finish_reason(raw: str | None, *, refused: bool = False) -> FinishReason:
    """The normalized finish reason; a refusal counts as ``content_filter``."""
    if refused:
        return "content_filter"
    return _FINISH.get(raw or "", "other")


def usage(data: Any) -> Usage:
    """Usage from a ``usage`` object (prompt/completion tokens and their details)."""
    if not isinstance(data, dict):
        return Usage()
    prompt = data.get("prompt_tokens_details") or {}
    completion = data.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=data.get("prompt_tokens") or 0,
        output_tokens=data.get("completion_tokens") or 0,
        cached_tokens=prompt.get("cached_tokens") or 0,
        reasoning_tokens=completion.get("reasoning_tokens") or 0,
    )


def parse_chat(data: Any, *, provider: str, request_id: str | None) -> ChatResponse:
    """A ``chat.completion`` object as a :class:`ChatResponse`."""
    choices = data.get("choices") if isinstance(data, dict) else None
    if not choices or not isinstance(choices[0], dict):
        raise ProviderError(
            f"{provider} answered without a choice", provider=provider, request_id=request_id
        )
    choice = choices[0]
    message = choice.get("message") or {}
    refusal = message.get("refusal")
    calls = [
        _tool_call(i, call, provider, request_id)
        for i, call in enumerate(message.get("tool_calls") or ())
    ]
    raw = choice.get("finish_reason")
    return ChatResponse(
        id=data.get("id") or None,
        model=data.get("model") or None,
        provider=provider,
        message=Message(
            role="assistant", content=message.get("content") or refusal or "", tool_calls=calls
        ),
        finish_reason=finish_reason(raw, refused=bool(refusal)),
        raw_finish_reason=raw,
        usage=usage(data.get("usage")),
        request_id=request_id,
    )


def _tool_call(i: int, call: dict[str, Any], provider: str, request_id: str | None) -> ToolCall:
    function = call.get("function") or {}
    raw = function.get("arguments") or "{}"
    try:
        arguments = raw if isinstance(raw, dict) else json.loads(raw)
    except json.JSONDecodeError:
        arguments = None
    if not isinstance(arguments, dict):
        raise ProviderError(
            f"{provider} returned tool call {i} with arguments that are not a JSON object",
            provider=provider,
            request_id=request_id,
        )
    return ToolCall(
        id=call.get("id") or f"call_{i}", name=function.get("name") or "", arguments=arguments
    )


class StreamDecoder:
    """Turns the ``data`` of each stream chunk into stream events.

    The finish reason arrives in the last chunk with choices and the usage (with
    ``stream_options.include_usage``) in a later chunk with ``choices: []``, so both are
    held and given out by :meth:`end`, usage first. Azure's first chunk, carrying only
    ``prompt_filter_results``, yields nothing.

    A stream is over at ``data: [DONE]`` (:meth:`done`) or at a finish reason. Some
    compatible servers (OpenRouter) send every chunk with ``finish_reason: null`` and
    end with the usage chunk and ``[DONE]``: that stream is whole, its finish reason
    ``"other"``. A body that ends with neither was cut off: :class:`StreamInterrupted`.
    """

    __slots__ = (
        "_call_ids",
        "_done",
        "_finish",
        "_provider",
        "_refused",
        "_request_id",
        "_started",
        "_usage",
    )

    def __init__(self, *, provider: str, request_id: str | None) -> None:
        self._provider = provider
        self._request_id = request_id
        self._started = False
        self._finish: str | None = None
        self._refused = False
        self._usage: Usage | None = None
        self._call_ids: dict[str, int] = {}
        self._done = False

    def done(self) -> None:
        """The server sent ``data: [DONE]``: the stream ended as it should."""
        self._done = True

    def feed(self, data: str) -> list[StreamEvent]:
        """The events in one chunk."""
        try:
            chunk = json.loads(data)
        except ValueError:
            raise self._broken("sent a stream chunk that is not JSON") from None
        if not isinstance(chunk, dict):
            raise self._broken("sent a stream chunk that is not a JSON object")
        error = chunk.get("error")
        if error:
            info = _error_fields(error, chunk)
            raise StreamInterrupted(
                f"{self._provider} reported an error in the stream: "
                f"{info.message or 'no error message'}",
                provider=self._provider,
                code=info.code,
                request_id=self._request_id,
            )
        events: list[StreamEvent] = []
        choices = chunk.get("choices") or ()
        if not self._started and (choices or chunk.get("id")):
            self._started = True
            events.append(
                StartEvent(
                    id=chunk.get("id") or None,
                    model=chunk.get("model") or None,
                    request_id=self._request_id,
                )
            )
        for choice in choices:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if text:
                events.append(TextDelta(text=text))
            refusal = delta.get("refusal")
            if refusal:
                self._refused = True
                events.append(TextDelta(text=refusal))
            for call in delta.get("tool_calls") or ():
                events.append(self._tool_delta(call))
            raw = choice.get("finish_reason")
            if raw:
                self._finish = raw
        found = chunk.get("usage")
        if found:
            self._usage = usage(found)
        return events

    def end(self) -> list[StreamEvent]:
        """The closing events, once the stream is over (``[DONE]`` or end of body)."""
        if self._finish is None and not self._done:
            raise self._broken("ended the stream before a finish reason")
        events: list[StreamEvent] = []
        if self._usage is not None:
            events.append(UsageEvent(usage=self._usage))
        events.append(
            FinishEvent(
                reason=finish_reason(self._finish, refused=self._refused), raw_reason=self._finish
            )
        )
        return events

    def _tool_delta(self, call: dict[str, Any]) -> ToolCallDelta:
        call_id = call.get("id") or None
        index = call.get("index")
        if not isinstance(index, int):
            # Some compatible servers leave ``index`` out: a new id starts a new call.
            if call_id is None:
                index = max(len(self._call_ids) - 1, 0)
            else:
                index = self._call_ids.get(call_id, len(self._call_ids))
        if call_id is not None:
            self._call_ids.setdefault(call_id, index)
        function = call.get("function") or {}
        arguments = function.get("arguments") or ""
        if isinstance(arguments, dict):  # whole arguments as an object, not a JSON string
            arguments = json.dumps(arguments)
        return ToolCallDelta(
            index=index, id=call_id, name=function.get("name") or None, arguments=arguments
        )

    def _broken(self, what: str) -> StreamInterrupted:
        return StreamInterrupted(
            f"{self._provider} {what}", provider=self._provider, request_id=self._request_id
        )


# --- errors ---------------------------------------------------------------------------


def error_info(response: httpx.Response) -> ErrorInfo:
    """The code and message of an error body.

    OpenAI and Azure answer ``{"error": {"code", "message", "type", ...}}``; Azure's
    content filter adds ``innererror.content_filter_result`` (the REST specification
    spells it ``inner_error.content_filter_results``), whose filtered categories are
    appended to the message. Compatible servers answer ``{"error": "..."}`` (Ollama) or
    ``{"object": "error", "message": ...}`` (vLLM).
    """
    body = response.json()
    if not isinstance(body, dict):
        return ErrorInfo(message=str(body)[:500])
    return _error_fields(body.get("error"), body)


def _error_fields(error: Any, body: dict[str, Any]) -> ErrorInfo:
    if isinstance(error, str):
        return ErrorInfo(message=error)
    if not isinstance(error, dict):
        error = body
    code = error.get("code") or error.get("type")
    message = str(error.get("message") or "")
    inner = error.get("innererror") or error.get("inner_error")
    if isinstance(inner, dict):
        results = inner.get("content_filter_result") or inner.get("content_filter_results")
        if isinstance(results, dict):
            hits = [
                f"{name}={result.get('severity', 'detected')}"
                for name, result in results.items()
                if isinstance(result, dict) and result.get("filtered")
            ]
            if hits:
                message = f"{message} (filtered: {', '.join(hits)})"
    return ErrorInfo(code=str(code) if code is not None else None, message=message)


# --- images ---------------------------------------------------------------------------


def image_body(request: ImageRequest, *, model: str | None) -> dict[str, Any]:
    """The JSON body for ``POST .../images/generations``.

    GPT image models always answer ``b64_json``; DALL-E models answer URLs unless asked
    for ``b64_json``, and GPT image models reject the parameter.
    """
    body: dict[str, Any] = {"prompt": request.prompt, "n": request.n}
    if model is not None:
        body["model"] = model
    if request.size is not None:
        body["size"] = request.size
    if model is not None and model.startswith("dall-e"):
        body["response_format"] = "b64_json"
    return body


def parse_images(
    data: Any,
    *,
    provider: str,
    model: str | None,
    request_id: str | None,
    fetch: Callable[[str], bytes],
) -> ImageResponse:
    """An images response as bytes; ``fetch(url) -> bytes`` downloads URL results."""
    items = data.get("data") if isinstance(data, dict) else None
    if not items:
        raise ProviderError(
            f"{provider} answered without an image", provider=provider, request_id=request_id
        )
    images: list[GeneratedImage] = []
    declared = data.get("output_format")
    for i, item in enumerate(items):
        if item.get("b64_json"):
            try:
                raw = base64.b64decode(item["b64_json"], validate=True)
            except (binascii.Error, ValueError):
                raise ProviderError(
                    f"{provider} returned image {i} with invalid base64",
                    provider=provider,
                    request_id=request_id,
                ) from None
        elif item.get("url"):
            raw = fetch(item["url"])
        else:
            raise ProviderError(
                f"{provider} returned image {i} without data",
                provider=provider,
                request_id=request_id,
            )
        images.append(GeneratedImage(data=raw, media_type=_media_type(raw, declared)))
    found = data.get("usage") or {}
    return ImageResponse(
        images=images,
        model=model,
        usage=Usage(
            input_tokens=found.get("input_tokens") or 0,
            output_tokens=found.get("output_tokens") or 0,
        ),
        request_id=request_id,
    )


def embedding_body(request: EmbeddingRequest, *, model: str | None) -> dict[str, Any]:
    """The JSON body for ``POST .../embeddings``: floats, not the base64 form."""
    body: dict[str, Any] = {"input": list(request.input), "encoding_format": "float"}
    if model is not None:
        body["model"] = model
    if request.dimensions is not None:
        body["dimensions"] = request.dimensions
    return body


def parse_embeddings(
    data: Any, *, provider: str, count: int, request_id: str | None
) -> EmbeddingResponse:
    """An embeddings list, put back in input order by each item's ``index``."""

    def bad(why: str) -> ProviderError:
        return ProviderError(f"{provider} {why}", provider=provider, request_id=request_id)

    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list) or len(items) != count:
        raise bad(
            f"answered {len(items) if isinstance(items, list) else 'no'} embeddings "
            f"for {count} inputs"
        )
    vectors: list[list[float] | None] = [None] * count
    for item in items:
        index = item.get("index") if isinstance(item, dict) else None
        vector = item.get("embedding") if isinstance(item, dict) else None
        if not isinstance(index, int) or not 0 <= index < count or vectors[index] is not None:
            raise bad("answered an embedding with a missing or repeated index")
        if not isinstance(vector, list) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in vector
        ):
            raise bad(f"answered embedding {index} that is not a list of numbers")
        vectors[index] = [float(x) for x in vector]
    found = data.get("usage") or {}
    return EmbeddingResponse(
        vectors=[v for v in vectors if v is not None],
        model=data.get("model") if isinstance(data.get("model"), str) else None,
        usage=Usage(input_tokens=found.get("prompt_tokens") or 0),
        request_id=request_id,
    )


def _media_type(data: bytes, declared: Any) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if declared in ("png", "jpeg", "webp"):
        return f"image/{declared}"
    return "application/octet-stream"
