"""Messages API answers as tenantkit responses, stream events and errors.

* Messages: https://platform.claude.com/docs/en/api/messages
* Streaming: https://platform.claude.com/docs/en/build-with-claude/streaming
* Stop reasons: https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons
* Errors: https://platform.claude.com/docs/en/api/errors
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tenantkit.errors import (
    ProviderError,
    QuotaExceeded,
    StreamInterrupted,
    Timeout,
)
from tenantkit.http import ErrorInfo, SSEEvent
from tenantkit.llm import (
    ChatResponse,
    FinishEvent,
    FinishReason,
    Message,
    StartEvent,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)

if TYPE_CHECKING:
    import httpx

    from tenantkit.http import ProviderHTTP

__all__ = [
    "CODES",
    "REQUEST_ID_HEADER",
    "StreamDecoder",
    "finish_reason",
    "parse_error",
    "parse_message",
]

PROVIDER = "claude"
REQUEST_ID_HEADER = "request-id"

#: Claude's error types (and ``error.details.error_code`` values) beyond the core's table.
CODES: dict[str, type[ProviderError]] = {
    "billing_error": QuotaExceeded,
    "enforced_spend_limit_reached": QuotaExceeded,
    "timeout_error": Timeout,
}

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "other",
}


def finish_reason(stop_reason: str | None) -> FinishReason:
    """Claude's ``stop_reason`` normalized; unknown reasons are ``"other"``."""
    return _FINISH.get(stop_reason or "", "other")


def parse_error(response: httpx.Response) -> ErrorInfo:
    """``{"type": "error", "error": {"type": ..., "message": ...}, "request_id": ...}``."""
    return _error_info(response.json())


def _error_info(body: Mapping[str, Any]) -> ErrorInfo:
    error = body.get("error") or {}
    details = error.get("details") or {}
    code = details.get("error_code") if isinstance(details, dict) else None
    request_id = body.get("request_id")
    return ErrorInfo(
        code=code or error.get("type"),
        message=str(error.get("message") or ""),
        request_id=request_id if isinstance(request_id, str) and request_id else None,
    )


def usage(raw: Mapping[str, Any]) -> Usage:
    """Claude counts cache reads and writes apart from ``input_tokens``; the core's
    ``input_tokens`` includes them and ``cached_tokens`` is the part read from cache."""
    cache_read = int(raw.get("cache_read_input_tokens") or 0)
    cache_write = int(raw.get("cache_creation_input_tokens") or 0)
    return Usage(
        input_tokens=int(raw.get("input_tokens") or 0) + cache_read + cache_write,
        output_tokens=int(raw.get("output_tokens") or 0),
        cached_tokens=cache_read,
    )


def parse_message(body: Mapping[str, Any], request_id: str | None) -> ChatResponse:
    """A non-streamed ``message`` object as a :class:`ChatResponse`."""
    text: list[str] = []
    calls: list[ToolCall] = []
    for block in body.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            text.append(block.get("text", ""))
        elif kind == "tool_use":
            calls.append(
                ToolCall(id=block["id"], name=block["name"], arguments=block.get("input") or {})
            )
    stop = body.get("stop_reason")
    return ChatResponse(
        id=body.get("id"),
        model=body.get("model"),
        provider=PROVIDER,
        message=Message(role="assistant", content="".join(text), tool_calls=calls),
        finish_reason=finish_reason(stop),
        raw_finish_reason=stop,
        usage=usage(body.get("usage") or {}),
        request_id=request_id,
    )


