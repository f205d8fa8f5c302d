"""The core's LLM conformance suite against the claude provider on a mocked Messages API.

The script answers in the documented wire formats: message objects
(https://platform.claude.com/docs/en/api/messages), event streams
(https://platform.claude.com/docs/en/build-with-claude/streaming) and error bodies
(https://platform.claude.com/docs/en/api/errors).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import httpx
import pytest
import respx

from tenantkit import Usage
from tenantkit import errors as e
from tenantkit.llm import FinishReason
from tenantkit.testing import LLMConformance, LLMScript
from tenantkit.testing.llm import SentRequest
from tenantkit_llm_claude import ClaudeLLM

Answer = Callable[[httpx.Request], httpx.Response]

_RAW_FINISH: dict[str, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}
# How the Messages API signals each error (None: it has no signal for it).
_ERRORS: dict[type[e.ProviderError], tuple[int, str, str] | None] = {
    e.AuthenticationError: (401, "authentication_error", "invalid x-api-key"),
    e.PermissionDenied: (
        403,
        "permission_error",
        "Your API key does not have permission to use the specified resource.",
    ),
    e.NotFound: (404, "not_found_error", "model: conformance-model"),
    e.RateLimited: (
        429,
        "rate_limit_error",
        "This request would exceed the rate limit for your organization.",
    ),
    e.QuotaExceeded: (
        402,
        "billing_error",
        "Your credit balance is too low to access the Anthropic API.",
    ),
    e.ContextWindowExceeded: (
        400,
        "invalid_request_error",
        "prompt is too long: 208310 tokens > 200000 maximum",
    ),
    e.InvalidRequest: (400, "invalid_request_error", "max_tokens: Field required"),
    e.ProviderUnavailable: (529, "overloaded_error", "Overloaded"),
    e.Timeout: (504, "timeout_error", "Request timeout"),
    e.Throttled: None,
    e.ContentFiltered: None,  # refusals are a stop reason, not an error
}


def _sse(*events: dict[str, Any]) -> bytes:
    return b"".join(
        f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode() for event in events
    )


def _usage(usage: Usage | None) -> tuple[dict[str, int], dict[str, int]]:
    """(the usage at message_start, the usage at message_delta)."""
    usage = usage or Usage(input_tokens=12, output_tokens=6)
    start = {
        "input_tokens": usage.input_tokens - usage.cached_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": usage.cached_tokens,
        "output_tokens": 1,
    }
    return start, {"output_tokens": usage.output_tokens}


class ClaudeScript(LLMScript):
    """Queues Messages API answers on a respx router."""

    provider = "claude"
    usage_fields: ClassVar[frozenset[str]] = frozenset(
        {"input_tokens", "output_tokens", "cached_tokens"}  # no reasoning count on the wire
    )

    def __init__(self, router: respx.MockRouter, secret: str) -> None:
        self._answers: deque[Answer] = deque()
        self._secret = secret
        self._route = router.post("/v1/messages").mock(side_effect=self._answer)
        self._serial = 0

    def _answer(self, request: httpx.Request) -> httpx.Response:
        return self._answers.popleft()(request)

    def _headers(self) -> dict[str, str]:
        self._serial += 1
        return {"request-id": f"req_conformance_{self._serial:04d}"}

    def _message(
        self, blocks: list[dict[str, Any]], stop_reason: str, usage: Usage | None
    ) -> Answer:
        def answer(request: httpx.Request) -> httpx.Response:
            body = json.loads(request.content)
            headers = self._headers()
            start, delta = _usage(usage)
            message = {
                "id": f"msg_conformance_{self._serial:04d}",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "stop_sequence": None,
            }
            if not body.get("stream"):
                whole = {**start, **delta}
                return httpx.Response(
                    200,
                    headers=headers,
                    json={
                        **message,
                        "content": blocks,
                        "stop_reason": stop_reason,
                        "usage": whole,
                    },
                )
            events: list[dict[str, Any]] = [
                {
                    "type": "message_start",
                    "message": {**message, "content": [], "stop_reason": None, "usage": start},
                },
                {"type": "ping"},
            ]
            for index, block in enumerate(blocks):
                events.extend(_block_events(index, block))
            events += [
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": delta,
                },
                {"type": "message_stop"},
            ]
            headers["content-type"] = "text/event-stream"
            return httpx.Response(200, headers=headers, stream=self.streamed(_sse(*events)))

        return answer

    def reply(
        self, text: str, *, usage: Usage | None = None, finish: FinishReason = "stop"
    ) -> None:
        self._answers.append(
            self._message([{"type": "text", "text": text}], _RAW_FINISH[finish], usage)
        )

    def reply_tool_call(
        self,
        name: str,
        arguments: dict[str, Any],
        *,
        call_id: str = "call_1",
        usage: Usage | None = None,
    ) -> None:
        block = {"type": "tool_use", "id": call_id, "name": name, "input": arguments}
        self._answers.append(self._message([block], "tool_use", usage))

    def fail(self, error_kind: type[e.ProviderError], *, retry_after: float | None = None) -> bool:
        if error_kind is e.ConnectionFailed:

            def refuse(request: httpx.Request) -> httpx.Response:
                raise httpx.ConnectError("connection refused", request=request)

            self._answers.append(refuse)
            return True
        signal = _ERRORS.get(error_kind)
        if signal is None:
            return False
        status, kind, message = signal

        def answer(request: httpx.Request) -> httpx.Response:
            headers = self._headers()
            if retry_after is not None:
                headers["retry-after"] = f"{retry_after:g}"
            body = {
                "type": "error",
                "error": {"type": kind, "message": message},
                "request_id": headers["request-id"],
            }
            return httpx.Response(status, headers=headers, json=body)

        self._answers.append(answer)
        return True

    def interrupt_stream(self, after_text: str) -> None:
        words = after_text.split(" ")
        pieces = [w if i == 0 else f" {w}" for i, w in enumerate(words)]
        head = _sse(
            {
                "type": "message_start",
                "message": {
                    "id": "msg_interrupted",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-sonnet-4-5",
                    "content": [],
                    "stop_reason": None,
                    "usage": {"input_tokens": 5, "output_tokens": 1},
                },
            },
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            *(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": p},
                }
                for p in pieces
            ),
        )

        def dropped() -> Iterator[bytes]:
            yield head
            raise httpx.ReadError("connection reset by peer")

        self._answers.append(
            lambda request: httpx.Response(
                200,
                headers={**self._headers(), "content-type": "text/event-stream"},
                stream=self.streamed(dropped()),
            )
        )

    def raw_finish(self, finish: FinishReason) -> str | None:
        return _RAW_FINISH.get(finish)

    def last_request(self) -> SentRequest:
        body = json.loads(self._route.calls.last.request.content)
        messages: list[tuple[str, str]] = []
        results: list[tuple[str | None, str]] = []
        calls: list[tuple[str | None, str, dict[str, Any]]] = []
        images = 0
        for message in body["messages"]:
            content = message["content"]
            if isinstance(content, str):
                messages.append((message["role"], content))
                continue
            texts = []
            for block in content:
                if block["type"] == "text":
                    texts.append(block["text"])
                elif block["type"] == "image":
                    images += 1
                elif block["type"] == "tool_use":
                    calls.append((block["id"], block["name"], block["input"]))
                elif block["type"] == "tool_result":
                    result = block["content"]
                    if not isinstance(result, str):
                        result = "".join(b.get("text", "") for b in result)
                    results.append((block["tool_use_id"], result))
            if texts or not any(b["type"] == "tool_result" for b in content):
                messages.append((message["role"], "".join(texts)))
        schema = (body.get("output_config") or {}).get("format", {}).get("schema")
        return SentRequest(
            model=body["model"],
            system=body.get("system", ""),
            messages=messages,
            tool_calls=calls,
            tool_results=results,
            tools=[t["name"] for t in body.get("tools", ())],
            images=images,
            json_schema=schema,
            max_tokens=body.get("max_tokens"),
            temperature=body.get("temperature"),
            stop=body.get("stop_sequences", []),
        )


def _block_events(index: int, block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A content block streamed as the API does: text in word pieces, tool input in
    JSON fragments."""
    if block["type"] == "text":
        yield {
            "type": "content_block_start",
            "index": index,
            "content_block": {"type": "text", "text": ""},
        }
        words = block["text"].split(" ")
        for i, word in enumerate(words):
            piece = word if i == 0 else f" {word}"
            yield {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "text_delta", "text": piece},
            }
    else:
        start = {**block, "input": {}}
        yield {"type": "content_block_start", "index": index, "content_block": start}
        encoded = json.dumps(block["input"])
        for at in range(0, len(encoded), 7):
            yield {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": encoded[at : at + 7]},
            }
    yield {"type": "content_block_stop", "index": index}


class TestClaudeConformance(LLMConformance):
    @pytest.fixture
    def llm(self, claude: ClaudeLLM) -> ClaudeLLM:
        return claude

    @pytest.fixture
    def llm_script(self, api: respx.MockRouter, api_key: str) -> ClaudeScript:
        return ClaudeScript(api, api_key)

    @pytest.fixture
    def llm_secret(self, api_key: str) -> str:
        return api_key
