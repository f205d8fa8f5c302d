"""The ``claude`` section of a tenant secret."""

# Annotations are evaluated at class definition (no ``from __future__ import
# annotations``): pydantic would otherwise compile each field's annotation from its
# text when the model is defined, a cost paid on every cold start.

from typing import Annotated

from pydantic import Field

import tenantkit

__all__ = ["DEFAULT_ANTHROPIC_VERSION", "ClaudeSettings"]

DEFAULT_ANTHROPIC_VERSION = "2023-06-01"


class ClaudeSettings(tenantkit.ProviderSettings):
    """Settings of the ``claude`` LLM provider.

    A tenant admin may change ``api_key``, ``model`` and ``max_tokens`` (tenant-owned);
    ``base_url``, the API version and the timeouts are the operator's.

    Example tenant secret section::

        "llm": {"provider": "claude", "api_key": "sk-ant-...", "model": "claude-sonnet-4-5"}
    """

    api_key: Annotated[tenantkit.Secret, tenantkit.TenantOwned] = Field(
        description="Sent as the ``x-api-key`` header."
    )
    model: Annotated[str, tenantkit.TenantOwned] = Field(
        min_length=1, description="Default model; a request's ``model`` overrides it."
    )
    max_tokens: Annotated[int, tenantkit.TenantOwned] = Field(
        default=4096,
        gt=0,
        description="Used when a request gives no ``max_tokens`` (the Messages API requires one).",
    )
    anthropic_version: str = Field(
        default=DEFAULT_ANTHROPIC_VERSION,
        description="The ``anthropic-version`` header: the API version this tenant is pinned to.",
    )
    base_url: str = Field(
        default="https://api.anthropic.com", pattern=r"^https?://[^\s/?#]+[^\s?#]*$"
    )
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(
        default=120.0,
        gt=0,
        description="Seconds to wait for each chunk of the answer (not for the whole answer).",
    )
