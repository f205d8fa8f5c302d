"""The embedded echo provider: loading, settings, replies, streams, errors, JSON and images."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any, ClassVar

import jsonschema  # type: ignore[import-untyped]
import pydantic
import pytest

from tenantkit import errors
from tenantkit.llm import (
    ChatRequest,
    ChatStream,
    FinishEvent,
    ImagePart,
    ImageRequest,
    LLMCapability,
    Message,
    NamedToolChoice,
    ResponseFormat,
    StartEvent,
    TextDelta,
    TextPart,
    Tool,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from tenantkit.plugins import EntryPointIndex, Plugins
from tenantkit.providers.echo import (
    ARGUMENT_FRAGMENT,
    EchoFailure,
    EchoLLM,
    EchoReply,
    EchoSettings,
    EchoToolCall,
    png,
    word_pieces,
)
from tenantkit.registry import ProviderContext
from tenantkit.retry import NO_RETRY
from tenantkit.scoped import TenantLLM


def _echo(**settings: Any) -> EchoLLM:
    return EchoLLM(
        EchoSettings.model_validate(settings), ProviderContext(tenant_id="t1", provider="echo")
    )


def _ask(text: str, **fields: Any) -> ChatRequest:
    return ChatRequest(messages=[Message(role="user", content=text)], **fields)


# --- loading and settings -------------------------------------------------------------------


def test_loaded_through_the_core_entry_point() -> None:
    plugins = Plugins(EntryPointIndex(cache_dir=None))
    spec = plugins.get("llm", "echo")
    assert spec.factory is EchoLLM
    assert spec.settings is EchoSettings
    assert spec.module == "tenantkit.providers.echo"
    assert spec.distribution == "tenantkit"
    assert spec.capabilities == {c.value for c in LLMCapability}
    llm = spec.factory(
        spec.settings.model_validate({"prefix": "> "}),
        ProviderContext(tenant_id="t1", provider="echo"),
    )
    assert llm.chat(_ask("loaded")).text == "> loaded"


def test_settings_as_a_tenant_secret_section() -> None:
    settings = EchoSettings.model_validate(
        {
            "model": "echo-large",
            "replies": [
                "plain text",
                {"text": "cut", "finish": "length", "usage": {"output_tokens": 1}},
                {"tool_calls": [{"name": "lookup", "arguments": {"q": "x"}, "id": "c1"}]},
                {"error": {"error": "RateLimited", "retry_after": 2}},
            ],
            "fail_with": None,
        }
    )
    assert settings.replies[0] == EchoReply(text="plain text")
    assert settings.replies[1].usage == Usage(output_tokens=1)
    assert settings.replies[2].tool_calls == (
        EchoToolCall(name="lookup", arguments={"q": "x"}, id="c1"),
    )
    assert settings.replies[3].error == EchoFailure(error="RateLimited", retry_after=2)


@pytest.mark.parametrize(
    ("section", "where"),
    [
        ({"replies": [{"error": {"error": "no_such_error"}}]}, "replies.0.error.error"),
        ({"fail_with": {"error": "rate_limited", "after": 2}}, "fail_with"),
        ({"fail_with": {"error": "timeout", "retry_after": -1}}, "fail_with.retry_after"),
        ({"replies": [{"txt": "typo"}]}, "replies.0.txt"),
        ({"api_key": "nothing secret here"}, "api_key"),
    ],
)
def test_bad_settings_name_the_field(section: dict[str, Any], where: str) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        EchoSettings.model_validate(section)
    paths = {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}
    assert where in paths


# --- default replies ------------------------------------------------------------------------


def test_echoes_the_last_user_message() -> None:
    llm = _echo()
    request = ChatRequest(
        messages=[
            Message(role="system", content="Be brief."),
            Message(role="user", content="first"),
            Message(role="assistant", content="echo: first"),
            Message(role="user", content=[TextPart(text="second "), TextPart(text="turn")]),
        ]
    )
    response = llm.chat(request)
    assert response.text == "echo: second turn"
    assert response.finish_reason == "stop"
    assert response.raw_finish_reason == "stop"
    assert response.model == "echo-1"
    assert response.provider == "echo"
    assert response.id == "echo-1"
    assert response.request_id == "req-echo-1"
    # In: "Be brief." 2 + "first" 1 + "echo: first" 2 + "second turn" 2. Out: 3 words.
    assert response.usage == Usage(input_tokens=7, output_tokens=3)
    assert llm.last_request == request


def test_prefix_model_and_deterministic_ids() -> None:
    first, second = _echo(prefix="", model="mirror"), _echo(prefix="", model="mirror")
    for llm in (first, second):
        assert llm.chat(_ask("same")).text == "same"
        assert llm.chat(_ask("same", model="override")).model == "override"
    assert first.chat(_ask("x")).id == second.chat(_ask("x")).id == "echo-3"


def test_echoes_tool_results_and_notes_images() -> None:
    llm = _echo()
    call = ToolCall(id="c1", name="clock", arguments={})
    tool_turn = ChatRequest(
        messages=[
            Message(role="user", content="time?"),
            Message(role="assistant", tool_calls=[call]),
            Message(role="tool", tool_call_id="c1", content="12:00"),
        ]
    )
    assert llm.chat(tool_turn).text == "echo: 12:00"
    image = ImagePart(data=png(1, 1, (0, 0, 0)), media_type="image/png")
    seen = ChatRequest(messages=[Message(role="user", content=[TextPart(text="look"), image])])
    response = llm.chat(seen)
    assert response.text == "echo: look [image image/png]"
    assert response.usage.input_tokens == 2  # one word, one image


def test_max_tokens_truncates_with_finish_length() -> None:
    response = _echo().chat(_ask("one two three four five", max_tokens=3))
    assert response.text == "echo: one two"
    assert response.finish_reason == "length"
    assert response.usage.output_tokens == 3


def test_stop_sequences_cut_the_echo() -> None:
    response = _echo().chat(_ask("keep this STOP drop that", stop=["drop", "STOP"]))
    assert response.text == "echo: keep this "
    assert response.finish_reason == "stop"


# --- scripted replies -----------------------------------------------------------------------


def test_scripted_replies_from_settings_then_the_echo() -> None:
    llm = _echo(
        replies=[
            "first scripted",
            {"text": "filtered", "finish": "content_filter"},
            {"text": "odd", "finish": "end_turn", "usage": {"input_tokens": 5, "cached_tokens": 3}},
        ]
    )
    assert llm.pending == 3
    assert llm.chat(_ask("a")).text == "first scripted"
    filtered = llm.chat(_ask("b"))
    assert (filtered.text, filtered.finish_reason) == ("filtered", "content_filter")
    odd = llm.chat(_ask("c"))
    assert (odd.finish_reason, odd.raw_finish_reason) == ("other", "end_turn")
    assert odd.usage == Usage(input_tokens=5, cached_tokens=3)
    assert llm.pending == 0
    assert llm.chat(_ask("d")).text == "echo: d"


def test_settings_replies_are_per_instance() -> None:
    settings = EchoSettings(replies=(EchoReply(text="once"),))
    a, b = EchoLLM(settings), EchoLLM(settings)
    assert a.chat(_ask("x")).text == "once"
    assert b.chat(_ask("x")).text == "once"
    assert a.chat(_ask("x")).text == "echo: x"


def test_enqueue_and_script() -> None:
    llm = _echo()
    llm.enqueue("one", {"text": "two"})
    llm.enqueue(EchoReply(text="three"))
    assert llm.pending == 3
    assert llm.chat(_ask("x")).text == "one"
    llm.script("replaced")
    assert llm.pending == 1
    assert [llm.chat(_ask("x")).text for _ in range(2)] == ["replaced", "echo: x"]
    llm.enqueue("left over")
    llm.close()
    assert llm.pending == 0


def test_scripted_tool_calls() -> None:
    llm = _echo()
    llm.enqueue(
        EchoReply(
            text="Let me look.",
            tool_calls=(
                EchoToolCall(name="lookup", arguments={"q": "tides"}, id="c1"),
                EchoToolCall(name="lookup", arguments={"q": "moon"}),
            ),
        )
    )
    response = llm.chat(_ask("tides?", tools=[Tool(name="lookup")]))
    assert response.text == "Let me look."
    assert response.tool_calls == [
        ToolCall(id="c1", name="lookup", arguments={"q": "tides"}),
        ToolCall(id="echo-1-call-1", name="lookup", arguments={"q": "moon"}),
    ]
    assert response.finish_reason == "tool_calls"


# --- streaming ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("a b", ["a ", "b"]),
        ("  lead and\ttrail \n", ["  ", "lead ", "and\t", "trail \n"]),
        ("", []),
        ("single", ["single"]),
    ],
)
def test_word_pieces_preserve_whitespace(text: str, pieces: list[str]) -> None:
    assert word_pieces(text) == pieces
    assert "".join(pieces) == text


def test_stream_token_by_token() -> None:
    llm = _echo()
    events = list(llm.stream(_ask("hello  streaming world")))
    assert events[0] == StartEvent(id="echo-1", model="echo-1", request_id="req-echo-1")
    assert [e for e in events if isinstance(e, TextDelta)] == [
        TextDelta(text=p) for p in ["echo: ", "hello  ", "streaming ", "world"]
    ]
    assert events[-2:] == [
        UsageEvent(usage=Usage(input_tokens=3, output_tokens=4)),
        FinishEvent(reason="stop", raw_reason="stop"),
    ]
    assert len(events) == 7


def test_stream_tool_call_arguments_in_fragments() -> None:
    llm = _echo()
    arguments = {"city": "Paris", "units": "metric", "days": 3}
    llm.enqueue(EchoReply(tool_calls=(EchoToolCall(name="weather", arguments=arguments, id="w"),)))
    events = list(llm.stream(_ask("weather?", tools=[Tool(name="weather")])))
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert deltas[0] == ToolCallDelta(index=0, id="w", name="weather")
    fragments = [d.arguments for d in deltas[1:]]
    assert len(fragments) >= 3
    assert all(0 < len(f) <= ARGUMENT_FRAGMENT for f in fragments)
    assert all(d.id is None and d.name is None for d in deltas[1:])
    assert json.loads("".join(fragments)) == arguments
    response = ChatStream(iter(events), provider="echo").response
    assert response.tool_calls == [ToolCall(id="w", name="weather", arguments=arguments)]
    assert response.finish_reason == "tool_calls"


def test_stream_and_chat_agree() -> None:
    llm = _echo()
    request = _ask("the same answer either way", max_tokens=4)
    whole = llm.chat(request)
    streamed = ChatStream(llm.stream(request), provider="echo").response
    assert streamed.model_dump(exclude={"id", "request_id"}) == whole.model_dump(
        exclude={"id", "request_id"}
    )


# --- error injection ------------------------------------------------------------------------

_PROVIDER_ERRORS = [
    cls
    for name in errors.__all__
    if isinstance(cls := getattr(errors, name), type) and issubclass(cls, errors.ProviderError)
]


@pytest.mark.parametrize("cls", _PROVIDER_ERRORS, ids=lambda c: c.__name__)
def test_every_taxonomy_error_by_kind_and_class_name(cls: type[errors.ProviderError]) -> None:
    llm = _echo()
    llm.enqueue(EchoReply(error=EchoFailure(error=cls.kind)))
    llm.enqueue(EchoReply(error=EchoFailure(error=cls.__name__, message="custom text")))
    with pytest.raises(errors.ProviderError) as first:
        llm.chat(_ask("x"))
    assert type(first.value) is cls
    assert (first.value.provider, first.value.code) == ("echo", cls.kind)
    assert first.value.message == f"echo was told to fail with {cls.kind}"
    with pytest.raises(errors.ProviderError) as second:
        llm.chat(_ask("x"))
    assert type(second.value) is cls
    assert second.value.message == "custom text"
    assert llm.chat(_ask("x")).text == "echo: x"


def test_rate_limit_carries_retry_after() -> None:
    llm = _echo(replies=[{"error": {"error": "rate_limited", "retry_after": 2.5}}])
    with pytest.raises(errors.RateLimited) as caught:
        llm.chat(_ask("x"))
    assert caught.value.retry_after == 2.5
    assert caught.value.retryable
    assert "retry_after=2.5" in str(caught.value)


def test_fail_with_fails_every_call() -> None:
    llm = _echo(fail_with={"error": "authentication_error"}, replies=["never"])
    for call in (
        lambda: llm.chat(_ask("x")),
        lambda: llm.stream(_ask("x")),
        lambda: llm.generate_image(ImageRequest(prompt="x")),
    ):
        with pytest.raises(errors.AuthenticationError):
            call()
    assert llm.pending == 1


def test_stream_fails_before_the_first_event() -> None:
    llm = _echo()
    llm.enqueue(EchoReply(error=EchoFailure(error="provider_unavailable")))
    with pytest.raises(errors.ProviderUnavailable):
        llm.stream(_ask("x"))


@pytest.mark.parametrize("after", [0, 1, 3, 9])
def test_stream_interrupted_after_n_deltas(after: int) -> None:
    llm = _echo()
    failure = EchoFailure(error="stream_interrupted", after=after)
    llm.enqueue(EchoReply(text="one two three", error=failure))
    received: list[Any] = []
    events = llm.stream(_ask("x"))
    with pytest.raises(errors.StreamInterrupted) as caught:
        received.extend(events)
    deltas = [e for e in received if isinstance(e, TextDelta)]
    assert len(deltas) == min(after, 3)
    assert caught.value.partial_text == "".join(d.text for d in deltas)
    assert not any(isinstance(e, UsageEvent | FinishEvent) for e in received)


def test_mid_stream_failure_given_to_chat_raises_it() -> None:
    llm = _echo()
    llm.enqueue(EchoReply(text="a b", error=EchoFailure(error="stream_interrupted", after=1)))
    with pytest.raises(errors.StreamInterrupted):
        llm.chat(_ask("x"))


# --- JSON-schema output ---------------------------------------------------------------------

_SCHEMAS: list[dict[str, Any]] = [
    {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 3},
            "age": {"type": "integer", "minimum": 18},
            "score": {"type": "number", "exclusiveMinimum": 0.5, "maximum": 10},
            "active": {"type": "boolean"},
            "nickname": {"type": ["string", "null"]},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "level": {"enum": ["gold", "silver"]},
            "version": {"const": 2},
            "created": {"type": "string", "format": "date-time"},
            "contact": {"type": "string", "format": "email"},
            "address": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
                "required": ["city"],
                "additionalProperties": False,
            },
            "optional": {"type": "string"},
        },
        "required": [
            "name",
            "age",
            "score",
            "active",
            "nickname",
            "tags",
            "level",
            "version",
            "created",
            "contact",
            "address",
        ],
        "additionalProperties": False,
    },
    {
        "$defs": {
            "item": {
                "type": "object",
                "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}},
                "required": ["sku", "qty"],
            }
        },
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/$defs/item"}, "minItems": 1},
            "payment": {"anyOf": [{"type": "string", "enum": ["card"]}, {"type": "null"}]},
            "limit": {"type": "integer", "maximum": -5},
            "count": {"type": "integer", "default": 4},
        },
        "required": ["items", "payment", "limit", "count"],
    },
    {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "integer", "exclusiveMinimum": 7}}, "required": ["b"]},
        ]
    },
    {
        "type": "object",
        "properties": {
            "pair": {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "minItems": 2,
            }
        },
        "required": ["pair"],
    },
]


@pytest.mark.parametrize("schema", _SCHEMAS)
def test_json_schema_output_validates(schema: dict[str, Any]) -> None:
    request = _ask("x", response_format=ResponseFormat(json_schema=schema))
    response = _echo().chat(request)
    value = json.loads(response.text)
    jsonschema.validate(value, schema)
    assert response.text == _echo().chat(request).text  # deterministic


def test_json_schema_fills_required_properties_only() -> None:
    schema = _SCHEMAS[0]
    value = json.loads(
        _echo().chat(_ask("x", response_format=ResponseFormat(json_schema=schema))).text
    )
    assert set(value) == set(schema["required"])
    assert value["name"] == "xxx"
    assert value["age"] == 18
    assert value["score"] == 1.5
    assert value["tags"] == ["", ""]
    assert value["created"] == "1970-01-01T00:00:00Z"
    assert value["address"] == {"city": ""}


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "array", "items": {"type": "string"}}, "must describe one"),
        (
            {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}, "required": ["a"]},
            "points nowhere",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"$ref": "https://example.com/s.json"}},
                "required": ["a"],
            },
            "only local",
        ),
    ],
)
def test_json_schema_limits_are_typed_errors(schema: dict[str, Any], message: str) -> None:
    with pytest.raises(errors.InvalidRequest, match=message) as caught:
        _echo().chat(_ask("x", response_format=ResponseFormat(json_schema=schema)))
    assert "response_format.json_schema" in str(caught.value)


def test_self_referencing_schema_is_bounded() -> None:
    schema = {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"next": {"$ref": "#/$defs/node"}},
                "required": ["next"],
            }
        },
        "$ref": "#/$defs/node",
    }
    with pytest.raises(errors.InvalidRequest, match="nests deeper"):
        _echo().chat(_ask("x", response_format=ResponseFormat(json_schema=schema)))


# --- forced tool calls ----------------------------------------------------------------------

_SEARCH = Tool(
    name="search",
    parameters={
        "type": "object",
        "properties": {"query": {"type": "string"}, "limit": {"type": "integer", "minimum": 1}},
        "required": ["query", "limit"],
    },
)


@pytest.mark.parametrize("choice", ["required", NamedToolChoice(name="search")])
def test_forced_tool_call_with_sample_arguments(choice: Any) -> None:
    other = Tool(name="other")
    tools = [_SEARCH] if choice == "required" else [other, _SEARCH]
    response = _echo().chat(_ask("find", tools=tools, tool_choice=choice))
    assert response.tool_calls == [
        ToolCall(id="echo-1-call-0", name="search", arguments={"query": "", "limit": 1})
    ]
    jsonschema.validate(response.tool_calls[0].arguments, _SEARCH.parameters)
    assert response.finish_reason == "tool_calls"
    assert response.text == ""


def test_auto_tool_choice_just_echoes() -> None:
    assert _echo().chat(_ask("hi", tools=[_SEARCH])).text == "echo: hi"


def test_unknown_named_tool_is_invalid() -> None:
    with pytest.raises(errors.InvalidRequest, match="'nope'"):
        _echo().chat(_ask("x", tools=[_SEARCH], tool_choice=NamedToolChoice(name="nope")))


# --- images ---------------------------------------------------------------------------------


def _decode_png(data: bytes) -> tuple[int, int, bytes]:
    """Parse a PNG by the specification: signature, chunks with CRCs, IHDR, IDAT, IEND."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        pos += 12 + length
    assert [k for k, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", chunks[0][1]
    )
    assert (depth, colour, compression, filtering, interlace) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(chunks[1][1])
    assert len(raw) == height * (1 + 3 * width)
    rows = [raw[i * (1 + 3 * width) : (i + 1) * (1 + 3 * width)] for i in range(height)]
    assert all(row[0] == 0 for row in rows)
    return width, height, b"".join(row[1:] for row in rows)


