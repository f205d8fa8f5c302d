"""The ``db`` section for provider ``cosmos``: validation, ownership, secrets, registration."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import ValidationError

from tenantkit.settings import Owner, field_owner, tenant_owned_fields
from tenantkit_db_cosmos import CosmosDatabase, CosmosSettings

KEY = base64.b64encode(b"planted-account-key-" * 3).decode()
BASE: dict[str, Any] = {
    "endpoint": "https://acct.documents.azure.com:443/",
    "database": "app",
    "container": "tenants",
}


def test_only_the_consistency_level_is_the_tenants() -> None:
    assert tenant_owned_fields(CosmosSettings) == {"consistency"}
    for name in ("endpoint", "database", "container", "key", "resource_token", "entra", "ca_file"):
        assert field_owner(CosmosSettings, name) is Owner.OPERATOR


@pytest.mark.parametrize(
    "credentials",
    [
        {},
        {"key": KEY, "resource_token": "type=resource&ver=1.0&sig=x"},
        {
            "key": KEY,
            "entra": {"tenant_id": "contoso.com", "client_id": "app", "client_secret": "s"},
        },
    ],
)
def test_exactly_one_credential(credentials: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="exactly one credential"):
        CosmosSettings.model_validate({**BASE, **credentials})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("endpoint", "http://acct.documents.azure.com"),
        ("endpoint", "https://acct.documents.azure.com/dbs/other"),
        ("endpoint", "https://user@evil.example"),
        ("database", "a/b"),
        ("container", "x#y"),
        ("container", ""),
        ("consistency", "Linearizable"),
        ("ca_file", "relative.pem"),
    ],
)
def test_bad_fields_are_named(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CosmosSettings.model_validate({**BASE, "key": KEY, field: value})
    assert field in str(caught.value)


def test_credentials_never_show() -> None:
    settings = CosmosSettings.model_validate(
        {
            **BASE,
            "entra": {
                "tenant_id": "contoso.com",
                "client_id": "app",
                "client_secret": "planted-client-secret",
            },
        }
    )
    keyed = CosmosSettings.model_validate({**BASE, "key": KEY})
    for text in (repr(settings), str(settings), settings.model_dump_json(), repr(keyed)):
        assert "planted-client-secret" not in text
        assert KEY not in text


def test_registered_through_the_entry_point() -> None:
    from importlib.metadata import entry_points

    (entry,) = entry_points(group="tenantkit.db", name="cosmos")
    assert entry.value == "tenantkit_db_cosmos"
    assert {str(c) for c in CosmosDatabase.capabilities} == {
        "transactions",
        "batch",
        "indexes",
        "ttl",
    }
