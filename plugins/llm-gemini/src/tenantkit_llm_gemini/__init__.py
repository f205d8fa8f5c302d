"""tenantkit LLM provider ``gemini``: the Gemini API (Google AI Studio) over httpx.

A tenant secret selects it with ``{"provider": "gemini", "api_key": ..., "model": ...}``
(see :class:`GeminiSettings`).
"""

from __future__ import annotations

import tenantkit
from tenantkit.registry import Register
from tenantkit_llm_gemini.provider import GeminiLLM
from tenantkit_llm_gemini.settings import GeminiSettings

__all__ = ["GeminiLLM", "GeminiSettings", "register_llm_providers"]


@tenantkit.hookimpl
def register_llm_providers(register: Register) -> None:
    register(
        "gemini",
        GeminiLLM,
        GeminiSettings,
        description="Google Gemini through the Gemini API (generateContent)",
    )
