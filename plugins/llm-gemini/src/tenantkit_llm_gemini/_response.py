"""Gemini API answers as tenantkit responses, stream events and errors.

* Responses, usage, finish and block reasons: https://ai.google.dev/api/generate-content
* Embeddings: https://ai.google.dev/api/embeddings (``BatchEmbedContentsResponse``:
  ``embeddings``, one ``ContentEmbedding`` with its ``values`` per request, in order)
* Errors: https://ai.google.dev/gemini-api/docs/troubleshooting and
  https://cloud.google.com/apis/design/errors (``google.rpc.Status``, ``RetryInfo``)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tenantkit.errors import (
    AuthenticationError,
    ContentFiltered,
    ProviderError,
    RateLimited,
    StreamInterrupted,
    TenantkitError,
)
from tenantkit.http import ErrorInfo, SSEEvent
from tenantkit.llm import (
    ChatResponse,
    FinishEvent,
    FinishReason,
    GeneratedImage,
    Message,
    StartEvent,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from tenantkit_llm_gemini._request import PROVIDER, join_call_id

if TYPE_CHECKING:
    import httpx

    from tenantkit.http import ProviderHTTP

__all__ = [
    "CODES",
    "StreamDecoder",
    "finish_reason",
    "parse_embeddings",
    "parse_error",
    "parse_images",
    "parse_response",
]

#: Gemini's own codes (``google.rpc.ErrorInfo`` reasons and ``google.rpc.Code`` names)
#: where they say more than the core's table. Gemini answers every exhausted quota with
#: HTTP 429 ``RESOURCE_EXHAUSTED`` and a message about quotas and billing; its
#: documentation calls that the rate limit (billing problems come as 400 or 403), so it
#: is :class:`RateLimited` whatever its message says (a code in this table is final).
#: A ``RetryInfo`` longer than the retry budget still ends the retries at once.
CODES: dict[str, type[TenantkitError]] = {
    "API_KEY_INVALID": AuthenticationError,
    "RESOURCE_EXHAUSTED": RateLimited,
}

_FILTERED = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
    }
)


def finish_reason(raw: str | None, *, called: bool) -> FinishReason:
    """Gemini's ``finishReason`` normalized. Gemini says ``STOP`` after function calls too."""
    if raw == "STOP":
        return "tool_calls" if called else "stop"
    if raw == "MAX_TOKENS":
        return "length"
    if raw in _FILTERED:
        return "content_filter"
    return "other"


def parse_error(response: httpx.Response) -> ErrorInfo:
    """A ``google.rpc.Status``: ``{"error": {"code", "message", "status", "details"}}``."""
    return _error_info(response.json().get("error") or {})


def _error_info(error: Mapping[str, Any]) -> ErrorInfo:
    code = error.get("status")
    retry_after = None
    for detail in error.get("details") or ():
        kind = str(detail.get("@type", ""))
        if kind.endswith("google.rpc.ErrorInfo") and detail.get("reason"):
            code = detail["reason"]
        elif kind.endswith("google.rpc.RetryInfo"):
            retry_after = _duration(detail.get("retryDelay"))
    return ErrorInfo(code=code, message=str(error.get("message") or ""), retry_after=retry_after)


def _duration(raw: object) -> float | None:
    """A protobuf Duration in JSON (``"37s"``, ``"1.5s"``) in seconds."""
    if isinstance(raw, str) and raw.endswith("s"):
        try:
            return max(0.0, float(raw[:-1]))
        except ValueError:
            return None
    return None


def usage(raw: Mapping[str, Any]) -> Usage:
    """``usageMetadata``: thoughts are output tokens (reasoning), cached content is
    part of the prompt, tool-use prompts are input."""
    thoughts = int(raw.get("thoughtsTokenCount") or 0)
    return Usage(
        input_tokens=int(raw.get("promptTokenCount") or 0)
        + int(raw.get("toolUsePromptTokenCount") or 0),
        output_tokens=int(raw.get("candidatesTokenCount") or 0) + thoughts,
        cached_tokens=int(raw.get("cachedContentTokenCount") or 0),
        reasoning_tokens=thoughts,
    )


def _blocked(body: Mapping[str, Any]) -> ContentFiltered | None:
    """The prompt itself was blocked: no candidates, ``promptFeedback.blockReason``."""
    reason = (body.get("promptFeedback") or {}).get("blockReason")
    if reason and not body.get("candidates"):
        return ContentFiltered(
            f"gemini blocked the prompt ({reason})",
            provider=PROVIDER,
            code=reason,
            request_id=body.get("responseId"),
        )
    return None


def parse_response(body: Mapping[str, Any]) -> ChatResponse:
    """A ``GenerateContentResponse`` as a :class:`ChatResponse`."""
    blocked = _blocked(body)
    if blocked is not None:
        raise blocked
    candidates = body.get("candidates") or [{}]
    candidate = candidates[0]
    text: list[str] = []
    calls: list[ToolCall] = []
    for part in (candidate.get("content") or {}).get("parts") or ():
        if "functionCall" in part:
            function = part["functionCall"]
            calls.append(
                ToolCall(
                    id=join_call_id(function.get("id"), len(calls), part.get("thoughtSignature")),
                    name=function["name"],
                    arguments=function.get("args") or {},
                )
            )
        elif "text" in part and not part.get("thought"):
            text.append(part["text"])
    raw = candidate.get("finishReason")
    return ChatResponse(
        id=body.get("responseId"),
        model=body.get("modelVersion"),
        provider=PROVIDER,
        message=Message(role="assistant", content="".join(text), tool_calls=calls),
        finish_reason=finish_reason(raw, called=bool(calls)),
        raw_finish_reason=raw,
        usage=usage(body.get("usageMetadata") or {}),
        request_id=body.get("responseId"),
    )


