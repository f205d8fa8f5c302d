"""The OpenAI-compatible routes as OpenAI's own Python client calls them, against
``tenantkit serve`` (a configuration directory: ``initech`` on the echo LLM, and
``throttled``, whose LLM asks callers to come back in 7 seconds). Every failure
arrives as the client's own exception class."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tenantkit.providers.echo import EMBEDDING_DIMENSIONS
from testharness._ports import free_port
from testharness.tenantkit_serve import ServeProcess, start_serve


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    root = tmp_path_factory.mktemp("openai-client")
    port = free_port()
    config = root / "tenants"
    config.mkdir()

    def tenant(tenant_id: str, llm: dict[str, object]) -> None:
        (config / f"{tenant_id}.json").write_text(
            json.dumps(
                {
                    "schema_version": 1,
                    "tenant_id": tenant_id,
                    "db": {"provider": "sqlite", "path": str(root / f"{tenant_id}.sqlite3")},
                    "llm": llm,
                    "storage": {
                        "provider": "local",
                        "root": str(root / "objects" / tenant_id),
                        "base_url": f"http://127.0.0.1:{port}/files-of-{tenant_id}",
                        "signing_key": f"{tenant_id}-presign-key-0123456789",
                    },
                }
            )
        )

    tenant("initech", {"provider": "echo", "prefix": "initech: ", "model": "initech-echo"})
    tenant(
        "throttled",
        {"provider": "echo", "fail_with": {"error": "rate_limited", "retry_after": 7}},
    )
    process = start_serve(
        root / "run",
        "--state-dir",
        str(root / "state"),
        port=port,
        env={"TENANTKIT_CONFIG_DIR": str(config), "TENANTKIT_MODEL_ALIASES": "gpt-4o-mini"},
    )
    try:
        yield process
    finally:
        process.stop()


def _client(served: ServeProcess, api_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{served.url}/v1", api_key=api_key, max_retries=0, timeout=30)


@pytest.fixture(scope="module")
def client(served: ServeProcess) -> openai.OpenAI:
    return _client(served, served.token("initech", "peter"))


HELLO = [{"role": "user", "content": "tps reports"}]


def test_models_are_the_tenants(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids == ["default", "initech-echo", "gpt-4o-mini"]


@pytest.mark.parametrize("model", ["default", "initech-echo", "gpt-4o-mini"])
def test_chat(client: openai.OpenAI, model: str) -> None:
    answer = client.chat.completions.create(model=model, messages=HELLO)  # type: ignore[arg-type]
    assert answer.choices[0].message.content == "initech: tps reports"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == "initech-echo"
    assert answer.usage is not None
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens


def test_stream_with_usage(client: openai.OpenAI) -> None:
    words = " ".join(f"w{i}" for i in range(40))
    stream = client.chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": words}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == f"initech: {words}"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 10
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 41


def test_tools(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": "weather in Austin?"}],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "weather",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                },
            }
        ],
        tool_choice="required",
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    (call,) = choice.message.tool_calls
    assert call.type == "function"
    assert call.function.name == "weather"
    assert json.loads(call.function.arguments) == {"city": ""}


def test_json_schema(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 18}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    answer = client.chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": "who?"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": schema, "strict": True},
        },
    )
    content = answer.choices[0].message.content
    assert content is not None
    assert json.loads(content) == {"name": "", "age": 18}


def test_embeddings_base64_as_the_client_asks_and_floats(client: openai.OpenAI) -> None:
    texts = ["red stapler", "tps reports", "red stapler"]
    packed = client.embeddings.create(model="default", input=texts)  # base64 on the wire
    floats = client.embeddings.create(model="default", input=texts, encoding_format="float")
    assert [d.index for d in packed.data] == [0, 1, 2]
    assert all(len(d.embedding) == EMBEDDING_DIMENSIONS for d in packed.data)
    for a, b in zip(packed.data, floats.data, strict=True):
        assert a.embedding == pytest.approx(b.embedding, abs=1e-6)  # float32 on the wire
    assert floats.data[0].embedding == floats.data[2].embedding != floats.data[1].embedding
    assert floats.usage.prompt_tokens == 6
    single = client.embeddings.create(model="gpt-4o-mini", input="one text", dimensions=4)
    assert len(single.data[0].embedding) == 4


@pytest.mark.parametrize("key", ["", "not-a-token", "forged"])
def test_a_missing_or_bad_token_is_an_authentication_error(served: ServeProcess, key: str) -> None:
    headers: dict[str, object] = {}
    if key == "forged":
        key = served.token("initech", "peter")[:-4] + "AAAA"
    elif not key:
        key, headers = "unused", {"Authorization": openai.Omit()}
    with pytest.raises(openai.AuthenticationError) as caught:
        _client(served, key).chat.completions.create(
            model="default",
            messages=HELLO,
            extra_headers=headers,  # type: ignore[arg-type]
        )
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    assert isinstance(caught.value.body, dict)
    assert set(caught.value.body) == {"message", "type", "param", "code"}


def test_an_unsupported_parameter_is_a_bad_request(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="default", messages=HELLO, n=2)
    assert caught.value.status_code == 400
    assert caught.value.param == "n"
    assert caught.value.type == "invalid_request_error"
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="default", messages=[])
    assert caught.value.param == "messages"


def test_a_model_the_tenant_does_not_offer_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-5-pro", messages=HELLO)
    assert caught.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="text-embedding-3-large", input="x")


def test_a_throttled_tenant_is_a_rate_limit_error_with_retry_after(served: ServeProcess) -> None:
    throttled = _client(served, served.token("throttled", "milton"))
    with pytest.raises(openai.RateLimitError) as caught:
        throttled.chat.completions.create(model="default", messages=HELLO)
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.code == "rate_limited"
    assert caught.value.response.headers["x-request-id"]


def test_no_token_reaches_the_logs(served: ServeProcess) -> None:
    token = served.token("initech", "peter")
    _client(served, token).models.list()
    assert token not in served.logs
    assert token.split(".")[2] not in served.logs


def test_the_tenant_comes_only_from_the_token(tmp_path: Path, served: ServeProcess) -> None:
    client = _client(served, served.token("initech", "peter"))
    answer = client.chat.completions.create(
        model="default", messages=HELLO, extra_headers={"X-Tenant-Id": "throttled"}
    )
    assert answer.choices[0].message.content == "initech: tps reports"
