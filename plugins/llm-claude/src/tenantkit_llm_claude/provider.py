"""The ``claude`` provider: Anthropic's Messages API (``POST /v1/messages``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from tenantkit.errors import ProviderUnavailable
from tenantkit.http import ProviderHTTP, iter_sse
from tenantkit.llm import LLM, ChatRequest, ChatResponse, LLMCapability, StreamEvent
from tenantkit_llm_claude._request import PROVIDER, build_body
from tenantkit_llm_claude._response import (
    CODES,
    REQUEST_ID_HEADER,
    StreamDecoder,
    parse_error,
    parse_message,
)
from tenantkit_llm_claude.settings import ClaudeSettings

if TYPE_CHECKING:
    from tenantkit.registry import ProviderContext

__all__ = ["ClaudeLLM"]

_PATH = "/v1/messages"


class ClaudeLLM(LLM):
    """Chat and streaming with Claude. Image generation is not offered by the API."""

    capabilities: ClassVar[frozenset[LLMCapability]] = frozenset(
        {
            LLMCapability.STREAMING,
            LLMCapability.TOOLS,
            LLMCapability.VISION,
            LLMCapability.JSON_SCHEMA,
        }
    )

    def __init__(self, settings: ClaudeSettings, context: ProviderContext | None = None) -> None:
        self._settings = settings
        key = settings.api_key.get_secret_value()
        self._http = ProviderHTTP(
            PROVIDER,
            settings.base_url,
            headers={
                "x-api-key": key,
                "anthropic-version": settings.anthropic_version,
                "content-type": "application/json",
            },
            parse_error=parse_error,
            codes=CODES,
            request_id_header=REQUEST_ID_HEADER,
            secrets=[key],
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
        )

    def __repr__(self) -> str:
        return f"ClaudeLLM(model={self._settings.model!r}, base_url={self._settings.base_url!r})"

    @property
    def settings(self) -> ClaudeSettings:
        return self._settings

    def chat(self, request: ChatRequest) -> ChatResponse:
        body = build_body(request, self._settings, stream=False)
        response = self._http.request("POST", _PATH, json=body)
        request_id = self._http.request_id(response)
        answer = self._http.json(response)
        try:
            return parse_message(answer, request_id)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ProviderUnavailable(
                f"claude answered with a malformed message ({type(exc).__name__})",
                provider=PROVIDER,
                status=response.status_code,
                request_id=request_id,
            ) from None

    def stream(self, request: ChatRequest) -> Iterator[StreamEvent]:
        body = build_body(request, self._settings, stream=True)
        with self._http.stream(
            "POST", _PATH, json=body, headers={"accept": "text/event-stream"}
        ) as response:
            decoder = StreamDecoder(self._http.request_id(response), http=self._http)
            yield from decoder.events(iter_sse(response.iter_lines()))

    def close(self) -> None:
        self._http.close()
