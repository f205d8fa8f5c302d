"""The ``openai`` and ``azure-openai`` providers: one HTTP client each, chat completions,
images and embeddings."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from tenantkit.errors import InvalidRequest
from tenantkit.http import ErrorInfo, ProviderHTTP, iter_sse
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
)
from tenantkit.registry import ProviderContext
from tenantkit_llm_openai import _wire as wire
from tenantkit_llm_openai.settings import (
    DEPLOYMENT_NAME,
    AzureOpenAISettings,
    MaxTokensField,
    OpenAISettings,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["AzureOpenAILLM", "OpenAILLM"]

_USER_AGENT = "tenantkit-llm-openai/0.1.0"


class _ChatCompletionsLLM(LLM):
    """What OpenAI and Azure OpenAI share: the wire format and the calls."""

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
    provider: ClassVar[str]
    request_id_header: ClassVar[str]

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        secret: str | None,
        stream_usage: bool,
        max_tokens_field: MaxTokensField,
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        self._http = ProviderHTTP(
            self.provider,
            base_url,
            headers=headers,
            params=params,
            parse_error=wire.error_info,
            request_id_header=self.request_id_header,
            secrets=[secret] if secret else (),
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        self._downloads: ProviderHTTP | None = None
        self._stream_usage = stream_usage
        self._max_tokens_field = max_tokens_field
        self._read_timeout = read_timeout

    # What differs between the two: where requests go and what names the model.

    @abc.abstractmethod
    def _chat_target(self, model: str | None) -> tuple[str, str | None]:
        """The chat URL path and the body's ``model``, given a request's model override."""

    @abc.abstractmethod
    def _image_target(self, model: str | None) -> tuple[str, str | None]:
        """The same for image generation."""

    @abc.abstractmethod
    def _embedding_target(self, model: str | None) -> tuple[str, str | None]:
        """The same for embeddings."""

    # The calls.

    def chat(self, request: ChatRequest) -> ChatResponse:
        path, model = self._chat_target(request.model)
        body = wire.chat_body(request, model=model, max_tokens_field=self._max_tokens_field)
        response = self._http.request("POST", path, json=body)
        return wire.parse_chat(
            self._http.json(response),
            provider=self.provider,
            request_id=self._http.request_id(response),
        )

    def stream(self, request: ChatRequest) -> Iterator[StreamEvent]:
        path, model = self._chat_target(request.model)
        body = wire.chat_body(
            request,
            model=model,
            max_tokens_field=self._max_tokens_field,
            stream=True,
            stream_usage=self._stream_usage,
        )
        return self._stream(path, body)

    def _stream(self, path: str, body: dict[str, Any]) -> Iterator[StreamEvent]:
        with self._http.stream("POST", path, json=body) as response:
            decoder = wire.StreamDecoder(
                provider=self.provider, request_id=self._http.request_id(response)
            )
            for event in iter_sse(response.iter_lines()):
                if event.data == "[DONE]":
                    decoder.done()
                    break
                yield from decoder.feed(event.data)
            yield from decoder.end()

    def generate_image(self, request: ImageRequest) -> ImageResponse:
        path, model = self._image_target(request.model)
        response = self._http.request("POST", path, json=wire.image_body(request, model=model))
        return wire.parse_images(
            self._http.json(response),
            provider=self.provider,
            model=model or request.model,
            request_id=self._http.request_id(response),
            fetch=self._fetch,
        )

    def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        path, model = self._embedding_target(request.model)
        response = self._http.request("POST", path, json=wire.embedding_body(request, model=model))
        return wire.parse_embeddings(
            self._http.json(response),
            provider=self.provider,
            count=len(request.input),
            request_id=self._http.request_id(response),
        )

    def close(self) -> None:
        self._http.close()
        if self._downloads is not None:
            self._downloads.close()

    def _fetch(self, url: str) -> bytes:
        """Download an image result; without the client's credentials, which stay with it."""
        if not url.startswith("https://"):
            raise InvalidRequest(f"{self.provider} returned an image URL that is not https")
        if self._downloads is None:
            self._downloads = ProviderHTTP(
                self.provider, "", parse_error=_download_error, read_timeout=self._read_timeout
            )
        return self._downloads.request("GET", url).content


