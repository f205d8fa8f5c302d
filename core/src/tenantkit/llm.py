"""The LLM interface: one request model, one response model, one set of stream events.

A provider implements :class:`LLM` and translates :class:`ChatRequest` into its wire
format and its answers back into :class:`ChatResponse` and :data:`StreamEvent`.
Finish reasons are normalized (:data:`FinishReason`) and the provider's own reason is
kept in ``raw_finish_reason``.
"""

# Annotations are evaluated at class definition (no ``from __future__ import
# annotations``): pydantic would otherwise compile each field's annotation from its
# text when the model is defined, a cost paid on every cold start.

import abc
import base64
import binascii
import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tenantkit import untrusted
from tenantkit.errors import InvalidRequest, StreamInterrupted, TenantkitError, Unsupported

__all__ = [
    "LLM",
    "ChatRequest",
    "ChatResponse",
    "ChatStream",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "FinishEvent",
    "FinishReason",
    "GeneratedImage",
    "ImagePart",
    "ImageRequest",
    "ImageResponse",
    "InlineImage",
    "LLMCapability",
    "Message",
    "NamedToolChoice",
    "Part",
    "ResponseFormat",
    "StartEvent",
    "StreamEvent",
    "TextDelta",
    "TextPart",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "UsageEvent",
    "image_source",
]

_model = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class LLMCapability(enum.StrEnum):
    """Optional LLM features. ``chat`` is required."""

    STREAMING = "streaming"
    TOOLS = "tools"
    VISION = "vision"
    """Image parts in user messages."""
    JSON_SCHEMA = "json_schema"
    IMAGE_GENERATION = "image_generation"
    EMBEDDINGS = "embeddings"
    """Vectors for texts (:meth:`LLM.embed`)."""


# --- request --------------------------------------------------------------------------


class TextPart(BaseModel):
    model_config = _model
    type: Literal["text"] = "text"
    text: str


class ImagePart(BaseModel):
    """An image given by URL or by its bytes (sent base64-encoded)."""

    model_config = _model
    type: Literal["image"] = "image"
    url: str | None = None
    data: bytes | None = None
    media_type: str | None = None
    """MIME type, required with ``data`` (``image/png``, ``image/jpeg``...)."""


Part = Annotated[TextPart | ImagePart, Field(discriminator="type")]


@dataclass(frozen=True)
class InlineImage:
    """An image's bytes as base64 text, with its MIME type."""

    media_type: str
    data: str


def image_source(part: ImagePart, where: str, *, provider: str | None = None) -> InlineImage | str:
    """What a provider sends for an image part: its bytes (given as ``data``, or as a
    ``data:<type>;base64,...`` URL, checked) or the URL it is at.

    ``where`` names the part in errors (``messages[0].content[1]``); a part without a
    url or data, data without a media type, or a malformed data URL is
    :class:`~tenantkit.errors.InvalidRequest` naming the field.
    """
    if part.data is not None:
        if not part.media_type:
            raise _invalid(f"{where}.media_type", "is required with image data", provider)
        return InlineImage(part.media_type, base64.b64encode(part.data).decode("ascii"))
    if not part.url:
        raise _invalid(where, "an image needs a url or data", provider)
    if not part.url.startswith("data:"):
        return part.url
    header, sep, data = part.url.partition(",")
    media_type = header[len("data:") :].removesuffix(";base64")
    if not sep or not header.endswith(";base64") or not media_type:
        raise _invalid(f"{where}.url", "data URLs must be data:<type>;base64,<data>", provider)
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(f"{where}.url", "the data URL is not valid base64", provider) from None
    return InlineImage(media_type, data)


def _invalid(field: str, problem: str, provider: str | None) -> InvalidRequest:
    return InvalidRequest(f"{field}: {problem}", provider=provider)


class ToolCall(BaseModel):
    """A call the model asks for; ``arguments`` is the decoded JSON object."""

    model_config = _model
    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class Message(BaseModel):
    """One turn. ``tool`` messages answer the assistant's tool call ``tool_call_id``."""

    model_config = _model
    role: Literal["system", "user", "assistant", "tool"]
    content: str | list[Part] = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None

    @property
    def text(self) -> str:
        """The concatenated text of the content."""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


