"""The distribution: its entry point, its registration, its settings and dependencies."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import pytest
from pydantic import ValidationError

from tenantkit.llm import LLMCapability
from tenantkit.plugins import EntryPointIndex, Plugins
from tenantkit.registry import ProviderContext
from tenantkit_llm_claude import ClaudeLLM, ClaudeSettings


def test_depends_only_on_tenantkit_and_httpx() -> None:
    requires = metadata.requires("tenantkit-llm-claude") or []
    assert sorted(r.split(">")[0].split("=")[0].strip() for r in requires) == ["httpx", "tenantkit"]


def test_the_entry_point_registers_claude_and_imports_nothing_else() -> None:
    plugins = Plugins(EntryPointIndex(cache_dir=None))
    spec = plugins.get("llm", "claude")
    assert spec.factory is ClaudeLLM
    assert spec.settings is ClaudeSettings
    assert spec.distribution == "tenantkit-llm-claude"
    assert spec.module == "tenantkit_llm_claude"
    assert spec.capabilities == {
        LLMCapability.STREAMING,
        LLMCapability.TOOLS,
        LLMCapability.VISION,
        LLMCapability.JSON_SCHEMA,
    }
    factory: Any = spec.factory
    llm = factory(
        ClaudeSettings(api_key="sk-ant-x", model="claude-sonnet-4-5"),
        ProviderContext(tenant_id="acme", provider="claude"),
    )
    llm.close()
    assert plugins.imported_modules() == ["tenantkit_llm_claude"]


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"model": "claude-sonnet-4-5"}, "api_key"),
        ({"api_key": "k"}, "model"),
        ({"api_key": "k", "model": ""}, "model"),
        ({"api_key": "k", "model": "m", "max_tokens": 0}, "max_tokens"),
        ({"api_key": "k", "model": "m", "base_url": "ftp://api.anthropic.com"}, "base_url"),
        ({"api_key": "k", "model": "m", "read_timeout": 0}, "read_timeout"),
        ({"api_key": "k", "model": "m", "temperature": 1}, "temperature"),
    ],
)
def test_settings_errors_name_the_field(section: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        ClaudeSettings.model_validate(section)
    assert {".".join(map(str, err["loc"])) for err in info.value.errors()} == {field}


def test_settings_defaults() -> None:
    settings = ClaudeSettings(api_key="k", model="claude-sonnet-4-5")
    assert settings.anthropic_version == "2023-06-01"
    assert settings.max_tokens == 4096
    assert settings.base_url == "https://api.anthropic.com"
