"""The core's LLM conformance suite against the gemini provider on a mocked Gemini API.

The script answers in the documented wire formats: ``GenerateContentResponse`` bodies
and ``alt=sse`` streams (https://ai.google.dev/api/generate-content), ``google.rpc.Status``
errors (https://ai.google.dev/gemini-api/docs/troubleshooting) and image output
(https://ai.google.dev/gemini-api/docs/image-generation).
"""

from __future__ import annotations

import base64
import json
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

from tenantkit import Usage
from tenantkit import errors as e
from tenantkit.llm import FinishReason
from tenantkit.testing import LLMConformance, LLMScript
from tenantkit.testing.llm import SentRequest
from tenantkit_llm_gemini import GeminiLLM

Answer = Callable[[httpx.Request], httpx.Response]

_RAW_FINISH: dict[str, str] = {
    "stop": "STOP",
    "length": "MAX_TOKENS",
    "tool_calls": "STOP",  # Gemini says STOP after function calls
    "content_filter": "SAFETY",
}
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
# How the Gemini API signals each error: (HTTP status, google.rpc.Code name, message,
# an ErrorInfo reason or None). None: the API has no such signal.
_ERRORS: dict[type[e.ProviderError], tuple[int, str, str, str | None] | None] = {
    e.AuthenticationError: (
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
        "API_KEY_INVALID",
    ),
    e.PermissionDenied: (
        403,
        "PERMISSION_DENIED",
        "Your API key was reported as leaked. Please use another API key.",
        None,
    ),
    e.NotFound: (
        404,
        "NOT_FOUND",
        "models/conformance-model is not found for API version v1beta.",
        None,
    ),
    e.RateLimited: (
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details.",
        None,
    ),
    e.QuotaExceeded: (
        400,
        "FAILED_PRECONDITION",
        "Gemini API free tier is not available in your country. "
        "Please enable billing on your project in Google AI Studio.",
        None,
    ),
    e.ContextWindowExceeded: (
        400,
        "INVALID_ARGUMENT",
        "The input token count (1205471) exceeds the maximum number of tokens allowed (1048576).",
        None,
    ),
    e.InvalidRequest: (
        400,
        "INVALID_ARGUMENT",
        'Invalid JSON payload received. Unknown name "maxTokens": Cannot find field.',
        None,
    ),
    e.ProviderUnavailable: (
        503,
        "UNAVAILABLE",
        "The model is overloaded. Please try again later.",
        None,
    ),
    e.Timeout: (
        504,
        "DEADLINE_EXCEEDED",
        "Deadline expired before operation could complete.",
        None,
    ),
    e.Throttled: None,
}


def _usage(usage: Usage | None) -> dict[str, int]:
    usage = usage or Usage(input_tokens=12, output_tokens=6)
    return {
        "promptTokenCount": usage.input_tokens,
        "cachedContentTokenCount": usage.cached_tokens,
        "candidatesTokenCount": usage.output_tokens - usage.reasoning_tokens,
        "thoughtsTokenCount": usage.reasoning_tokens,
        "totalTokenCount": usage.input_tokens + usage.output_tokens,
    }


def _sse(chunks: list[dict[str, Any]]) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks)


def _is_stream(request: httpx.Request) -> bool:
    return request.url.path.endswith(":streamGenerateContent")


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else f" {w}" for i, w in enumerate(words)]