class Tool(BaseModel):
    """A function the model may call; ``parameters`` is a JSON Schema object."""

    model_config = _model
    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class NamedToolChoice(BaseModel):
    model_config = _model
    name: str


class ResponseFormat(BaseModel):
    """Ask for JSON output that validates against ``json_schema``."""

    model_config = _model
    name: str = "response"
    json_schema: dict[str, Any]
    strict: bool = True


class ChatRequest(BaseModel):
    """A chat request. ``model`` overrides the tenant's configured default model."""

    model_config = _model
    messages: list[Message]
    model: str | None = None
    tools: list[Tool] = Field(default_factory=list)
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    response_format: ResponseFormat | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0, le=2)
    stop: list[str] = Field(default_factory=list)

    @property
    def system(self) -> str:
        """All system messages joined, for providers that take one system field."""
        return "\n\n".join(m.text for m in self.messages if m.role == "system")


# --- response -------------------------------------------------------------------------

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "other"]


class Usage(BaseModel):
    """Token counts. ``cached_tokens`` and ``reasoning_tokens`` are parts of the others."""

    model_config = _model
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class ChatResponse(BaseModel):
    model_config = _model
    id: str | None = None
    model: str | None = None
    provider: str | None = None
    message: Message
    finish_reason: FinishReason
    raw_finish_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)
    request_id: str | None = None

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def tool_calls(self) -> list[ToolCall]:
        return self.message.tool_calls


# --- stream ---------------------------------------------------------------------------


class StartEvent(BaseModel):
    model_config = _model
    type: Literal["start"] = "start"
    id: str | None = None
    model: str | None = None
    request_id: str | None = None


class TextDelta(BaseModel):
    model_config = _model
    type: Literal["text"] = "text"
    text: str


class ToolCallDelta(BaseModel):
    """A piece of tool call ``index``: ``id``/``name`` arrive once, ``arguments`` in pieces."""

    model_config = _model
    type: Literal["tool_call"] = "tool_call"
    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


class UsageEvent(BaseModel):
    model_config = _model
    type: Literal["usage"] = "usage"
    usage: Usage


class FinishEvent(BaseModel):
    model_config = _model
    type: Literal["finish"] = "finish"
    reason: FinishReason
    raw_reason: str | None = None


StreamEvent = Annotated[
    StartEvent | TextDelta | ToolCallDelta | UsageEvent | FinishEvent,
    Field(discriminator="type"),
]


class ChatStream(Iterator["StreamEvent"]):
    """Iterates a provider's stream events and assembles the final response.

    ``text`` is what arrived so far; after the last event ``response`` is the
    assembled :class:`ChatResponse`. If the provider's stream breaks, the
    :class:`StreamInterrupted` raised carries ``partial_text``. Use it as a context
    manager (or call ``close()``) to release the connection early.
    """

    def __init__(self, events: Iterator[StreamEvent], *, provider: str | None = None) -> None:
        self._events = events
        self._provider = provider
        self._text: list[str] = []
        self._calls: dict[int, dict[str, Any]] = {}
        self._usage = Usage()
        self._finish: FinishEvent | None = None
        self._start = StartEvent()
        self._response: ChatResponse | None = None

    def __iter__(self) -> "ChatStream":
        return self

    def __next__(self) -> StreamEvent:
        try:
            event = next(self._events)
        except StopIteration:
            self._complete()
            raise
        except StreamInterrupted as exc:
            exc.partial_text = self.text
            raise
        except TenantkitError:
            raise
        self._absorb(event)
        return event

    def __enter__(self) -> "ChatStream":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        close = getattr(self._events, "close", None)
        if callable(close):
            close()

    @property
    def text(self) -> str:
        return "".join(self._text)

    @property
    def response(self) -> ChatResponse:
        """The assembled response; consumes the rest of the stream if needed."""
        if self._response is None:
            for _ in self:
                pass
        assert self._response is not None
        return self._response

    def _absorb(self, event: StreamEvent) -> None:
        match event:
            case TextDelta(text=text):
                self._text.append(text)
            case ToolCallDelta():
                call = self._calls.setdefault(event.index, {"id": None, "name": None, "args": []})
                if event.id:
                    call["id"] = event.id
                if event.name:
                    call["name"] = event.name
                call["args"].append(event.arguments)
            case UsageEvent(usage=usage):
                self._usage = usage
            case FinishEvent():
                self._finish = event
            case StartEvent():
                self._start = event

    def _complete(self) -> None:
        if self._response is not None:
            return
        calls = []
        for index in sorted(self._calls):
            call = self._calls[index]
            raw = "".join(call["args"]) or "{}"
            try:
                arguments = untrusted.loads(raw, what=f"tool call {index}'s arguments")
            except InvalidRequest as exc:
                raise StreamInterrupted(
                    f"tool call {index} arrived with arguments that are not JSON "
                    f"within the limits ({exc.message})",
                    provider=self._provider,
                    partial_text=self.text,
                ) from exc
            calls.append(
                ToolCall(
                    id=call["id"] or f"call_{index}", name=call["name"] or "", arguments=arguments
                )
            )
        if self._finish is None:
            raise StreamInterrupted(
                "the stream ended without a finish event",
                provider=self._provider,
                partial_text=self.text,
            )
        self._response = ChatResponse(
            id=self._start.id,
            model=self._start.model,
            provider=self._provider,
            message=Message(role="assistant", content=self.text, tool_calls=calls),
            finish_reason=self._finish.reason,
            raw_finish_reason=self._finish.raw_reason,
            usage=self._usage,
            request_id=self._start.request_id,
        )


