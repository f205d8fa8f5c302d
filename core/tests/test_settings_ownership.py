"""Who owns a settings field: the operator unless the plugin declares it the tenant's."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
from pydantic import AnyHttpUrl, Field, ValidationError

import tenantkit
from tenantkit.settings import (
    OWNER_SCHEMA_KEY,
    PRIVATE_URL_NETWORKS_ENV,
    Owner,
    field_owner,
    is_secret_field,
    tenant_owned_fields,
)
from tenantkit.testing.settings import ownership_problems


class _Settings(tenantkit.ProviderSettings):
    endpoint: str
    api_key: Annotated[tenantkit.Secret, tenantkit.TenantOwned]
    model: Annotated[str, tenantkit.TenantOwned] = "small"


def test_fields_are_the_operators_unless_declared() -> None:
    assert field_owner(_Settings, "endpoint") is Owner.OPERATOR
    assert field_owner(_Settings, "api_key") is Owner.TENANT
    assert tenant_owned_fields(_Settings) == {"api_key", "model"}


class _Optional(tenantkit.ProviderSettings):
    api_key: Annotated[tenantkit.Secret | None, tenantkit.TenantOwned] = None
    keys: tuple[tenantkit.Secret, ...] = ()
    name: str | None = None


def test_secret_fields_are_known_by_their_type() -> None:
    assert is_secret_field(_Settings, "api_key")
    assert not is_secret_field(_Settings, "model")
    assert is_secret_field(_Optional, "api_key")
    assert is_secret_field(_Optional, "keys")
    assert not is_secret_field(_Optional, "name")


def test_the_owner_is_in_the_json_schema() -> None:
    properties = _Settings.model_json_schema()["properties"]
    assert properties["api_key"][OWNER_SCHEMA_KEY] == "tenant"
    assert properties["model"][OWNER_SCHEMA_KEY] == "tenant"
    assert OWNER_SCHEMA_KEY not in properties["endpoint"]


def test_a_tenant_owned_field_still_validates() -> None:
    settings = _Settings(endpoint="https://x.example", api_key="k" * 20)
    assert settings.api_key.get_secret_value() == "k" * 20
    assert settings.model == "small"


# --- the conformance kit's rule ---------------------------------------------------------


class _Nothing(tenantkit.ProviderSettings):
    endpoint: str
    api_key: tenantkit.Secret
    model: str = "m"


class _ClaimsTheServer(tenantkit.ProviderSettings):
    base_url: Annotated[str, tenantkit.TenantOwned] = "https://api.example.com"
    signing_key: Annotated[tenantkit.Secret, tenantkit.TenantOwned]
    role_arn: Annotated[str | None, tenantkit.TenantOwned] = None
    data: Annotated[Path, tenantkit.TenantOwned] = Path("/srv")
    webhook: Annotated[str, tenantkit.TenantOwned] = Field(default="", pattern=r"^https?://")
    callback: Annotated[AnyHttpUrl | None, tenantkit.TenantOwned] = None


class _PublicUrl(tenantkit.ProviderSettings):
    api_key: Annotated[tenantkit.Secret, tenantkit.TenantOwned]
    webhook: Annotated[tenantkit.PublicHttpsUrl | None, tenantkit.TenantOwned] = None


def test_a_plugin_that_declares_nothing_leaves_every_field_to_the_operator() -> None:
    assert tenant_owned_fields(_Nothing) == frozenset()
    assert all(field_owner(_Nothing, n) is Owner.OPERATOR for n in _Nothing.model_fields)
    assert ownership_problems(_Nothing) == []


def test_the_kit_refuses_tenant_owned_servers_paths_roles_and_keys() -> None:
    problems = ownership_problems(_ClaimsTheServer)
    named = {p.split(":", 1)[0] for p in problems}
    assert named == {"base_url", "signing_key", "role_arn", "data", "webhook", "callback"}
    assert any("PublicHttpsUrl" in p for p in problems if p.startswith("webhook"))
    assert any("path" in p for p in problems if p.startswith("data"))


def test_a_tenant_owned_public_https_url_passes_the_kit() -> None:
    assert ownership_problems(_PublicUrl) == []
    settings = _PublicUrl(api_key="k" * 20, webhook="https://hooks.example.com/in")
    assert settings.webhook == "https://hooks.example.com/in"


# --- PublicHttpsUrl ---------------------------------------------------------------------

REFUSED_URLS = [
    "http://hooks.example.com/",  # not https
    "https://127.0.0.1/",
    "https://127.1/",  # what resolvers take for 127.0.0.1
    "https://2130706433/",
    "https://0x7f.0.0.1/",
    "https://[::1]/",
    "https://[::ffff:10.0.0.1]/",
    "https://169.254.169.254/latest/meta-data/",  # link-local: the metadata service
    "https://10.1.2.3/",
    "https://172.16.0.1/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",  # shared address space
    "https://0.0.0.0/",
    "https://[fe80::1]/",
    "https://[fd00::1]/",
    "https://localhost:8443/",
    "https://api.localhost/",
    "https://metadata.google.internal/",
    "https://intranet/",
    "https://user:pass@hooks.example.com/",
    "https://hooks.example.com/?next=http://127.0.0.1",
    "https://hooks.example.com:99999/",
    "file:///etc/passwd",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_public_https_url_refuses_local_and_private_targets(url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _PublicUrl(api_key="k" * 20, webhook=url)
    assert [e["loc"] for e in refused.value.errors()] == [("webhook",)]
    assert url not in refused.value.errors()[0]["msg"]


def test_public_https_url_takes_public_hosts() -> None:
    for url in ("https://hooks.example.com/in", "https://8.8.8.8/x", "https://[2001:4860::8888]/"):
        assert _PublicUrl(api_key="k" * 20, webhook=url).webhook == url


def test_the_operator_may_allow_a_private_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PRIVATE_URL_NETWORKS_ENV, "10.20.0.0/16, not-a-network")
    assert _PublicUrl(api_key="k" * 20, webhook="https://10.20.3.4/").webhook
    with pytest.raises(ValidationError):
        _PublicUrl(api_key="k" * 20, webhook="https://10.21.0.1/")
    with pytest.raises(ValidationError):
        _PublicUrl(api_key="k" * 20, webhook="http://10.20.3.4/")  # still https only
