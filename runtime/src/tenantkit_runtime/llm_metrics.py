"""The tenant's LLM, measured: every chat and stream becomes LLM metrics.

``request.llm`` hands routes a :class:`MeasuredLLM`, so the chat function, the
OpenAI-compatible route and the WebSocket stream are all measured without a line
of their own: one ``LLMCalls`` per call with its latency (a stream: until it ends,
breaks or is closed), its input and output tokens from the provider's usage, and
``LLMErrors`` when the provider failed (a caller's error, such as an invalid
request, is the caller's and not counted as a call). See :mod:`.metrics`.
"""

from __future__ import annotations

import time
from typing import Any, cast

from tenantkit import TenantLLM
from tenantkit.errors import CallerError
from tenantkit.llm import ChatResponse, ChatStream
from tenantkit_runtime import metrics
from tenantkit_runtime._watched import WatchedStream

__all__ = ["MeasuredLLM"]


class MeasuredLLM:
    """Wraps a :class:`~tenantkit.TenantLLM`; everything else passes through."""

    __slots__ = ("_llm",)

    def __init__(self, llm: TenantLLM) -> None:
        self._llm = llm

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llm, name)

    def chat(self, *args: Any, **fields: Any) -> ChatResponse:
        started = time.perf_counter()
        try:
            reply = self._llm.chat(*args, **fields)
        except Exception as exc:
            _failed(self._llm, started, exc)
            raise
        _done(self._llm.provider, started, reply)
        return reply

    def stream(self, *args: Any, **fields: Any) -> ChatStream:
        started = time.perf_counter()
        try:
            stream = self._llm.stream(*args, **fields)
        except Exception as exc:
            _failed(self._llm, started, exc)
            raise
        return cast(ChatStream, _MeasuredStream(stream, self._llm.provider, started))

    def __repr__(self) -> str:
        return repr(self._llm)


class _MeasuredStream(WatchedStream):
    """A :class:`~tenantkit.llm.ChatStream` that records its call once: when it ends,
    breaks or is closed."""

    def __init__(self, stream: ChatStream, provider: str, started: float) -> None:
        super().__init__(stream)
        self._provider_name = provider
        self._started = started

    def _over(self, response: ChatResponse | None, error: Exception | None) -> None:
        if response is not None:
            _done(self._provider_name, self._started, response)
        elif error is not None:
            failed = not isinstance(error, CallerError)
            metrics.llm_call(self._provider_name, latency_ms=_ms(self._started), failed=failed)
        else:  # the caller went away before the end: usage unknown
            metrics.llm_call(self._provider_name, latency_ms=_ms(self._started))


def _done(provider: str, started: float, reply: ChatResponse) -> None:
    metrics.llm_call(
        provider,
        latency_ms=_ms(started),
        input_tokens=reply.usage.input_tokens,
        output_tokens=reply.usage.output_tokens,
    )


def _failed(llm: TenantLLM, started: float, exc: Exception) -> None:
    if isinstance(exc, CallerError):
        return
    try:
        provider = llm.provider
    except Exception:  # the tenant's LLM could not even be set up: no provider to name
        return
    metrics.llm_call(provider, latency_ms=_ms(started), failed=True)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