def _download_error(response: httpx.Response) -> ErrorInfo:
    return ErrorInfo(message=f"image download failed: {response.reason_phrase}")


class OpenAILLM(_ChatCompletionsLLM):
    """OpenAI's ``/v1/chat/completions``, or a compatible server at ``base_url``."""

    provider = "openai"
    request_id_header = "x-request-id"

    def __init__(self, settings: OpenAISettings, context: ProviderContext | None = None) -> None:
        headers = {"User-Agent": _USER_AGENT}
        key = settings.api_key.get_secret_value() if settings.api_key else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if settings.organization:
            headers["OpenAI-Organization"] = settings.organization
        if settings.project:
            headers["OpenAI-Project"] = settings.project
        super().__init__(
            settings.base_url,
            headers=headers,
            secret=key,
            stream_usage=settings.stream_usage,
            max_tokens_field=settings.max_tokens_field,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.timeout,
        )
        self._base_url = settings.base_url
        self._model = settings.model
        self._image_model = settings.image_model
        self._embedding_model = settings.embedding_model

    def __repr__(self) -> str:
        return f"OpenAILLM(base_url={self._base_url!r}, model={self._model!r})"

    def _chat_target(self, model: str | None) -> tuple[str, str | None]:
        return "chat/completions", model or self._model

    def _image_target(self, model: str | None) -> tuple[str, str | None]:
        return "images/generations", model or self._image_model

    def _embedding_target(self, model: str | None) -> tuple[str, str | None]:
        return "embeddings", model or self._embedding_model


class AzureOpenAILLM(_ChatCompletionsLLM):
    """Azure OpenAI deployments, by deployment URL and ``api-version`` or by the v1 API.

    A request's ``model`` names the deployment to use.
    """

    provider = "azure-openai"
    request_id_header = "apim-request-id"

    def __init__(
        self, settings: AzureOpenAISettings, context: ProviderContext | None = None
    ) -> None:
        key = settings.api_key.get_secret_value()
        field = settings.max_tokens_field or (
            "max_completion_tokens" if settings.v1 else "max_tokens"
        )
        super().__init__(
            f"{settings.endpoint}/openai",
            headers={"api-key": key, "User-Agent": _USER_AGENT},
            params=None if settings.api_version == "v1" else {"api-version": settings.api_version},
            secret=key,
            stream_usage=settings.stream_usage,
            max_tokens_field=field,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.timeout,
        )
        self._endpoint = settings.endpoint
        self._deployment = settings.deployment
        self._image_deployment = settings.image_deployment
        self._embedding_deployment = settings.embedding_deployment
        self._api_version = settings.api_version
        self._v1 = settings.v1

    def __repr__(self) -> str:
        return (
            f"AzureOpenAILLM(endpoint={self._endpoint!r}, deployment={self._deployment!r}, "
            f"api_version={self._api_version!r})"
        )

    def _chat_target(self, model: str | None) -> tuple[str, str | None]:
        return self._target("chat/completions", _deployment(model) or self._deployment)

    def _image_target(self, model: str | None) -> tuple[str, str | None]:
        deployment = _deployment(model) or self._image_deployment
        if deployment is None:
            raise InvalidRequest(
                "azure-openai: set image_deployment in the settings, or pass model, "
                "to generate images"
            )
        return self._target("images/generations", deployment)

    def _embedding_target(self, model: str | None) -> tuple[str, str | None]:
        deployment = _deployment(model) or self._embedding_deployment
        if deployment is None:
            raise InvalidRequest(
                "azure-openai: set embedding_deployment in the settings, or pass model, "
                "to compute embeddings"
            )
        return self._target("embeddings", deployment)

    def _target(self, operation: str, deployment: str) -> tuple[str, str | None]:
        if self._v1:
            return f"v1/{operation}", deployment
        return f"deployments/{deployment}/{operation}", None


def _deployment(model: str | None) -> str | None:
    if model is not None and not DEPLOYMENT_NAME.fullmatch(model):
        raise InvalidRequest(
            f"model: {model!r} is not an Azure deployment name "
            "(letters, digits, '-', '_' and '.', at most 64)"
        )
    return model
