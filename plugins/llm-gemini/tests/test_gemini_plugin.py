"""The distribution: its entry point, its registration, its settings and dependencies."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import pytest
from pydantic import ValidationError

from tenantkit.llm import LLMCapability
from tenantkit.plugins import EntryPointIndex, Plugins
from tenantkit.registry import ProviderContext
from tenantkit_llm_gemini import GeminiLLM, GeminiSettings


def test_depends_only_on_tenantkit_and_httpx() -> None:
    requires = metadata.requires("tenantkit-llm-gemini") or []
    assert sorted(r.split(">")[0].split("=")[0].strip() for r in requires) == ["httpx", "tenantkit"]


def test_the_entry_point_registers_gemini_and_imports_nothing_else() -> None:
    plugins = Plugins(EntryPointIndex(cache_dir=None))
    spec = plugins.get("llm", "gemini")
    assert spec.factory is GeminiLLM
    assert spec.settings is GeminiSettings
    assert spec.distribution == "tenantkit-llm-gemini"
    assert spec.module == "tenantkit_llm_gemini"
    assert spec.capabilities == {c.value for c in LLMCapability}
    factory: Any = spec.factory
    llm = factory(
        GeminiSettings(api_key="AIza-x", model="gemini-2.5-flash"),
        ProviderContext(tenant_id="acme", provider="gemini"),
    )
    llm.close()
    assert plugins.imported_modules() == ["tenantkit_llm_gemini"]


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"model": "gemini-2.5-flash"}, "api_key"),
        ({"api_key": "k"}, "model"),
        ({"api_key": "k", "model": ""}, "model"),
        ({"api_key": "k", "model": "../../v1/files"}, "model"),
        ({"api_key": "k", "model": "m", "image_model": "a:b"}, "image_model"),
        ({"api_key": "k", "model": "m", "api_version": "../x"}, "api_version"),
        ({"api_key": "k", "model": "m", "max_tokens": 0}, "max_tokens"),
        (
            {"api_key": "k", "model": "m", "base_url": "generativelanguage.googleapis.com"},
            "base_url",
        ),
        ({"api_key": "k", "model": "m", "project": "p"}, "project"),
    ],
)
def test_settings_errors_name_the_field(section: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        GeminiSettings.model_validate(section)
    assert {".".join(map(str, err["loc"])) for err in info.value.errors()} == {field}


def test_settings_accept_model_resource_names() -> None:
    for model in ("gemini-2.5-flash", "models/gemini-2.5-pro", "tunedModels/my-model-1"):
        assert GeminiSettings(api_key="k", model=model).model == model