def parse_embeddings(body: Mapping[str, Any], count: int) -> list[list[float]]:
    """The vectors of a ``batchEmbedContents`` answer, which keeps the request order."""
    embeddings = body.get("embeddings")
    if not isinstance(embeddings, list) or len(embeddings) != count:
        raise ValueError(f"expected {count} embeddings")
    vectors: list[list[float]] = []
    for embedding in embeddings:
        values = embedding.get("values") if isinstance(embedding, dict) else None
        if not isinstance(values, list) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in values
        ):
            raise ValueError("an embedding without a list of numbers")
        vectors.append([float(x) for x in values])
    return vectors


def parse_images(body: Mapping[str, Any]) -> list[GeneratedImage]:
    """The ``inlineData`` images of an answer; a refusal is :class:`ContentFiltered`."""
    blocked = _blocked(body)
    if blocked is not None:
        raise blocked
    images: list[GeneratedImage] = []
    candidate = (body.get("candidates") or [{}])[0]
    for part in (candidate.get("content") or {}).get("parts") or ():
        inline = part.get("inlineData")
        if inline and not part.get("thought"):
            try:
                data = base64.b64decode(inline["data"], validate=True)
            except (binascii.Error, ValueError, KeyError):
                raise ProviderError(
                    "gemini sent image data that is not base64", provider=PROVIDER
                ) from None
            images.append(GeneratedImage(data=data, media_type=inline.get("mimeType", "image/png")))
    if not images:
        raw = candidate.get("finishReason")
        cls = ContentFiltered if raw in _FILTERED else ProviderError
        raise cls(
            f"gemini answered without an image (finish reason {raw or 'none'}); "
            "is the model an image model?",
            provider=PROVIDER,
            code=raw,
            request_id=body.get("responseId"),
        )
    return images


class StreamDecoder:
    """Turns ``streamGenerateContent?alt=sse`` chunks into tenantkit stream events.

    Each chunk is a whole ``GenerateContentResponse``: text parts are deltas, function
    calls arrive whole, ``usageMetadata`` repeats (the last one counts) and the last
    chunk carries ``finishReason``. The start event is held back until content
    arrives, so an error before any content is raised plainly (and may be retried).
    """

    def __init__(self, *, http: ProviderHTTP) -> None:
        self._http = http
        self._start: StartEvent | None = None
        self._usage: Mapping[str, Any] = {}
        self._finish: str | None = None
        self._calls = 0
        self._delivered = False
        self._request_id: str | None = None

    def events(self, sse: Iterator[SSEEvent]) -> Iterator[StreamEvent]:
        for event in sse:
            try:
                yield from self._feed(json.loads(event.data))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise self._interrupted(
                    f"the gemini stream sent a malformed chunk ({type(exc).__name__})"
                ) from None
        if self._finish is None:
            raise self._interrupted("the gemini stream ended without a finish reason")
        yield from self._deliver(UsageEvent(usage=usage(self._usage)))
        yield FinishEvent(
            reason=finish_reason(self._finish, called=self._calls > 0), raw_reason=self._finish
        )

    def _feed(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        """The events one chunk gives (a list: cheaper than a generator)."""
        if "error" in chunk:
            raise self._error(chunk["error"])
        if self._request_id is None and chunk.get("responseId"):
            self._request_id = chunk["responseId"]
        if self._start is None and not self._delivered:
            self._start = StartEvent(
                id=chunk.get("responseId"),
                model=chunk.get("modelVersion"),
                request_id=chunk.get("responseId"),
            )
        blocked = _blocked(chunk)
        if blocked is not None:
            if self._delivered:
                raise self._interrupted(blocked.message, blocked.code)
            raise blocked
        if chunk.get("usageMetadata"):
            self._usage = chunk["usageMetadata"]
        out: list[StreamEvent] = []
        for candidate in (chunk.get("candidates") or ())[:1]:
            for part in (candidate.get("content") or {}).get("parts") or ():
                if "functionCall" in part:
                    function = part["functionCall"]
                    ordinal = self._calls
                    self._calls += 1
                    call_id = join_call_id(
                        function.get("id"), ordinal, part.get("thoughtSignature")
                    )
                    out += self._deliver(
                        ToolCallDelta(
                            index=ordinal,
                            id=call_id,
                            name=function["name"],
                            arguments=json.dumps(function.get("args") or {}),
                        )
                    )
                elif part.get("text") and not part.get("thought"):
                    out += self._deliver(TextDelta(text=part["text"]))
            if candidate.get("finishReason"):
                self._finish = candidate["finishReason"]
        return out

    def _deliver(self, event: StreamEvent) -> list[StreamEvent]:
        if self._start is None:
            return [event]
        start, self._start = self._start, None
        self._delivered = True
        return [start, event]

    def _interrupted(self, message: str, code: str | None = None) -> StreamInterrupted:
        return StreamInterrupted(message, provider=PROVIDER, code=code, request_id=self._request_id)

    def _error(self, raw: Mapping[str, Any]) -> TenantkitError:
        """An error object inside a 200 stream: classified by its own ``code``."""
        code = raw.get("code")
        status = code if isinstance(code, int) else 500
        return self._http.stream_error(
            status, _error_info(raw), request_id=self._request_id, delivered=self._delivered
        )
