"""The ``llm`` sections of a tenant secret for ``openai`` and ``azure-openai``."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from tenantkit import ProviderSettings, Secret, TenantOwned

__all__ = ["AzureOpenAISettings", "OpenAISettings"]

OPENAI_BASE_URL = "https://api.openai.com/v1"

#: Azure deployment names: letters, digits, ``-``, ``_`` and ``.``; they go into URL paths.
DEPLOYMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_API_VERSION = re.compile(r"v1|preview|\d{4}-\d{2}-\d{2}(-preview)?")

MaxTokensField = Literal["max_completion_tokens", "max_tokens"]


def _http_url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
        raise ValueError("must be an http(s) URL without query or fragment")
    return value.rstrip("/")


class OpenAISettings(ProviderSettings):
    """OpenAI, or any server speaking its chat completions API (vLLM, Ollama, LM Studio).

    ``api_key`` may be left out only with a ``base_url`` of a server that needs none.
    A tenant admin may change ``api_key``, ``model``, ``organization``, ``project``,
    ``image_model`` and ``embedding_model`` (tenant-owned); ``base_url``, the wire
    options and the timeouts are the operator's.
    """

    base_url: str = OPENAI_BASE_URL
    api_key: Annotated[Secret | None, TenantOwned] = Field(
        default=None, validate_default=True, description="Sent as ``Authorization: Bearer``."
    )
    model: Annotated[str, TenantOwned] = Field(
        min_length=1, description="The default model; a request's ``model`` overrides it."
    )
    organization: Annotated[str | None, TenantOwned] = Field(
        default=None, max_length=256, description="Sent as ``OpenAI-Organization``."
    )
    project: Annotated[str | None, TenantOwned] = Field(
        default=None, max_length=256, description="Sent as ``OpenAI-Project``."
    )
    image_model: Annotated[str, TenantOwned] = Field(default="gpt-image-1", min_length=1)
    embedding_model: Annotated[str, TenantOwned] = Field(
        default="text-embedding-3-small",
        min_length=1,
        max_length=200,
        description="The model for embeddings; a request's ``model`` overrides it.",
    )
    stream_usage: bool = Field(
        default=True,
        description=(
            "Ask for the usage chunk at the end of streams (``stream_options.include_usage``). "
            "Turn it off for compatible servers that reject ``stream_options``."
        ),
    )
    max_tokens_field: MaxTokensField = Field(
        default="max_completion_tokens",
        description=(
            "The body field that carries ``max_tokens``; older compatible servers want "
            "``max_tokens``."
        ),
    )
    timeout: float = Field(
        default=120.0, gt=0, description="Seconds to wait for each read from the server."
    )
    connect_timeout: float = Field(default=5.0, gt=0)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("api_key")
    @classmethod
    def _key_for_openai(cls, value: Secret | None, info: ValidationInfo) -> Secret | None:
        if value is None and info.data.get("base_url") == OPENAI_BASE_URL:
            raise ValueError("required unless base_url names a server that needs no key")
        return value


class AzureOpenAISettings(ProviderSettings):
    """An Azure OpenAI resource.

    With a dated ``api_version`` (the default) requests go to
    ``{endpoint}/openai/deployments/{deployment}/...?api-version=...``; with
    ``api_version`` ``"v1"`` (or ``"preview"``) they go to ``{endpoint}/openai/v1/...``
    and the deployment is sent as the model. A request's ``model`` names another
    deployment. A tenant admin may change ``api_key``, ``deployment``,
    ``image_deployment`` and ``embedding_deployment`` (tenant-owned: a key of the
    resource and which of its deployments to use); ``endpoint``, ``api_version``, the
    wire options and the timeouts are the operator's.
    """

    endpoint: str = Field(description="``https://RESOURCE.openai.azure.com``.")
    api_key: Annotated[Secret, TenantOwned] = Field(description="Sent as the ``api-key`` header.")
    deployment: Annotated[str, TenantOwned] = Field(description="The default chat deployment.")
    api_version: str = "2024-10-21"
    image_deployment: Annotated[str | None, TenantOwned] = Field(
        default=None,
        description="The deployment used for image generation (a DALL-E or GPT image model).",
    )
    embedding_deployment: Annotated[str | None, TenantOwned] = Field(
        default=None,
        description="The deployment used for embeddings (a ``text-embedding-3-*`` model).",
    )
    stream_usage: bool = True
    max_tokens_field: MaxTokensField | None = Field(
        default=None,
        description=(
            "Defaults to ``max_tokens`` with a dated ``api_version`` (as the GA versions take it)"
            " and to ``max_completion_tokens`` with the v1 API; reasoning models need the latter."
        ),
    )
    timeout: float = Field(default=120.0, gt=0)
    connect_timeout: float = Field(default=5.0, gt=0)

    @field_validator("endpoint")
    @classmethod
    def _check_endpoint(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("deployment", "image_deployment", "embedding_deployment")
    @classmethod
    def _check_deployment(cls, value: str | None) -> str | None:
        if value is not None and not DEPLOYMENT_NAME.fullmatch(value):
            raise ValueError("deployment names are letters, digits, '-', '_' and '.' (max 64)")
        return value

    @field_validator("api_version")
    @classmethod
    def _check_api_version(cls, value: str) -> str:
        if not _API_VERSION.fullmatch(value):
            raise ValueError("use 'v1', 'preview' or a dated version such as '2024-10-21'")
        return value

    @property
    def v1(self) -> bool:
        """Whether requests use the ``/openai/v1/`` API."""
        return self.api_version in ("v1", "preview")
