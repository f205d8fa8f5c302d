"""Authorizer settings from the environment."""

from __future__ import annotations

import pytest

from tenantkit.errors import ConfigurationError
from tenantkit_runtime.auth import AuthSettings, cognito_issuer

POOL = "eu-west-1_AbCdEf123"
ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"


def test_everything_from_the_environment() -> None:
    settings = AuthSettings.from_env(
        {
            "TENANTKIT_AUTH_ISSUERS": f"{POOL}, https://issuer.example/pool",
            "TENANTKIT_AUTH_CLIENT_IDS": "web,mobile",
            "TENANTKIT_AUTH_TOKEN_USE": "id,access",
            "TENANTKIT_AUTH_TENANT_CLAIM": "custom:org",
            "TENANTKIT_AUTH_ISSUER_TENANTS": '{"us-east-1_Zz9": "globex"}',
            "TENANTKIT_AUTH_ROLE_CLAIM": "custom:roles",
            "TENANTKIT_AUTH_JWKS_URLS": f'{{"{POOL}": "http://127.0.0.1:5000/keys"}}',
            "TENANTKIT_AUTH_LEEWAY_SECONDS": "2.5",
            "TENANTKIT_AUTH_PENALTY_SECONDS": "30",
            "TENANTKIT_AUTH_JWKS_TIMEOUT_SECONDS": "1",
            "TENANTKIT_AUTH_ROUTE_TENANT_PARAM": "tenant",
        }
    )
    other = cognito_issuer("us-east-1_Zz9")
    assert settings.issuers == {ISSUER, "https://issuer.example/pool", other}
    assert settings.client_ids == {"web", "mobile"}
    assert settings.token_use == {"id", "access"}
    assert settings.tenant_claim == "custom:org"
    assert dict(settings.issuer_tenants) == {other: "globex"}
    assert settings.role_claim == "custom:roles"
    assert settings.jwks_url(ISSUER) == "http://127.0.0.1:5000/keys"
    assert settings.jwks_url(other) == f"{other}/.well-known/jwks.json"
    assert (settings.leeway, settings.penalty_seconds, settings.jwks_timeout) == (2.5, 30, 1)
    assert settings.route_tenant_param == "tenant"


def test_defaults() -> None:
    settings = AuthSettings.from_env(
        {"TENANTKIT_AUTH_ISSUERS": POOL, "TENANTKIT_AUTH_CLIENT_IDS": "web"}
    )
    assert settings.token_use == {"id"}
    assert settings.tenant_claim == "custom:tenant_id"
    assert settings.role_claim == "cognito:groups"
    assert settings.leeway == 5
    assert settings.penalty_seconds == 10
    assert settings.jwks_url(ISSUER) == f"{ISSUER}/.well-known/jwks.json"


_BASE = {"TENANTKIT_AUTH_ISSUERS": POOL, "TENANTKIT_AUTH_CLIENT_IDS": "web"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TENANTKIT_AUTH_ISSUERS", ""),
        ("TENANTKIT_AUTH_ISSUERS", "ftp://x"),
        ("TENANTKIT_AUTH_CLIENT_IDS", " , "),
        ("TENANTKIT_AUTH_TOKEN_USE", "refresh"),
        ("TENANTKIT_AUTH_ISSUER_TENANTS", "{not json"),
        ("TENANTKIT_AUTH_ISSUER_TENANTS", '["x"]'),
        ("TENANTKIT_AUTH_ISSUER_TENANTS", f'{{"{POOL}": "Bad Id"}}'),
        ("TENANTKIT_AUTH_JWKS_URLS", f'{{"{POOL}": "file:///etc"}}'),
        ("TENANTKIT_AUTH_LEEWAY_SECONDS", "soon"),
        ("TENANTKIT_AUTH_PENALTY_SECONDS", "-1"),
        ("TENANTKIT_AUTH_JWKS_TIMEOUT_SECONDS", "0"),
    ],
)
def test_bad_settings_name_their_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        AuthSettings.from_env({**_BASE, name: value})


def test_cognito_issuer() -> None:
    assert cognito_issuer(POOL) == ISSUER
    assert cognito_issuer("us-gov-west-1_abc").startswith("https://cognito-idp.us-gov-west-1.")
    with pytest.raises(ValueError, match="not a Cognito user pool id"):
        cognito_issuer("pool")
