"""Who owns a settings field: the operator unless the plugin declares it the tenant's."""

from __future__ import annotations

from typing import Annotated

import tenantkit
from tenantkit.settings import OWNER_SCHEMA_KEY, Owner, field_owner, tenant_owned_fields


class _Settings(tenantkit.ProviderSettings):
    endpoint: str
    api_key: Annotated[tenantkit.Secret, tenantkit.TenantOwned]
    model: Annotated[str, tenantkit.TenantOwned] = "small"


def test_fields_are_the_operators_unless_declared() -> None:
    assert field_owner(_Settings, "endpoint") is Owner.OPERATOR
    assert field_owner(_Settings, "api_key") is Owner.TENANT
    assert tenant_owned_fields(_Settings) == {"api_key", "model"}


def test_the_owner_is_in_the_json_schema() -> None:
    properties = _Settings.model_json_schema()["properties"]
    assert properties["api_key"][OWNER_SCHEMA_KEY] == "tenant"
    assert properties["model"][OWNER_SCHEMA_KEY] == "tenant"
    assert OWNER_SCHEMA_KEY not in properties["endpoint"]


def test_a_tenant_owned_field_still_validates() -> None:
    settings = _Settings(endpoint="https://x.example", api_key="k" * 20)
    assert settings.api_key.get_secret_value() == "k" * 20
    assert settings.model == "small"
