"""The ``gemini`` section of a tenant secret."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

import tenantkit

__all__ = ["MODEL_NAME", "GeminiSettings"]

#: A model name that stays one path segment: ``gemini-2.5-flash``, ``models/...``,
#: ``tunedModels/...``.
MODEL_NAME = r"^(?:models/|tunedModels/)?[A-Za-z0-9][A-Za-z0-9._-]*$"


class GeminiSettings(tenantkit.ProviderSettings):
    """Settings of the ``gemini`` LLM provider (the Gemini API of Google AI Studio).

    A tenant admin may change ``api_key``, ``model``, ``image_model``,
    ``embedding_model`` and ``max_tokens`` (tenant-owned); ``base_url``,
    ``api_version`` and the timeouts are the operator's.

    Example tenant secret section::

        "llm": {"provider": "gemini", "api_key": "AIza...", "model": "gemini-2.5-flash"}
    """

    api_key: Annotated[tenantkit.Secret, tenantkit.TenantOwned] = Field(
        description="Sent as the ``x-goog-api-key`` header (never in the URL)."
    )
    model: Annotated[str, tenantkit.TenantOwned] = Field(
        pattern=MODEL_NAME,
        description="Default model for chat; a request's ``model`` overrides it.",
    )
    image_model: Annotated[str | None, tenantkit.TenantOwned] = Field(
        default=None,
        pattern=MODEL_NAME,
        description=(
            "Default model for image generation (``gemini-2.5-flash-image``...); ``model`` if "
            "unset."
        ),
    )
    max_tokens: Annotated[int | None, tenantkit.TenantOwned] = Field(
        default=None,
        gt=0,
        description=(
            "``maxOutputTokens`` when a request gives none; the model's own limit if unset."
        ),
    )
    embedding_model: Annotated[str, tenantkit.TenantOwned] = Field(
        default="gemini-embedding-001",
        pattern=MODEL_NAME,
        description="Default model for embeddings; a request's ``model`` overrides it.",
    )
    base_url: str = Field(
        default="https://generativelanguage.googleapis.com", pattern=r"^https?://[^\s/?#]+[^\s?#]*$"
    )
    api_version: str = Field(default="v1beta", pattern=r"^v[0-9a-z]+$")
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(
        default=120.0,
        gt=0,
        description="Seconds to wait for each chunk of the answer (not for the whole answer).",
    )
