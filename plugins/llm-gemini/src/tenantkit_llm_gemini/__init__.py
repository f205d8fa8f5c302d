"""tenantkit LLM provider ``gemini``: the Gemini API (Google AI Studio) over httpx.

A tenant secret selects it with ``{"provider": "gemini", "api_key": ..., "model": ...}``
(see :class:`GeminiSettings`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tenantkit
from tenantkit_llm_gemini.provider import GeminiLLM
from tenantkit_llm_gemini.settings import GeminiSettings

if TYPE_CHECKING:
    from tenantkit.registry import Register

__all__ = ["GeminiLLM", "GeminiSettings", "register_llm_providers"]


@tenantkit.hookimpl
def register_llm_providers(register: Register) -> None:
    register(
        "gemini",
        GeminiLLM,
        GeminiSettings,
        description="Google Gemini through the Gemini API (generateContent)",
    )
