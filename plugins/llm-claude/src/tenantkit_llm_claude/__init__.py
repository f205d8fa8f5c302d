"""tenantkit LLM provider ``claude``: Anthropic's Messages API over httpx.

A tenant secret selects it with ``{"provider": "claude", "api_key": ..., "model": ...}``
(see :class:`ClaudeSettings`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tenantkit
from tenantkit_llm_claude.provider import ClaudeLLM
from tenantkit_llm_claude.settings import ClaudeSettings

if TYPE_CHECKING:
    from tenantkit.registry import Register

__all__ = ["ClaudeLLM", "ClaudeSettings", "register_llm_providers"]


@tenantkit.hookimpl
def register_llm_providers(register: Register) -> None:
    register(
        "claude",
        ClaudeLLM,
        ClaudeSettings,
        description="Anthropic Claude through the Messages API",
    )