class StreamDecoder:
    """Turns the Messages API's server-sent events into tenantkit stream events.

    The start event is held back until the first content arrives, so an ``error``
    event right after ``message_start`` (an overloaded API) is raised as a plain,
    retryable error before the consumer has seen anything. Later errors, and a body
    that ends before ``message_stop``, are :class:`StreamInterrupted`.
    """

    def __init__(self, request_id: str | None, *, http: ProviderHTTP) -> None:
        self._request_id = request_id
        self._http = http
        self._start: StartEvent | None = StartEvent(request_id=request_id)
        self._usage: dict[str, Any] = {}
        self._stop_reason: str | None = None
        self._tools: dict[int, _ToolBlock] = {}
        self._delivered = False
        self._done = False

    def events(self, sse: Iterator[SSEEvent]) -> Iterator[StreamEvent]:
        for event in sse:
            try:
                yield from self._feed(event)
            except (ValueError, KeyError, TypeError) as exc:
                raise self._interrupted(
                    f"the claude stream sent a malformed {event.event!r} event "
                    f"({type(exc).__name__})"
                ) from None
            if self._done:
                return
        raise self._interrupted("the claude stream ended before message_stop")

    def _interrupted(self, message: str, code: str | None = None) -> StreamInterrupted:
        return StreamInterrupted(message, provider=PROVIDER, code=code, request_id=self._request_id)

    def _feed(self, sse: SSEEvent) -> list[StreamEvent]:
        """The events one server-sent event gives (a list: cheaper than a generator)."""
        if sse.event == "ping":
            return []
        data: dict[str, Any] = json.loads(sse.data)
        kind = data.get("type", sse.event)
        if kind == "content_block_delta":
            delta = data["delta"]
            if delta.get("type") == "text_delta":
                return self._deliver(TextDelta(text=delta["text"]))
            if delta.get("type") == "input_json_delta":
                block = self._tools.get(data["index"])
                if block is not None and delta.get("partial_json"):
                    block.streamed = True
                    return self._deliver(
                        ToolCallDelta(index=block.ordinal, arguments=delta["partial_json"])
                    )
        elif kind == "content_block_start":
            content = data["content_block"]
            if content.get("type") == "tool_use":
                block = _ToolBlock(len(self._tools), content.get("input") or {})
                self._tools[data["index"]] = block
                return self._deliver(
                    ToolCallDelta(index=block.ordinal, id=content["id"], name=content["name"])
                )
            if content.get("type") == "text" and content.get("text"):
                return self._deliver(TextDelta(text=content["text"]))
        elif kind == "content_block_stop":
            block = self._tools.get(data["index"])
            if block is not None and not block.streamed and block.initial:
                # The whole input arrived with the block start.
                return self._deliver(
                    ToolCallDelta(index=block.ordinal, arguments=json.dumps(block.initial))
                )
        elif kind == "message_start":
            message = data["message"]
            self._usage.update(message.get("usage") or {})
            self._start = StartEvent(
                id=message.get("id"), model=message.get("model"), request_id=self._request_id
            )
        elif kind == "message_delta":
            self._stop_reason = data.get("delta", {}).get("stop_reason") or self._stop_reason
            self._usage.update(data.get("usage") or {})
        elif kind == "message_stop":
            self._done = True
            finish = FinishEvent(
                reason=finish_reason(self._stop_reason), raw_reason=self._stop_reason
            )
            return [*self._deliver(UsageEvent(usage=usage(self._usage))), finish]
        elif kind == "error":
            raise self._error(data)
        # Other events (thinking deltas, new event types) carry nothing for the core.
        return []

    def _deliver(self, event: StreamEvent) -> list[StreamEvent]:
        if self._start is None:
            return [event]
        start, self._start = self._start, None
        self._delivered = True
        return [start, event]

    def _error(self, data: Mapping[str, Any]) -> ProviderError:
        """An ``error`` event: the HTTP status was 200, so classify by the error type."""
        info = _error_info(data)
        status = _STATUS_OF.get(str(info.code), 500)
        return self._http.stream_error(
            status, info, request_id=self._request_id, delivered=self._delivered
        )


#: The HTTP status each error type is documented with, to classify ``error`` events.
_STATUS_OF = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


class _ToolBlock:
    __slots__ = ("initial", "ordinal", "streamed")

    def __init__(self, ordinal: int, initial: dict[str, Any]) -> None:
        self.ordinal = ordinal
        self.initial = initial
        self.streamed = False
