"""OpenAI and Azure OpenAI for tenantkit: chat, streaming, tools, vision, JSON-schema
output and image generation over the chat completions and images APIs, with httpx.

Registers two LLM providers:

* ``openai``: OpenAI, or any server speaking its API (vLLM, Ollama, LM Studio)
  at ``base_url``. Settings: :class:`OpenAISettings`.
* ``azure-openai``: an Azure OpenAI resource's deployments. Settings:
  :class:`AzureOpenAISettings`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tenantkit
from tenantkit_llm_openai.provider import AzureOpenAILLM, OpenAILLM
from tenantkit_llm_openai.settings import AzureOpenAISettings, OpenAISettings

if TYPE_CHECKING:
    from tenantkit.registry import Register

__all__ = [
    "AzureOpenAILLM",
    "AzureOpenAISettings",
    "OpenAILLM",
    "OpenAISettings",
    "register_llm_providers",
]


@tenantkit.hookimpl
def register_llm_providers(register: Register) -> None:
    register(
        "openai",
        OpenAILLM,
        OpenAISettings,
        description="OpenAI chat completions, or an OpenAI-compatible server",
    )
    register(
        "azure-openai",
        AzureOpenAILLM,
        AzureOpenAISettings,
        description="Azure OpenAI deployments (deployment URLs or the v1 API)",
    )
