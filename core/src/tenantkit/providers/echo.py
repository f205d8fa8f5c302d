"""The embedded ``echo`` LLM: deterministic, offline, for local development and tests.

By default it answers with the text of the last user (or tool) message, prefixed
with ``settings.prefix`` (``"echo: "``)::

    >>> llm = EchoLLM(EchoSettings())
    >>> llm.chat(ChatRequest(messages=[Message(role="user", content="hi")])).text
    'echo: hi'

What it does with a request, in order:

* **Scripted replies** come first: ``settings.replies`` and whatever was queued with
  :meth:`EchoLLM.enqueue` / :meth:`EchoLLM.script` are answered one per call
  (``chat``, ``stream`` and ``generate_image`` share the queue). A reply gives text,
  tool calls, an optional raw finish reason and usage, or an error to raise.
* **Default replies** otherwise: with ``tool_choice="required"`` or a named tool, a
  call of that tool (or the first one) whose arguments are built from its parameters
  schema; with a ``response_format``, a JSON object built from the schema; else the
  echo. ``stop`` sequences cut the echo, and ``max_tokens`` truncates it to that many
  words with finish reason ``length``.
* ``settings.fail_with`` fails every call with the error it names.

Streams yield a :class:`StartEvent`, the text in whitespace-preserving word pieces
(``"a b"`` → ``"a "``, ``"b"``), each tool call as one delta carrying its id and name
followed by its JSON arguments in fragments of :data:`ARGUMENT_FRAGMENT` characters,
then a :class:`UsageEvent` and a :class:`FinishEvent`.

**Usage** is counted in words (whitespace-separated): ``input_tokens`` counts the words
of every message's text and of its tool calls (name and JSON arguments), plus one per
image part; ``output_tokens`` counts the reply text's words and its tool calls' (name
and JSON arguments). ``cached_tokens`` and ``reasoning_tokens`` are 0 unless a
scripted reply gives its own usage.

**Finish reasons**: a scripted reply's ``finish`` is the raw reason; ``stop``,
``length``, ``tool_calls`` and ``content_filter`` normalize to themselves, anything
else to ``other``. Without one it is ``tool_calls`` when the reply calls tools, else
``stop``.

**Errors**: a failure names any provider error of :mod:`tenantkit.errors` by its
``kind`` (``"rate_limited"``) or class name (``"RateLimited"``), with an optional
``retry_after`` and message. ``after=N`` fails a stream with
:class:`~tenantkit.errors.StreamInterrupted` after N text or tool-call deltas (a
``chat`` call given such a reply raises the same error).

**JSON-schema output** fills the schema's *required* properties with type-appropriate
defaults: ``default``, ``const`` or the first ``enum`` value when given, else ``""``
(padded to ``minLength``; a few ``format`` values get a sample), ``0`` / ``0.0``
(moved into ``minimum``/``maximum``), ``false``, ``null``, ``[]`` (``minItems``
copies of the item sample), nested objects likewise. ``anyOf``/``oneOf`` take the
first branch, ``allOf`` merges object branches, local ``$ref`` (``#/...``) are
followed. Not honoured: ``pattern``, ``multipleOf``, ``not``, ``if``/``then``,
``uniqueItems``, ``dependentRequired``, remote references.

**Embeddings**: ``embed`` gives each text a unit vector of
:data:`EMBEDDING_DIMENSIONS` floats (or the request's ``dimensions``) derived from the
text's SHA-256, so the same text always gets the same vector and different texts
different ones; usage counts the texts' words. A scripted reply's ``vectors`` are
returned instead.

**Images**: ``generate_image`` returns ``n`` solid-colour PNG images whose colour is
derived from the prompt and the image's position, of the requested ``size``
(``"WIDTHxHEIGHT"``) with each side capped at :data:`MAX_IMAGE_SIDE` pixels (8x8
without a size). A scripted reply's ``images`` (base64 in settings) are returned
instead.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import struct
import threading
import zlib
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import Base64Bytes, BaseModel, ConfigDict, Field, field_validator, model_validator

from tenantkit import errors
from tenantkit.errors import (
    CallerError,
    InvalidRequest,
    ProviderError,
    StreamInterrupted,
    TenantkitError,
    Unsupported,
)
from tenantkit.hookspecs import hookimpl
from tenantkit.llm import (
    LLM,
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
    LLMCapability,
    Message,
    NamedToolChoice,
    StartEvent,
    StreamEvent,
    TextDelta,
    TextPart,
    Tool,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from tenantkit.registry import ProviderContext, Register
from tenantkit.settings import ProviderSettings, TenantOwned

__all__ = [
    "ARGUMENT_FRAGMENT",
    "EMBEDDING_DIMENSIONS",
    "MAX_IMAGE_SIDE",
    "EchoFailure",
    "EchoLLM",
    "EchoReply",
    "EchoSettings",
    "EchoToolCall",
    "png",
    "word_pieces",
]

#: Tool-call arguments stream in fragments of this many characters.
ARGUMENT_FRAGMENT = 8
#: The length of an echo embedding when the request names no ``dimensions``.
EMBEDDING_DIMENSIONS = 16
#: Generated images are at most this many pixels wide and high.
MAX_IMAGE_SIDE = 64
_DEFAULT_IMAGE_SIDE = 8
_MAX_SCHEMA_DEPTH = 32
_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
}
_model = ConfigDict(extra="forbid", frozen=True)


def _error_classes() -> dict[str, type[TenantkitError]]:
    found: dict[str, type[TenantkitError]] = {}
    for name in errors.__all__:
        cls = getattr(errors, name)
        if isinstance(cls, type) and issubclass(cls, CallerError | ProviderError):
            found[cls.kind] = cls
            found[cls.__name__] = cls
    return found


_ERRORS = _error_classes()


# --- settings ---------------------------------------------------------------------------


class EchoFailure(BaseModel):
    """An error for echo to raise instead of answering.

    ``after`` fails a stream mid-way, after that many deltas; such failures are
    always ``stream_interrupted``, as the stream contract requires.
    """

    model_config = _model
    error: str = Field(
        description='The error\'s ``kind`` (``"rate_limited"``) or class name (``"RateLimited"``).'
    )
    message: str = ""
    retry_after: float | None = Field(default=None, ge=0)
    after: int | None = Field(default=None, ge=0)

    @field_validator("error")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in _ERRORS:
            known = ", ".join(sorted(k for k in _ERRORS if k.islower()))
            raise ValueError(f"unknown error kind {value!r} (known: {known})")
        return value

    @model_validator(mode="after")
    def _mid_stream(self) -> EchoFailure:
        if self.after is not None and _ERRORS[self.error] is not StreamInterrupted:
            raise ValueError("a failure with 'after' (mid-stream) must be 'stream_interrupted'")
        return self

    def exception(self, provider: str, partial_text: str = "") -> TenantkitError:
        cls = _ERRORS[self.error]
        message = self.message or f"echo was told to fail with {cls.kind}"
        if cls is StreamInterrupted:
            return StreamInterrupted(
                message,
                provider=provider,
                code=cls.kind,
                retry_after=self.retry_after,
                partial_text=partial_text,
            )
        return cls(message, provider=provider, code=cls.kind, retry_after=self.retry_after)


class EchoToolCall(BaseModel):
    """A scripted tool call; ``id`` defaults to a deterministic ``echo-call-...``."""

    model_config = _model
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None


class EchoReply(BaseModel):
    """One scripted answer. A plain string in settings means ``{"text": ...}``."""

    model_config = _model
    text: str = ""
    tool_calls: tuple[EchoToolCall, ...] = ()
    finish: str | None = Field(
        default=None,
        description="The raw finish reason (normalized as documented in the module).",
    )
    usage: Usage | None = None
    images: tuple[Base64Bytes, ...] = Field(
        default=(), description="Images for ``generate_image`` to return, base64-encoded."
    )
    vectors: tuple[tuple[float, ...], ...] = Field(
        default=(), description="Vectors for ``embed`` to return."
    )
    error: EchoFailure | None = None


def _reply(value: EchoReply | str | Mapping[str, Any]) -> EchoReply:
    if isinstance(value, EchoReply):
        return value
    if isinstance(value, str):
        return EchoReply(text=value)
    return EchoReply.model_validate(value)


class EchoSettings(ProviderSettings):
    """Settings of the ``echo`` provider (nothing secret).

    A tenant admin may change ``model`` and ``prefix`` (tenant-owned); the scripted
    ``replies`` and ``fail_with`` are the operator's.
    """

    model: Annotated[str, TenantOwned] = Field(
        default="echo-1",
        max_length=200,
        description="The model name reported when a request names none.",
    )
    prefix: Annotated[str, TenantOwned] = Field(default="echo: ", max_length=200)
    replies: tuple[EchoReply, ...] = Field(
        default=(), description="Scripted answers, used one per call before the default echo."
    )
    fail_with: EchoFailure | None = Field(
        default=None, description="Fail every call with this error (an outage, a revoked key...)."
    )

    @field_validator("replies", mode="before")
    @classmethod
    def _text_replies(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [{"text": v} if isinstance(v, str) else v for v in value]
        return value


# --- the provider -----------------------------------------------------------------------


@dataclass
class _Answer:
    id: str
    model: str
    text: str
    calls: list[ToolCall]
    raw_finish: str
    usage: Usage
    failure: EchoFailure | None = None

    @property
    def finish(self) -> FinishReason:
        return _FINISH_REASONS.get(self.raw_finish, "other")


class EchoLLM(LLM):
    """The echo provider. Thread-safe; the reply queue is shared by every caller."""

    capabilities: ClassVar[frozenset[LLMCapability]] = frozenset(
        {
            LLMCapability.STREAMING,
            LLMCapability.TOOLS,
            LLMCapability.VISION,
            LLMCapability.JSON_SCHEMA,
            LLMCapability.IMAGE_GENERATION,
            LLMCapability.EMBEDDINGS,
        }
    )

    def __init__(self, settings: EchoSettings, context: ProviderContext | None = None) -> None:
        self.settings = settings
        self.provider = context.provider if context is not None else "echo"
        self._queue: deque[EchoReply] = deque(settings.replies)
        self._lock = threading.Lock()
        self._open_streams = 0
        self._counter = itertools.count(1)
        self._last: ChatRequest | None = None

    def __repr__(self) -> str:
        return f"EchoLLM(model={self.settings.model!r}, pending={self.pending})"

    # --- scripting ----------------------------------------------------------------------

    def enqueue(self, *replies: EchoReply | str | Mapping[str, Any]) -> None:
        """Queue replies after those already pending."""
        parsed = [_reply(r) for r in replies]
        with self._lock:
            self._queue.extend(parsed)

    def script(self, *replies: EchoReply | str | Mapping[str, Any]) -> None:
        """Replace the pending replies with these."""
        parsed = [_reply(r) for r in replies]
        with self._lock:
            self._queue.clear()
            self._queue.extend(parsed)

    @property
    def pending(self) -> int:
        """How many scripted replies are still queued."""
        return len(self._queue)

    @property
    def open_streams(self) -> int:
        """How many streams were started and are neither finished nor closed."""
        return self._open_streams

    @property
    def last_request(self) -> ChatRequest | None:
        """The last chat request received (``chat`` or ``stream``)."""
        return self._last

    # --- LLM ------------------------------------------------------------------------------

    def chat(self, request: ChatRequest) -> ChatResponse:
        answer = self._answer(request)
        if answer.failure is not None:
            raise answer.failure.exception(self.provider)
        return ChatResponse(
            id=answer.id,
            model=answer.model,
            provider=self.provider,
            message=Message(role="assistant", content=answer.text, tool_calls=answer.calls),
            finish_reason=answer.finish,
            raw_finish_reason=answer.raw_finish,
            usage=answer.usage,
            request_id=_request_id(answer.id),
        )

    def stream(self, request: ChatRequest) -> Iterator[StreamEvent]:
        self._need(LLMCapability.STREAMING, "streaming")
        return self._events(self._answer(request))

    def generate_image(self, request: ImageRequest) -> ImageResponse:
        self._need(LLMCapability.IMAGE_GENERATION, "image generation")
        width, height = _image_size(request.size)
        turn = self._turn()
        if turn is not None and turn.error is not None:
            raise turn.error.exception(self.provider)
        n = next(self._counter)
        if turn is not None and turn.images:
            images = [
                GeneratedImage(data=data, media_type=_media_type(data)) for data in turn.images
            ]
        else:
            images = [
                GeneratedImage(data=png(width, height, _colour(f"{request.prompt}\0{i}")))
                for i in range(request.n)
            ]
        usage = turn.usage if turn is not None and turn.usage is not None else None
        return ImageResponse(
            images=images,
            model=request.model or self.settings.model,
            usage=usage or Usage(input_tokens=_words(request.prompt)),
            request_id=_request_id(f"echo-{n}"),
        )

    def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        self._need(LLMCapability.EMBEDDINGS, "embeddings")
        turn = self._turn()
        if turn is not None and turn.error is not None:
            raise turn.error.exception(self.provider)
        n = next(self._counter)
        if turn is not None and turn.vectors:
            vectors = [list(v) for v in turn.vectors]
        else:
            size = request.dimensions or EMBEDDING_DIMENSIONS
            vectors = [_vector(text, size) for text in request.input]
        usage = turn.usage if turn is not None and turn.usage is not None else None
        return EmbeddingResponse(
            vectors=vectors,
            model=request.model or self.settings.model,
            usage=usage or Usage(input_tokens=sum(_words(t) for t in request.input)),
            request_id=_request_id(f"echo-{n}"),
        )

    def close(self) -> None:
        with self._lock:
            self._queue.clear()

    # --- internals ------------------------------------------------------------------------

    def _need(self, capability: LLMCapability, what: str) -> None:
        if capability not in self.capabilities:
            raise Unsupported(
                f"{self.provider} does not support {what} (capability {capability.value!r})",
                provider=self.provider,
            )

    def _check(self, request: ChatRequest) -> None:
        if request.tools or request.tool_choice not in (None, "none"):
            self._need(LLMCapability.TOOLS, "tools")
        if request.response_format is not None:
            self._need(LLMCapability.JSON_SCHEMA, "JSON-schema output")
        if any(isinstance(part, ImagePart) for m in request.messages for part in _parts(m)):
            self._need(LLMCapability.VISION, "image input")
        if isinstance(request.tool_choice, NamedToolChoice) and request.tool_choice.name not in {
            t.name for t in request.tools
        }:
            raise InvalidRequest(
                f"tool_choice names {request.tool_choice.name!r}, which is not among the tools",
                provider=self.provider,
            )

    def _turn(self) -> EchoReply | None:
        if self.settings.fail_with is not None:
            raise self.settings.fail_with.exception(self.provider)
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def _answer(self, request: ChatRequest) -> _Answer:
        self._check(request)
        self._last = request
        turn = self._turn()
        if turn is not None and turn.error is not None and turn.error.after is None:
            raise turn.error.exception(self.provider)
        answer_id = f"echo-{next(self._counter)}"
        model = request.model or self.settings.model
        if turn is not None:
            calls = [
                ToolCall(id=c.id or f"{answer_id}-call-{i}", name=c.name, arguments=c.arguments)
                for i, c in enumerate(turn.tool_calls)
            ]
            return _Answer(
                id=answer_id,
                model=model,
                text=turn.text,
                calls=calls,
                raw_finish=turn.finish or ("tool_calls" if calls else "stop"),
                usage=turn.usage or _usage(request, turn.text, calls),
                failure=turn.error,
            )
        return self._default(request, answer_id, model)

    def _default(self, request: ChatRequest, answer_id: str, model: str) -> _Answer:
        calls: list[ToolCall] = []
        finish = "stop"
        tool = _forced_tool(request)
        if tool is not None:
            calls = [
                ToolCall(
                    id=f"{answer_id}-call-0",
                    name=tool.name,
                    arguments=_sample_object(tool.parameters, f"tools[{tool.name}].parameters"),
                )
            ]
            text, finish = "", "tool_calls"
        elif request.response_format is not None:
            text = json.dumps(
                _sample_object(request.response_format.json_schema, "response_format.json_schema")
            )
        else:
            text = self.settings.prefix + _echoed(request.messages)
            cut = min((i for s in request.stop if s and (i := text.find(s)) >= 0), default=None)
            if cut is not None:
                text = text[:cut]
        if request.max_tokens is not None and _words(text) > request.max_tokens:
            words = [p for p in word_pieces(text) if p.strip()]
            text = "".join(words[: request.max_tokens]).rstrip()
            finish = "length"
        return _Answer(
            id=answer_id,
            model=model,
            text=text,
            calls=calls,
            raw_finish=finish,
            usage=_usage(request, text, calls),
        )

    def _events(self, answer: _Answer) -> Iterator[StreamEvent]:
        with self._lock:
            self._open_streams += 1
        try:
            yield from self._stream_events(answer)
        finally:
            with self._lock:
                self._open_streams -= 1

    def _stream_events(self, answer: _Answer) -> Iterator[StreamEvent]:
        yield StartEvent(id=answer.id, model=answer.model, request_id=_request_id(answer.id))
        deltas: list[TextDelta | ToolCallDelta] = [
            TextDelta(text=p) for p in word_pieces(answer.text)
        ]
        for index, call in enumerate(answer.calls):
            deltas.append(ToolCallDelta(index=index, id=call.id, name=call.name))
            arguments = json.dumps(call.arguments)
            deltas.extend(
                ToolCallDelta(index=index, arguments=arguments[i : i + ARGUMENT_FRAGMENT])
                for i in range(0, len(arguments), ARGUMENT_FRAGMENT)
            )
        limit = answer.failure.after if answer.failure is not None else None
        sent: list[str] = []
        for count, delta in enumerate(deltas):
            if count == limit:
                break
            if isinstance(delta, TextDelta):
                sent.append(delta.text)
            yield delta
        if answer.failure is not None:
            raise answer.failure.exception(self.provider, partial_text="".join(sent))
        yield UsageEvent(usage=answer.usage)
        yield FinishEvent(reason=answer.finish, raw_reason=answer.raw_finish)


@hookimpl
def register_llm_providers(register: Register) -> None:
    register(
        "echo",
        EchoLLM,
        EchoSettings,
        description="Deterministic offline LLM that echoes or replays scripted replies",
    )


# --- helpers ----------------------------------------------------------------------------


def word_pieces(text: str) -> list[str]:
    """Split text into words with their trailing whitespace; joined they give ``text``."""
    return re.findall(r"\S+\s*|\s+", text)


def _vector(text: str, size: int) -> list[float]:
    """A unit vector of ``size`` floats drawn from the SHA-256 of ``text``."""
    raw = b""
    block = 0
    while len(raw) < 4 * size:
        raw += hashlib.sha256(f"{block}\0{text}".encode()).digest()
        block += 1
    values = [v / 2**31 - 1.0 for v in struct.unpack(f">{size}I", raw[: 4 * size])]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def _words(text: str) -> int:
    return len(text.split())


def _parts(message: Message) -> Sequence[TextPart | ImagePart]:
    return () if isinstance(message.content, str) else message.content


def _request_id(answer_id: str) -> str:
    return f"req-{answer_id}"


def _echoed(messages: Sequence[Message]) -> str:
    for message in reversed(messages):
        if message.role in ("user", "tool"):
            images = [p for p in _parts(message) if isinstance(p, ImagePart)]
            notes = [f"[image {p.media_type or 'url'}]" for p in images]
            return " ".join(filter(None, [message.text, *notes]))
    return ""


def _usage(request: ChatRequest, text: str, calls: Sequence[ToolCall]) -> Usage:
    def calls_words(calls: Sequence[ToolCall]) -> int:
        return sum(_words(c.name) + _words(json.dumps(c.arguments)) for c in calls)

    input_tokens = sum(
        _words(m.text)
        + calls_words(m.tool_calls)
        + sum(1 for p in _parts(m) if isinstance(p, ImagePart))
        for m in request.messages
    )
    return Usage(input_tokens=input_tokens, output_tokens=_words(text) + calls_words(calls))


def _forced_tool(request: ChatRequest) -> Tool | None:
    choice = request.tool_choice
    if not request.tools:
        return None
    if isinstance(choice, NamedToolChoice):
        return next(t for t in request.tools if t.name == choice.name)
    if choice == "required":
        return request.tools[0]
    return None


# --- JSON schema samples ----------------------------------------------------------------

_FORMATS = {
    "date": "1970-01-01",
    "date-time": "1970-01-01T00:00:00Z",
    "time": "00:00:00Z",
    "email": "echo@example.com",
    "uri": "https://example.com/",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


def _sample_object(schema: Mapping[str, Any], where: str) -> dict[str, Any]:
    value = _Sampler(schema, where).sample(schema, 0)
    if not isinstance(value, dict):
        raise InvalidRequest(f"{where}: echo produces JSON objects; the schema must describe one")
    return value


class _Sampler:
    """Builds the smallest deterministic value for a JSON schema (see the module doc)."""

    def __init__(self, root: Mapping[str, Any], where: str) -> None:
        self.root = root
        self.where = where

    def sample(self, schema: Any, depth: int) -> Any:
        if depth > _MAX_SCHEMA_DEPTH:
            raise InvalidRequest(f"{self.where}: the schema nests deeper than {_MAX_SCHEMA_DEPTH}")
        if not isinstance(schema, Mapping):
            return None
        if "$ref" in schema:
            return self.sample(self.resolve(schema["$ref"]), depth + 1)
        for key in ("default", "const"):
            if key in schema:
                return schema[key]
        if schema.get("enum"):
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                return self.sample(schema[key][0], depth + 1)
        if schema.get("allOf"):
            return self.sample(self.merge(schema, depth), depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else None
        if kind == "object":
            properties = schema.get("properties") or {}
            return {
                name: self.sample(properties.get(name, {}), depth + 1)
                for name in schema.get("required") or ()
            }
        if kind == "array":
            prefix = [self.sample(s, depth + 1) for s in schema.get("prefixItems") or ()]
            missing = max(0, int(schema.get("minItems", 0)) - len(prefix))
            return prefix + [self.sample(schema.get("items", {}), depth + 1)] * missing
        if kind == "string":
            text = _FORMATS.get(str(schema.get("format")), "")
            return text.ljust(int(schema.get("minLength", 0)), "x")
        if kind in ("integer", "number"):
            return self.number(schema, integer=kind == "integer")
        if kind == "boolean":
            return False
        return None

    def number(self, schema: Mapping[str, Any], *, integer: bool) -> int | float:
        value: float = 0
        if "minimum" in schema:
            value = max(value, schema["minimum"])
        if "exclusiveMinimum" in schema:
            value = max(value, schema["exclusiveMinimum"] + 1)
        if "maximum" in schema:
            value = min(value, schema["maximum"])
        if "exclusiveMaximum" in schema:
            value = min(value, schema["exclusiveMaximum"] - 1)
        return math.ceil(value) if integer else float(value)

    def merge(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for branch in schema["allOf"]:
            while isinstance(branch, Mapping) and "$ref" in branch:
                branch = self.resolve(branch["$ref"])
            if not isinstance(branch, Mapping):
                continue
            for key, value in branch.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = [*merged.get("required", []), *value]
                else:
                    merged.setdefault(key, value)
        return merged

    def resolve(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise InvalidRequest(f"{self.where}: only local references (#/...) are followed")
        node: Any = self.root
        for token in filter(None, ref[1:].split("/")):
            token = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or token not in node:
                raise InvalidRequest(f"{self.where}: reference {ref!r} points nowhere")
            node = node[token]
        return node


# --- PNG ----------------------------------------------------------------------------------


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid PNG of one colour (8-bit RGB, no interlacing)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width  # filter type 0, then the pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"IDAT", zlib.compress(row * height, 9)),
            chunk(b"IEND", b""),
        ]
    )


def _colour(seed: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(seed.encode()).digest()
    return digest[0], digest[1], digest[2]


def _image_size(size: str | None) -> tuple[int, int]:
    if size is None:
        return _DEFAULT_IMAGE_SIDE, _DEFAULT_IMAGE_SIDE
    match = re.fullmatch(r"([1-9][0-9]{0,4})x([1-9][0-9]{0,4})", size)
    if match is None:
        raise InvalidRequest(f"size {size!r}: use WIDTHxHEIGHT in pixels, like '1024x1024'")
    width, height = (min(int(side), MAX_IMAGE_SIDE) for side in match.groups())
    return width, height


def _media_type(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    return "image/png"