def test_generated_images_are_valid_deterministic_pngs() -> None:
    llm = _echo()
    response = llm.generate_image(ImageRequest(prompt="a lighthouse", n=3))
    assert len(response.images) == 3
    assert response.model == "echo-1"
    assert response.usage == Usage(input_tokens=2)
    pixels = []
    for image in response.images:
        assert image.media_type == "image/png"
        width, height, data = _decode_png(image.data)
        assert (width, height) == (8, 8)
        assert len(set(zip(data[0::3], data[1::3], data[2::3], strict=True))) == 1
        pixels.append(data[:3])
    assert len(set(pixels)) == 3
    again = _echo().generate_image(ImageRequest(prompt="a lighthouse", n=3))
    assert [i.data for i in again.images] == [i.data for i in response.images]
    other = llm.generate_image(ImageRequest(prompt="a harbour"))
    assert other.images[0].data != response.images[0].data


@pytest.mark.parametrize(
    ("size", "expected"), [("1024x1024", (64, 64)), ("300x20", (64, 20)), ("3x5", (3, 5))]
)
def test_image_size_is_capped(size: str, expected: tuple[int, int]) -> None:
    image = _echo().generate_image(ImageRequest(prompt="p", size=size)).images[0]
    assert _decode_png(image.data)[:2] == expected


