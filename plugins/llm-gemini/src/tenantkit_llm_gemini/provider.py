"""The ``gemini`` provider: the Gemini API's ``generateContent`` methods."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import tenantkit
from tenantkit.errors import ProviderUnavailable
from tenantkit.http import ProviderHTTP, iter_sse
from tenantkit.llm import (
    LLM,
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    ImageRequest,
    ImageResponse,
    LLMCapability,
    StreamEvent,
    Usage,
)
from tenantkit_llm_gemini._request import (
    PROVIDER,
    build_body,
    build_embedding_body,
    build_image_body,
    model_path,
)
from tenantkit_llm_gemini._response import (
    CODES,
    StreamDecoder,
    parse_embeddings,
    parse_error,
    parse_images,
    parse_response,
    usage,
)
from tenantkit_llm_gemini.settings import GeminiSettings

if TYPE_CHECKING:
    import httpx

    from tenantkit.registry import ProviderContext

__all__ = ["GeminiLLM"]


class GeminiLLM(LLM):
    """Chat, streaming, image generation and embeddings with Gemini models."""

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

    def __init__(self, settings: GeminiSettings, context: ProviderContext | None = None) -> None:
        self._settings = settings
        key = settings.api_key.get_secret_value()
        self._http = ProviderHTTP(
            PROVIDER,
            settings.base_url,
            headers={
                "x-goog-api-key": key,
                "x-goog-api-client": f"tenantkit/{tenantkit.__version__}",
                "content-type": "application/json",
            },
            parse_error=parse_error,
            codes=CODES,
            secrets=[key],
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
        )

    def __repr__(self) -> str:
        return f"GeminiLLM(model={self._settings.model!r}, base_url={self._settings.base_url!r})"

    @property
    def settings(self) -> GeminiSettings:
        return self._settings

    def chat(self, request: ChatRequest) -> ChatResponse:
        path = model_path(request.model or self._settings.model, self._settings, "generateContent")
        body = self._json(
            self._http.request("POST", path, json=build_body(request, self._settings))
        )
        try:
            return parse_response(body)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise _malformed(exc) from None

    def stream(self, request: ChatRequest) -> Iterator[StreamEvent]:
        model = request.model or self._settings.model
        path = model_path(model, self._settings, "streamGenerateContent")
        with self._http.stream(
            "POST",
            path,
            params={"alt": "sse"},
            json=build_body(request, self._settings),
            headers={"accept": "text/event-stream"},
        ) as response:
            decoder = StreamDecoder(http=self._http)
            yield from decoder.events(iter_sse(response.iter_lines()))

    def generate_image(self, request: ImageRequest) -> ImageResponse:
        """One ``generateContent`` call per image asked for; ``inlineData`` parts decoded."""
        settings = self._settings
        model = request.model or settings.image_model or settings.model
        path = model_path(model, settings, "generateContent")
        body = build_image_body(request)
        images = []
        totals = Usage()
        request_id = None
        for _ in range(request.n):
            answer = self._json(self._http.request("POST", path, json=body))
            try:
                images.extend(parse_images(answer))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise _malformed(exc) from None
            request_id = request_id or answer.get("responseId")
            spent = usage(answer.get("usageMetadata") or {})
            totals = Usage(
                input_tokens=totals.input_tokens + spent.input_tokens,
                output_tokens=totals.output_tokens + spent.output_tokens,
                cached_tokens=totals.cached_tokens + spent.cached_tokens,
                reasoning_tokens=totals.reasoning_tokens + spent.reasoning_tokens,
            )
        return ImageResponse(images=images, model=model, usage=totals, request_id=request_id)

    def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """One ``batchEmbedContents`` call for every text (the API reports no tokens)."""
        model = request.model or self._settings.embedding_model
        path = model_path(model, self._settings, "batchEmbedContents")
        body = build_embedding_body(request.input, model, request.dimensions)
        answer = self._json(self._http.request("POST", path, json=body))
        try:
            vectors = parse_embeddings(answer, len(request.input))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise _malformed(exc) from None
        return EmbeddingResponse(vectors=vectors, model=model)

    def close(self) -> None:
        self._http.close()

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        body = self._http.json(response)
        if not isinstance(body, dict):
            raise ProviderUnavailable(
                "gemini answered with a body that is not a JSON object",
                provider=PROVIDER,
                status=response.status_code,
            )
        return body


def _malformed(exc: Exception) -> ProviderUnavailable:
    return ProviderUnavailable(
        f"gemini answered with a malformed response ({type(exc).__name__})", provider=PROVIDER
    )
