"""Tenant secret validation: field paths, unknown names and fields, no credential echoed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tenantkit import errors
from tenantkit.config import deep_merge, json_schema, parse_secret_text, parse_tenant_config
from tenantkit.plugins import Plugins

PLANTED = "sk-planted-0123456789abcdef"


def secret(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema_version": 1,
        "tenant_id": "acme",
        "db": {"provider": "sqlite", "path": ":memory:"},
        "llm": {"provider": "echo"},
        "storage": {"provider": "local", "root": "/tmp/tk-files", "signing_key": PLANTED},
    }
    doc.update(overrides)
    return doc


def paths(exc: errors.SecretValidationError) -> list[str]:
    return [e.path for e in exc.errors]


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    return Plugins()


def test_a_valid_secret_becomes_a_config(plugins: Plugins) -> None:
    config = parse_tenant_config(
        secret(plan="pro", features={"beta": True}), plugins=plugins, version="v1"
    )
    assert config.tenant_id == "acme"
    assert config.plan == "pro"
    assert config.db.provider == "sqlite"
    assert config.storage.settings.signing_key.get_secret_value() == PLANTED  # type: ignore[attr-defined]
    assert config.public()["providers"] == {"db": "sqlite", "llm": "echo", "storage": "local"}
    assert PLANTED not in repr(config)
    assert PLANTED not in json.dumps(config.public())
    assert PLANTED in config.secret_values()
    assert config.version == "v1"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"db": {"path": ":memory:"}}, ["db.provider"]),
        ({"db": {"provider": "cassandra"}}, ["db.provider"]),
        ({"llm": {"provider": "echo", "temperature_knob": 3}}, ["llm.temperature_knob"]),
        ({"surprise": 1}, ["surprise"]),
        ({"schema_version": 2}, ["schema_version"]),
        ({"tenant_id": "Acme_Corp"}, ["tenant_id"]),
        ({"limits": {"requests_per_minute": "many"}}, ["limits.requests_per_minute"]),
        ({"branding": {"primary_color": "red"}}, ["branding.primary_color"]),
        ({"storage": {"provider": "local", "root": 5, "signing_key": PLANTED}}, ["storage.root"]),
    ],
    ids=[
        "missing-provider",
        "unknown-provider",
        "unknown-provider-field",
        "unknown-top-field",
        "schema-version",
        "tenant-id-format",
        "wrong-type",
        "bad-branding",
        "wrong-provider-field-type",
    ],
)
def test_errors_name_the_field_path(
    plugins: Plugins, change: dict[str, Any], expected: list[str]
) -> None:
    with pytest.raises(errors.SecretValidationError) as info:
        parse_tenant_config(secret(**change), plugins=plugins)
    assert paths(info.value) == expected
    assert PLANTED not in str(info.value)


def test_every_problem_is_reported_at_once(plugins: Plugins) -> None:
    doc = secret(llm={"provider": "echo", "nope": 1}, db={"provider": "cassandra"})
    del doc["tenant_id"]
    with pytest.raises(errors.SecretValidationError) as info:
        parse_tenant_config(doc, plugins=plugins)
    assert sorted(paths(info.value)) == ["db.provider", "llm.nope", "tenant_id"]
    unknown = next(e for e in info.value.errors if e.path == "db.provider")
    assert "no known tenantkit distribution provides it" in unknown.message
    assert "pip install" not in unknown.message


def test_an_unknown_provider_keeps_provider_not_found_as_the_cause(plugins: Plugins) -> None:
    with pytest.raises(errors.SecretValidationError) as info:
        parse_tenant_config(secret(llm={"provider": "no-such-llm"}), plugins=plugins)
    assert [e.path for e in info.value.errors] == ["llm.provider"]
    cause = info.value.__cause__
    assert isinstance(cause, errors.ProviderNotFound)
    assert (cause.provider, cause.provider_kind) == ("no-such-llm", "llm")
    assert cause.message == info.value.errors[0].message


def test_a_credential_in_a_wrong_typed_field_is_not_echoed(plugins: Plugins) -> None:
    doc = secret(limits={"requests_per_minute": PLANTED}, plan=PLANTED)
    with pytest.raises(errors.SecretValidationError) as info:
        parse_tenant_config(doc, plugins=plugins)
    assert PLANTED not in str(info.value)
    assert PLANTED not in repr(info.value.errors)


def test_malformed_json_gives_the_position_not_the_content() -> None:
    with pytest.raises(errors.SecretValidationError) as info:
        parse_secret_text('{"llm": {"api_key": "' + PLANTED + '" ', source="acme.json")
    assert "line 1" in str(info.value)
    assert "acme.json" in str(info.value)
    assert PLANTED not in str(info.value)
    with pytest.raises(errors.SecretValidationError, match="must be a JSON object"):
        parse_secret_text("[1, 2]", source="x")


def test_deep_merge_keeps_provider_sections_apart() -> None:
    defaults = {
        "plan": "standard",
        "llm": {"provider": "openai", "model": "gpt-4o", "api_key": "default"},
        "limits": {"requests_per_minute": 60, "max_upload_bytes": 10},
    }
    tenant = {"llm": {"provider": "echo"}, "limits": {"requests_per_minute": 600}}
    merged = deep_merge(defaults, tenant)
    assert merged["llm"] == {"provider": "echo"}
    assert merged["limits"] == {"requests_per_minute": 600, "max_upload_bytes": 10}
    same = deep_merge(defaults, {"llm": {"model": "gpt-4.1"}})
    assert same["llm"] == {"provider": "openai", "model": "gpt-4.1", "api_key": "default"}


def test_json_schema_lists_installed_providers(plugins: Plugins) -> None:
    schema = json_schema(plugins)
    text = json.dumps(schema)
    for name in ("sqlite", "echo", "local"):
        assert f'"{name}"' in text
    assert schema["properties"]["db"]["discriminator"]["propertyName"] == "provider"
    assert "tenant_id" in schema["required"]