@pytest.mark.parametrize("size", ["big", "0x10", "10x", "10 x 10", "-1x5"])
def test_bad_image_size_names_the_field(size: str) -> None:
    with pytest.raises(errors.InvalidRequest, match="size"):
        _echo().generate_image(ImageRequest(prompt="p", size=size))


def test_scripted_images_and_errors_for_generate_image() -> None:
    jpeg = b"\xff\xd8\xff\xe0fake jpeg body"
    llm = _echo(
        replies=[
            {"images": [base64.b64encode(jpeg).decode()]},
            {"error": {"error": "content_filtered"}},
        ]
    )
    image = llm.generate_image(ImageRequest(prompt="p")).images[0]
    assert (image.data, image.media_type) == (jpeg, "image/jpeg")
    with pytest.raises(errors.ContentFiltered):
        llm.generate_image(ImageRequest(prompt="p"))


# --- capabilities ---------------------------------------------------------------------------


class _PlainEcho(EchoLLM):
    capabilities: ClassVar[frozenset[LLMCapability]] = frozenset({LLMCapability.STREAMING})


@pytest.mark.parametrize(
    "request_",
    [
        _ask("x", tools=[_SEARCH]),
        _ask("x", tool_choice="required"),
        _ask("x", response_format=ResponseFormat(json_schema={"type": "object"})),
        ChatRequest(messages=[Message(role="user", content=[ImagePart(url="https://x/y.png")])]),
    ],
)
def test_undeclared_features_are_refused(request_: ChatRequest) -> None:
    llm = _PlainEcho(EchoSettings())
    with pytest.raises(errors.Unsupported) as caught:
        llm.chat(request_)
    assert caught.value.provider == "echo"
    with pytest.raises(errors.Unsupported):
        llm.stream(request_)
    with pytest.raises(errors.Unsupported):
        llm.generate_image(ImageRequest(prompt="x"))
    assert llm.chat(_ask("plain")).text == "echo: plain"


