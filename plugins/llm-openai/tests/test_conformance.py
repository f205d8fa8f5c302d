"""The core's LLM conformance suite against ``openai`` and ``azure-openai``, through respx.

:class:`ChatCompletionsScript` answers as the chat completions API does (the wire format
of the fixtures, see ``conftest.py``): JSON bodies, or event streams chunk by chunk when
the request asked for ``stream``, with the usage chunk when it asked for
``stream_options.include_usage``, and Azure's ``prompt_filter_results`` chunk first.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

from tenantkit.errors import (
    AuthenticationError,
    ConnectionFailed,
    ContentFiltered,
    ContextWindowExceeded,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
    Timeout,
)
from tenantkit.llm import FinishReason, Usage
from tenantkit.registry import ProviderContext
from tenantkit.testing import LLMConformance, LLMScript
from tenantkit.testing.llm import SentRequest
from tenantkit_llm_openai import AzureOpenAILLM, AzureOpenAISettings, OpenAILLM, OpenAISettings

Answer = Callable[[httpx.Request], httpx.Response]


class ChatCompletionsScript(LLMScript):
    """Queues answers in the chat completions wire format for the next requests."""

    def __init__(
        self,
        router: respx.MockRouter,
        *,
        provider: str,
        base: str,
        secret: str,
        request_id_header: str,
        azure: bool = False,
    ) -> None:
        self.provider = provider
        self._secret = secret
        self._request_id_header = request_id_header
        self._azure = azure
        self._answers: deque[Answer] = deque()
        self._chats: list[httpx.Request] = []
        self._embeddings: list[httpx.Request] = []
        pattern = re.escape(base) + r"/.*(chat/completions|images/generations|embeddings)"
        router.post(url__regex=pattern).mock(side_effect=self._answer)

    # --- the LLMScript contract ---------------------------------------------------------

    def reply(
        self, text: str, *, usage: Usage | None = None, finish: FinishReason = "stop"
    ) -> None:
        raw = self.raw_finish(finish)
        pieces = re.findall(r"\S+\s*|\s+", text) or [text]
        self._answers.append(
            lambda request: self._chat(
                request, {"content": text}, raw, usage, [{"content": piece} for piece in pieces]
            )
        )

    def reply_tool_call(
        self,
        name: str,
        arguments: dict[str, Any],
        *,
        call_id: str = "call_1",
        usage: Usage | None = None,
    ) -> None:
        encoded = json.dumps(arguments, separators=(",", ":"))
        third = max(1, len(encoded) // 3)
        fragments = [encoded[:third], encoded[third : 2 * third], encoded[2 * third :]]
        whole = {
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": encoded},
                }
            ],
        }
        deltas: list[dict[str, Any]] = [
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": ""},
                    }
                ]
            },
            *({"tool_calls": [{"index": 0, "function": {"arguments": f}}]} for f in fragments),
        ]
        self._answers.append(
            lambda request: self._chat(request, whole, "tool_calls", usage, deltas)
        )

    def fail(self, error_kind: type[ProviderError], *, retry_after: float | None = None) -> bool:
        answer = self._failure(error_kind, retry_after)
        if answer is None:
            return False
        self._answers.append(answer)
        return True

    def interrupt_stream(self, after_text: str) -> None:
        pieces = re.findall(r"\S+\s*|\s+", after_text)

        def answer(request: httpx.Request) -> httpx.Response:
            chunks = [self._chunk(request, {"role": "assistant", "content": ""})]
            chunks += [self._chunk(request, {"content": p}) for p in pieces]

            def body() -> Iterator[bytes]:
                yield from (self._sse(c) for c in chunks)
                raise httpx.RemoteProtocolError("peer closed connection without response")

            return httpx.Response(
                200, headers=self._headers(stream=True), stream=self.streamed(body())
            )

        self._answers.append(answer)

    def raw_finish(self, finish: FinishReason) -> str | None:
        return finish

    def last_request(self) -> SentRequest:
        assert self._chats, "the provider sent no chat request"
        request = self._chats[-1]
        body = json.loads(request.content)
        deployment = re.search(r"/deployments/([^/]+)/", request.url.path)
        messages = body["messages"]
        fmt = body.get("response_format") or {}
        stop = body.get("stop") or []
        return SentRequest(
            model=body.get("model") or (deployment.group(1) if deployment else None),
            system="\n\n".join(_text(m) for m in messages if m["role"] in ("system", "developer")),
            messages=[
                (m["role"], _text(m)) for m in messages if m["role"] in ("user", "assistant")
            ],
            tool_calls=[
                (call["id"], call["function"]["name"], json.loads(call["function"]["arguments"]))
                for m in messages
                if m["role"] == "assistant"
                for call in m.get("tool_calls") or ()
            ],
            tool_results=[(m["tool_call_id"], _text(m)) for m in messages if m["role"] == "tool"],
            tools=[t["function"]["name"] for t in body.get("tools", ())],
            images=sum(
                part.get("type") == "image_url"
                for m in messages
                if isinstance(m.get("content"), list)
                for part in m["content"]
            ),
            json_schema=(fmt.get("json_schema") or {}).get("schema"),
            max_tokens=body.get("max_completion_tokens", body.get("max_tokens")),
            temperature=body.get("temperature"),
            stop=[stop] if isinstance(stop, str) else list(stop),
        )

    def image(self, data: bytes, *, media_type: str = "image/png") -> bool:
        encoded = base64.b64encode(data).decode()
        self._answers.append(
            lambda request: httpx.Response(
                200,
                headers=self._headers(),
                json={"created": 1713833628, "data": [{"b64_json": encoded}]},
            )
        )
        return True

    def embeddings(self, vectors: Any, *, usage: Usage | None = None) -> bool:
        tokens = usage.input_tokens if usage is not None else 0

        def answer(request: httpx.Request) -> httpx.Response:
            body = json.loads(request.content)
            return httpx.Response(
                200,
                headers=self._headers(),
                json={
                    "object": "list",
                    "data": [
                        {"object": "embedding", "index": i, "embedding": list(v)}
                        for i, v in reversed(list(enumerate(vectors)))  # any order
                    ],
                    "model": body.get("model", "text-embedding-3-small"),
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                },
            )

        self._answers.append(answer)
        return True

    def last_embedding_request(self) -> tuple[list[str], str | None, int | None] | None:
        assert self._embeddings, "the provider sent no embeddings request"
        request = self._embeddings[-1]
        body = json.loads(request.content)
        assert body["encoding_format"] == "float"
        deployment = re.search(r"/deployments/([^/]+)/", request.url.path)
        model = body.get("model") or (deployment.group(1) if deployment else None)
        return body["input"], model, body.get("dimensions")

    # --- the wire -----------------------------------------------------------------------

    def _answer(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("chat/completions"):
            self._chats.append(request)
        if request.url.path.endswith("/embeddings"):
            self._embeddings.append(request)
        assert self._answers, f"no answer queued for {request.url}"
        return self._answers.popleft()(request)

    def _headers(self, *, stream: bool = False) -> dict[str, str]:
        return {
            "content-type": "text/event-stream" if stream else "application/json",
            self._request_id_header: f"req_{uuid.uuid4().hex}",
        }

    def _chat(
        self,
        request: httpx.Request,
        message: dict[str, Any],
        finish: str | None,
        usage: Usage | None,
        deltas: list[dict[str, Any]],
    ) -> httpx.Response:
        body = json.loads(request.content)
        if not body.get("stream"):
            completion = {
                "id": "chatcmpl-kit",
                "object": "chat.completion",
                "created": 1745680000,
                "model": body.get("model", "gpt-4o-2024-11-20"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "refusal": None, **message},
                        "logprobs": None,
                        "finish_reason": finish,
                    }
                ],
                "usage": _usage(usage),
            }
            return httpx.Response(200, headers=self._headers(), json=completion)
        chunks: list[dict[str, Any]] = []
        if self._azure:
            chunks.append(
                {
                    "choices": [],
                    "created": 0,
                    "id": "",
                    "model": "",
                    "object": "",
                    "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
                }
            )
        chunks.append(self._chunk(request, {"role": "assistant", "content": ""}))
        chunks += [self._chunk(request, d) for d in deltas]
        chunks.append(self._chunk(request, {}, finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**self._chunk(request, {}), "choices": [], "usage": _usage(usage)})
        events = [self._sse(c) for c in chunks] + [b"data: [DONE]\n\n"]
        return httpx.Response(200, headers=self._headers(stream=True), stream=self.streamed(events))

    @staticmethod
    def _chunk(
        request: httpx.Request, delta: dict[str, Any], finish: str | None = None
    ) -> dict[str, Any]:
        return {
            "id": "chatcmpl-kit",
            "object": "chat.completion.chunk",
            "created": 1745680000,
            "model": json.loads(request.content).get("model", "gpt-4o-2024-11-20"),
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    @staticmethod
    def _sse(chunk: dict[str, Any]) -> bytes:
        return f"data: {json.dumps(chunk)}\n\n".encode()

    def _failure(self, kind: type[ProviderError], retry_after: float | None) -> Answer | None:
        def error(status: int, code: str | None, message: str, **extra: str) -> Answer:
            headers = self._headers()
            if retry_after is not None:
                headers["retry-after"] = f"{retry_after:g}"
            body = {
                "error": {
                    "message": message,
                    "type": extra.get("type"),
                    "param": None,
                    "code": code,
                }
            }
            return lambda request: httpx.Response(status, headers=headers, json=body)

        def raise_(exc: Exception) -> Answer:
            def answer(request: httpx.Request) -> httpx.Response:
                raise exc

            return answer

        key = self._secret
        if kind is AuthenticationError:
            return error(401, "invalid_api_key", f"Incorrect API key provided: {key}.")
        if kind is PermissionDenied:
            return error(
                403,
                "unsupported_country_region_territory",
                "Country, region, or territory not supported",
            )
        if kind is NotFound:
            if self._azure:
                return error(
                    404,
                    "DeploymentNotFound",
                    "The API deployment for this resource does not exist.",
                )
            return error(404, "model_not_found", "The model `x` does not exist.")
        if kind is RateLimited:
            return error(
                429, "rate_limit_exceeded", "Rate limit reached for requests", type="requests"
            )
        if kind is QuotaExceeded:
            if self._azure:
                return None  # Azure signals quota as plain 429 rate limits
            return error(
                429,
                "insufficient_quota",
                "You exceeded your current quota.",
                type="insufficient_quota",
            )
        if kind is ContextWindowExceeded:
            return error(
                400,
                "context_length_exceeded",
                "This model's maximum context length is 128000 tokens.",
            )
        if kind is ContentFiltered:
            if not self._azure:
                return None  # OpenAI's chat API does not refuse with an error
            return error(
                400,
                "content_filter",
                "The response was filtered due to the prompt "
                "triggering Azure OpenAI's content management policy.",
            )
        if kind is InvalidRequest:
            return error(
                400,
                "invalid_value",
                "Invalid value for 'temperature'.",
                type="invalid_request_error",
            )
        if kind is ProviderUnavailable:
            return error(
                503,
                None,
                "The engine is currently overloaded, please try again later.",
                type="server_error",
            )
        if kind is Timeout:
            return raise_(httpx.ReadTimeout("timed out"))
        if kind is ConnectionFailed:
            return raise_(httpx.ConnectError("connection refused"))
        return None


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if p.get("type") == "text")
    return content or ""


def _usage(usage: Usage | None) -> dict[str, Any]:
    usage = usage or Usage()
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


class TestOpenAI(LLMConformance):
    @pytest.fixture
    def llm(self, api: respx.MockRouter, openai_key: str) -> Iterator[OpenAILLM]:
        llm = OpenAILLM(
            OpenAISettings(api_key=openai_key, model="gpt-4o-mini"),
            ProviderContext(tenant_id="conformance", provider="openai"),
        )
        yield llm
        llm.close()

    @pytest.fixture
    def llm_script(self, api: respx.MockRouter, openai_key: str) -> ChatCompletionsScript:
        return ChatCompletionsScript(
            api,
            provider="openai",
            base="https://api.openai.com/v1",
            secret=openai_key,
            request_id_header="x-request-id",
        )

    @pytest.fixture
    def llm_secret(self, openai_key: str) -> str:
        return openai_key


class _Azure(LLMConformance):
    api_version = "2024-10-21"

    @pytest.fixture
    def llm(self, api: respx.MockRouter, azure_key: str) -> Iterator[AzureOpenAILLM]:
        llm = AzureOpenAILLM(
            AzureOpenAISettings(
                endpoint="https://acme-res.openai.azure.com",
                api_key=azure_key,
                deployment="gpt-4o-prod",
                image_deployment="gpt-image-1",
                embedding_deployment="text-embedding-3-small",
                api_version=self.api_version,
            ),
            ProviderContext(tenant_id="conformance", provider="azure-openai"),
        )
        yield llm
        llm.close()

    @pytest.fixture
    def llm_script(self, api: respx.MockRouter, azure_key: str) -> ChatCompletionsScript:
        return ChatCompletionsScript(
            api,
            provider="azure-openai",
            base="https://acme-res.openai.azure.com/openai",
            secret=azure_key,
            request_id_header="apim-request-id",
            azure=True,
        )

    @pytest.fixture
    def llm_secret(self, azure_key: str) -> str:
        return azure_key


class TestAzureOpenAIDeployments(_Azure):
    api_version = "2024-10-21"


class TestAzureOpenAIV1(_Azure):
    api_version = "v1"