# --- images ---------------------------------------------------------------------------


class ImageRequest(BaseModel):
    model_config = _model
    prompt: str
    model: str | None = None
    size: str | None = None
    """``"1024x1024"`` style, where the provider takes a size."""
    n: int = Field(default=1, ge=1, le=10)


class GeneratedImage(BaseModel):
    model_config = _model
    data: bytes
    media_type: str = "image/png"


class ImageResponse(BaseModel):
    model_config = _model
    images: list[GeneratedImage]
    model: str | None = None
    usage: Usage = Field(default_factory=Usage)
    request_id: str | None = None


# --- embeddings -----------------------------------------------------------------------

#: At most this many texts in one embeddings request (OpenAI's own limit per request).
MAX_EMBEDDING_INPUTS = 2048


class EmbeddingRequest(BaseModel):
    """Texts to turn into vectors. ``model`` overrides the tenant's embedding model;
    ``dimensions`` asks for shorter vectors where the model can give them."""

    model_config = _model
    input: list[str] = Field(min_length=1, max_length=MAX_EMBEDDING_INPUTS)
    model: str | None = None
    dimensions: int | None = Field(default=None, gt=0, le=65_536)


class EmbeddingResponse(BaseModel):
    """One vector per input text, in the order of the inputs."""

    model_config = _model
    vectors: list[list[float]]
    model: str | None = None
    usage: Usage = Field(default_factory=Usage)
    request_id: str | None = None


# --- the provider interface -----------------------------------------------------------


class LLM(abc.ABC):
    """What an LLM provider implements."""

    capabilities: ClassVar[frozenset[LLMCapability]] = frozenset()

    @abc.abstractmethod
    def chat(self, request: ChatRequest) -> ChatResponse:
        """Send the request and wait for the whole answer."""

    def stream(self, request: ChatRequest) -> Iterator[StreamEvent]:
        """Yield events as they arrive: an optional ``StartEvent``, deltas, then
        ``UsageEvent`` and ``FinishEvent``. Needs ``STREAMING``.

        Errors before the first event are raised as usual; errors after it are
        raised as :class:`StreamInterrupted`. Release the connection in ``finally``.
        """
        raise Unsupported("this LLM provider does not support streaming")

    def generate_image(self, request: ImageRequest) -> ImageResponse:
        """Generate images and return their bytes. Needs ``IMAGE_GENERATION``."""
        raise Unsupported("this LLM provider does not generate images")

    def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """One vector per input text, in order. Needs ``EMBEDDINGS``."""
        raise Unsupported("this LLM provider does not compute embeddings")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. Called when the instance is evicted."""
