"""The distribution: its entry points, registrations, settings and dependencies."""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tenantkit.llm import LLM, LLMCapability
from tenantkit.plugins import EntryPointIndex, Plugins
from tenantkit.registry import ProviderContext
from tenantkit.settings import secret_values
from tenantkit_llm_openai import AzureOpenAILLM, AzureOpenAISettings, OpenAILLM, OpenAISettings


def test_depends_only_on_tenantkit_and_httpx() -> None:
    requires = metadata.requires("tenantkit-llm-openai") or []
    assert sorted(r.split(">")[0].split("=")[0].strip() for r in requires) == ["httpx", "tenantkit"]


@pytest.mark.parametrize(
    ("name", "cls", "settings", "section"),
    [
        ("openai", OpenAILLM, OpenAISettings, {"api_key": "sk-abc", "model": "gpt-4o-mini"}),
        (
            "azure-openai",
            AzureOpenAILLM,
            AzureOpenAISettings,
            {
                "endpoint": "https://acme-res.openai.azure.com",
                "api_key": "abc123",
                "deployment": "gpt-4o-prod",
            },
        ),
    ],
)
def test_one_module_registers_both_names(
    name: str, cls: type[LLM], settings: type, section: dict[str, Any]
) -> None:
    plugins = Plugins(EntryPointIndex(cache_dir=None))
    spec = plugins.get("llm", name)
    factory: Any = spec.factory
    assert spec.settings is settings
    assert spec.distribution == "tenantkit-llm-openai"
    assert spec.module == "tenantkit_llm_openai"
    assert spec.capabilities == {c.value for c in LLMCapability}
    llm = factory(
        spec.settings.model_validate(section), ProviderContext(tenant_id="acme", provider=name)
    )
    assert factory is cls
    assert isinstance(llm, cls)
    llm.close()
    assert plugins.imported_modules() == ["tenantkit_llm_openai"]


@pytest.mark.parametrize(
    ("settings", "section", "field"),
    [
        (OpenAISettings, {"model": "gpt-4o-mini"}, "api_key"),
        (OpenAISettings, {"api_key": "sk-abc"}, "model"),
        (OpenAISettings, {"api_key": "sk-abc", "model": "m", "base_url": "ftp://x"}, "base_url"),
        (OpenAISettings, {"api_key": "sk-abc", "model": "m", "temperature": 1}, "temperature"),
        (OpenAISettings, {"api_key": "sk-abc", "model": "m", "timeout": 0}, "timeout"),
        (
            AzureOpenAISettings,
            {"endpoint": "https://r.openai.azure.com", "api_key": "k", "deployment": "a/b"},
            "deployment",
        ),
        (
            AzureOpenAISettings,
            {
                "endpoint": "https://r.openai.azure.com",
                "api_key": "k",
                "deployment": "d",
                "api_version": "latest",
            },
            "api_version",
        ),
        (
            AzureOpenAISettings,
            {"endpoint": "https://r.openai.azure.com", "deployment": "d"},
            "api_key",
        ),
    ],
)
def test_bad_settings_name_the_field(
    settings: type[OpenAISettings | AzureOpenAISettings], section: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        settings.model_validate(section)
    locations = [".".join(str(p) for p in e["loc"]) for e in caught.value.errors()]
    assert field in locations


def test_settings_hide_the_key() -> None:
    settings = AzureOpenAISettings(
        endpoint="https://r.openai.azure.com/", api_key="very-secret-key", deployment="d"
    )
    assert settings.endpoint == "https://r.openai.azure.com"
    assert "very-secret-key" not in repr(settings)
    assert "very-secret-key" not in settings.model_dump_json()


def _readme_sections() -> list[dict[str, Any]]:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```json\n(.*?)```", readme, flags=re.DOTALL)
    return [json.loads(block)["llm"] for block in blocks]


def test_readme_examples_are_valid_sections() -> None:
    sections = _readme_sections()
    assert [s["provider"] for s in sections] == ["openai", "openai", "azure-openai", "azure-openai"]
    plugins = Plugins(EntryPointIndex(cache_dir=None))
    for section in sections:
        fields = {k: v for k, v in section.items() if k != "provider"}
        settings = plugins.get("llm", section["provider"]).settings.model_validate(fields)
        assert secret_values(settings) == ([fields["api_key"]] if "api_key" in fields else [])


def test_both_names_are_listed_without_importing() -> None:
    plugins = Plugins(EntryPointIndex(cache_dir=None))
    ours = {
        ref.name: ref.module
        for ref in plugins.available("llm")
        if ref.distribution == "tenantkit-llm-openai"
    }
    assert ours == {"openai": "tenantkit_llm_openai", "azure-openai": "tenantkit_llm_openai"}
    assert plugins.imported_modules() == []