class GeminiScript(LLMScript):
    """Queues Gemini API answers on a respx router."""

    provider = "gemini"
    embedding_usage = False  # batchEmbedContents reports no token counts

    def __init__(self, router: respx.MockRouter) -> None:
        self._answers: deque[Answer] = deque()
        self._route = router.post(
            path__regex=r"^/v1beta/models/[^/:]+:(generateContent|streamGenerateContent)$"
        ).mock(side_effect=self._answer)
        self._embeddings = router.post(path__regex=r"^/v1beta/models/[^/:]+:batchEmbedContents$")
        self._embeddings.mock(side_effect=self._answer)
        self._serial = 0

    def embeddings(self, vectors: Any, *, usage: Usage | None = None) -> bool:
        body = {"embeddings": [{"values": list(v)} for v in vectors]}
        self._answers.append(lambda request: httpx.Response(200, json=body))
        return True

    def last_embedding_request(self) -> tuple[list[str], str | None, int | None] | None:
        body = json.loads(self._embeddings.calls.last.request.content)
        requests = body["requests"]
        texts = [r["content"]["parts"][0]["text"] for r in requests]
        return texts, requests[0]["model"], requests[0].get("outputDimensionality")

    def _answer(self, request: httpx.Request) -> httpx.Response:
        return self._answers.popleft()(request)

    def _response(
        self, parts: list[dict[str, Any]], finish: str, usage: Usage | None, extra: Any = None
    ) -> Answer:
        def answer(request: httpx.Request) -> httpx.Response:
            self._serial += 1
            model = request.url.path.rpartition("/")[2].partition(":")[0]
            common = {"modelVersion": model, "responseId": f"conformance{self._serial:04d}"}
            if not _is_stream(request):
                candidate = {
                    "content": {"role": "model", "parts": parts},
                    "finishReason": finish,
                    "index": 0,
                }
                body = {"candidates": [candidate], "usageMetadata": _usage(usage), **common}
                return httpx.Response(200, json=body)
            chunks = []
            for part in parts:
                for piece in _pieces(part["text"]) if "text" in part else [None]:
                    content = {"text": piece} if piece is not None else part
                    chunks.append(
                        {
                            "candidates": [
                                {"content": {"role": "model", "parts": [content]}, "index": 0}
                            ],
                            "usageMetadata": _usage(Usage(input_tokens=1)),
                            **common,
                        }
                    )
            last = {
                "candidates": [
                    {
                        "content": {"role": "model", "parts": [{"text": ""}]},
                        "finishReason": finish,
                        "index": 0,
                    }
                ],
                "usageMetadata": _usage(usage),
                **common,
            }
            return httpx.Response(
                200,
                headers={"content-type": "text/event-stream"},
                stream=self.streamed(_sse([*chunks, last])),
            )

        return answer

    def reply(
        self, text: str, *, usage: Usage | None = None, finish: FinishReason = "stop"
    ) -> None:
        self._answers.append(self._response([{"text": text}], _RAW_FINISH[finish], usage))

    def reply_tool_call(
        self,
        name: str,
        arguments: dict[str, Any],
        *,
        call_id: str = "call_1",
        usage: Usage | None = None,
    ) -> None:
        part = {"functionCall": {"id": call_id, "name": name, "args": arguments}}
        self._answers.append(self._response([part], "STOP", usage))

    def fail(self, error_kind: type[e.ProviderError], *, retry_after: float | None = None) -> bool:
        if error_kind is e.ConnectionFailed:

            def refuse(request: httpx.Request) -> httpx.Response:
                raise httpx.ConnectError("connection refused", request=request)

            self._answers.append(refuse)
            return True
        if error_kind is e.ContentFiltered:
            self._answers.append(self._blocked)
            return True
        signal = _ERRORS.get(error_kind)
        if signal is None:
            return False
        status, code, message, reason = signal
        details: list[dict[str, Any]] = []
        if reason:
            details.append(
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": reason,
                    "domain": "googleapis.com",
                }
            )
        if retry_after is not None:
            details.append({"@type": _RETRY_INFO, "retryDelay": f"{retry_after:g}s"})
        body = {"error": {"code": status, "message": message, "status": code, "details": details}}
        self._answers.append(lambda request: httpx.Response(status, json=body))
        return True

    @staticmethod
    def _blocked(request: httpx.Request) -> httpx.Response:
        body = {
            "promptFeedback": {"blockReason": "SAFETY"},
            "usageMetadata": {"promptTokenCount": 4, "totalTokenCount": 4},
            "responseId": "conformanceBlocked",
        }
        if _is_stream(request):
            return httpx.Response(200, content=_sse([body]))
        return httpx.Response(200, json=body)

    def interrupt_stream(self, after_text: str) -> None:
        head = _sse(
            [
                {
                    "candidates": [
                        {"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}
                    ],
                    "responseId": "conformanceInterrupted",
                }
                for piece in _pieces(after_text)
            ]
        )

        def dropped() -> Iterator[bytes]:
            yield head
            raise httpx.ReadError("connection reset by peer")

        self._answers.append(lambda request: httpx.Response(200, stream=self.streamed(dropped())))

    def raw_finish(self, finish: FinishReason) -> str | None:
        return _RAW_FINISH.get(finish)

    def image(self, data: bytes, *, media_type: str = "image/png") -> bool:
        inline = {"inlineData": {"mimeType": media_type, "data": base64.b64encode(data).decode()}}
        self._answers.append(self._response([{"text": "Here it is."}, inline], "STOP", None))
        return True

    def last_request(self) -> SentRequest:
        request = self._route.calls.last.request
        body = json.loads(request.content)
        messages: list[tuple[str, str]] = []
        results: list[tuple[str | None, str]] = []
        calls: list[tuple[str | None, str, dict[str, Any]]] = []
        images = 0
        for content in body["contents"]:
            texts = []
            for part in content["parts"]:
                if "text" in part:
                    texts.append(part["text"])
                elif "inlineData" in part or "fileData" in part:
                    images += 1
                elif "functionCall" in part:
                    function = part["functionCall"]
                    calls.append((function.get("id"), function["name"], function.get("args", {})))
                elif "functionResponse" in part:
                    function = part["functionResponse"]
                    response = function["response"]
                    text = (
                        response["output"] if set(response) == {"output"} else json.dumps(response)
                    )
                    results.append((function.get("id"), text))
            if texts or not any("functionResponse" in p for p in content["parts"]):
                role = "assistant" if content["role"] == "model" else "user"
                messages.append((role, "".join(texts)))
        config = body.get("generationConfig", {})
        system = body.get("systemInstruction", {}).get("parts", [])
        return SentRequest(
            model=request.url.path.rpartition("/")[2].partition(":")[0],
            system="".join(p.get("text", "") for p in system),
            messages=messages,
            tool_calls=calls,
            tool_results=results,
            tools=[
                d["name"] for tool in body.get("tools", ()) for d in tool["functionDeclarations"]
            ],
            images=images,
            json_schema=config.get("responseJsonSchema"),
            max_tokens=config.get("maxOutputTokens"),
            temperature=config.get("temperature"),
            stop=config.get("stopSequences", []),
        )


class TestGeminiConformance(LLMConformance):
    @pytest.fixture
    def llm(self, gemini: GeminiLLM) -> GeminiLLM:
        return gemini

    @pytest.fixture
    def llm_script(self, api: respx.MockRouter) -> GeminiScript:
        return GeminiScript(api)

    @pytest.fixture
    def llm_secret(self, api_key: str) -> str:
        return api_key
