"""What a tenant admin may change in its own provider settings (tenantkit.ownership)."""

from __future__ import annotations

import pytest

from tenantkit.errors import SecretValidationError
from tenantkit.ownership import OperatorOwnedSetting, edit_provider_settings
from tenantkit.plugins import Plugins

PLANTED = "planted-signing-key-0123456789"
DEFAULTS = {
    "llm": {"provider": "echo", "model": "house"},
    "storage": {"provider": "local", "root": "/srv/objects", "signing_key": PLANTED},
}


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    return Plugins()


def test_tenant_owned_fields_are_set_and_cleared(plugins: Plugins) -> None:
    own = {"tenant_id": "acme", "llm": {"provider": "echo", "prefix": "old: "}}
    edited, changed = edit_provider_settings(
        own, {}, "llm", {"provider": "echo", "prefix": None, "model": "m2"}, plugins=plugins
    )
    assert edited["llm"] == {"provider": "echo", "model": "m2"}
    assert changed == ["model", "prefix"]
    assert own == {"tenant_id": "acme", "llm": {"provider": "echo", "prefix": "old: "}}


def test_a_section_the_tenant_does_not_have_merges_over_the_defaults(plugins: Plugins) -> None:
    edited, changed = edit_provider_settings(
        {"tenant_id": "acme"}, DEFAULTS, "llm", {"prefix": "A: "}, plugins=plugins
    )
    assert edited["llm"] == {"prefix": "A: "}
    assert changed == ["prefix"]


def test_refusals_name_every_field_and_never_a_value(plugins: Plugins) -> None:
    with pytest.raises(OperatorOwnedSetting) as refused:
        edit_provider_settings(
            {"tenant_id": "acme"},
            DEFAULTS,
            "storage",
            {"provider": "local", "signing_key": PLANTED, "base_url": "http://127.0.0.1/x"},
            plugins=plugins,
        )
    assert sorted(e.path for e in refused.value.errors) == [
        "storage.base_url",
        "storage.signing_key",
    ]
    assert refused.value.kind == "permission_denied"
    assert PLANTED not in str(refused.value)
    with pytest.raises(OperatorOwnedSetting) as inherited:
        edit_provider_settings(
            {"tenant_id": "acme"}, DEFAULTS, "llm", {"model": "x"}, plugins=plugins
        )
    assert [e.path for e in inherited.value.errors] == ["llm.model"]
    with pytest.raises(OperatorOwnedSetting) as provider:
        edit_provider_settings(
            {"tenant_id": "acme"}, DEFAULTS, "llm", {"provider": "claude"}, plugins=plugins
        )
    assert [e.path for e in provider.value.errors] == ["llm.provider"]


def test_a_tenant_on_another_provider_inherits_nothing(plugins: Plugins) -> None:
    own = {"tenant_id": "acme", "llm": {"provider": "echo"}}
    defaults = {"llm": {"provider": "claude", "api_key": PLANTED, "model": "house"}}
    edited, _ = edit_provider_settings(own, defaults, "llm", {"model": "mine"}, plugins=plugins)
    assert edited["llm"] == {"provider": "echo", "model": "mine"}


def test_unknown_fields_are_validation_errors(plugins: Plugins) -> None:
    with pytest.raises(SecretValidationError) as unknown:
        edit_provider_settings(
            {"tenant_id": "a"}, DEFAULTS, "llm", {"bucket": "b"}, plugins=plugins
        )
    assert [e.path for e in unknown.value.errors] == ["llm.bucket"]