def test_through_the_tenant_wrapper() -> None:
    llm = _echo()
    tenant = TenantLLM(
        llm,
        tenant_id="acme",
        provider="echo",
        capabilities=frozenset(str(c) for c in llm.capabilities),
        retry=NO_RETRY,
    )
    assert tenant.chat(messages=[{"role": "user", "content": "hi"}]).text == "echo: hi"
    with tenant.stream(messages=[{"role": "user", "content": "a b c"}]) as stream:
        assert [e.text for e in stream if isinstance(e, TextDelta)] == ["echo: ", "a ", "b ", "c"]
    assert stream.response.usage == Usage(input_tokens=3, output_tokens=4)
    assert tenant.generate_image(prompt="p").images[0].media_type == "image/png"


def test_embeddings_are_deterministic_unit_vectors_per_text() -> None:
    from tenantkit.llm import EmbeddingRequest
    from tenantkit.providers.echo import EMBEDDING_DIMENSIONS

    texts = ["the quick fox", "a lazy dog", "the quick fox"]
    response = _echo().embed(EmbeddingRequest(input=texts))
    assert [len(v) for v in response.vectors] == [EMBEDDING_DIMENSIONS] * 3
    assert all(abs(sum(x * x for x in v) - 1.0) < 1e-9 for v in response.vectors)
    assert response.vectors[0] == response.vectors[2] != response.vectors[1]
    assert response.usage == Usage(input_tokens=9)
    assert response.model == "echo-1"
    again = _echo().embed(EmbeddingRequest(input=["a lazy dog"], dimensions=40))
    assert len(again.vectors[0]) == 40
    assert again.vectors[0][:EMBEDDING_DIMENSIONS] != response.vectors[1]  # renormalized


def test_scripted_vectors_and_errors_for_embed() -> None:
    from tenantkit.llm import EmbeddingRequest

    llm = _echo()
    llm.enqueue({"vectors": [[0.5, 0.5]]}, {"error": {"error": "rate_limited"}})
    assert llm.embed(EmbeddingRequest(input=["x"])).vectors == [[0.5, 0.5]]
    with pytest.raises(errors.RateLimited):
        llm.embed(EmbeddingRequest(input=["x"]))
