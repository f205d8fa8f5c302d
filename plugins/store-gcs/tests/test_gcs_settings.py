"""The ``storage`` section for ``gcs``: validation names the field, its messages (as the
core reports them, without the input) never quote the key, and every field is the
operator's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from tenantkit.settings import tenant_owned_fields
from tenantkit.validation import field_errors
from tenantkit_store_gcs import GCSSettings

from .conftest import ServiceAccountKey

AUDIENCE = (
    "//iam.googleapis.com/projects/123456789012/locations/global/"
    "workloadIdentityPools/tenantkit-aws/providers/aws-runtime"
)


def _settings(**fields: Any) -> GCSSettings:
    return GCSSettings.model_validate({"bucket": "acme-files", **fields})


def _reported(exc: ValidationError) -> str:
    """The errors as the core reports them (field path and message)."""
    return "; ".join(str(e) for e in field_errors(exc, prefix="storage"))


def test_nothing_is_tenant_owned() -> None:
    assert tenant_owned_fields(GCSSettings) == frozenset()


def test_exactly_one_credential_mode(service_account_key: ServiceAccountKey) -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        _settings()
    with pytest.raises(ValidationError, match="exactly one"):
        _settings(
            service_account_key=service_account_key.text,
            workload_identity={
                "audience": AUDIENCE,
                "service_account": "a1234@p.iam.gserviceaccount.com",
            },
        )
    assert _settings(service_account_key=service_account_key.text).workload_identity is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "authorized_user"}, "not a service account key"),
        ({"private_key": "not a pem"}, "not a PEM private key"),
        ({"client_email": None}, "lacks client_email"),
    ],
)
def test_a_bad_key_names_the_field_and_never_quotes_it(
    service_account_key: ServiceAccountKey, change: dict[str, Any], message: str
) -> None:
    info = {**service_account_key.info, **change}
    text = json.dumps({k: v for k, v in info.items() if v is not None})
    with pytest.raises(ValidationError) as caught:
        _settings(service_account_key=text)
    rendered = _reported(caught.value)
    assert "storage.service_account_key" in rendered
    assert message in rendered
    assert "PRIVATE KEY" not in rendered
    assert service_account_key.info["private_key_id"] not in rendered


def test_a_key_that_is_not_json_is_refused_without_quoting_it() -> None:
    with pytest.raises(ValidationError) as caught:
        _settings(service_account_key="-----BEGIN PRIVATE KEY-----PLANTED")
    assert "storage.service_account_key" in _reported(caught.value)
    assert "not valid JSON" in _reported(caught.value)
    assert "PLANTED" not in _reported(caught.value)


def test_the_key_never_appears_in_a_repr(service_account_key: ServiceAccountKey) -> None:
    settings = _settings(service_account_key=service_account_key.text)
    assert "PRIVATE KEY" not in repr(settings)
    assert "PRIVATE KEY" not in settings.model_dump_json()


@pytest.mark.parametrize(
    "fields",
    [
        {"bucket": "Acme_Files"},
        {"prefix": "../up"},
        {"prefix": "/abs"},
        {"endpoint": "ftp://storage.example"},
        {"endpoint": "https://storage.example/path?q=1"},
        {"token_url": "file:///etc/passwd"},
    ],
)
def test_operator_fields_are_validated(
    service_account_key: ServiceAccountKey, fields: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError) as caught:
        _settings(service_account_key=service_account_key.text, **fields)
    assert next(iter(fields)) in str(caught.value)


@pytest.mark.parametrize(
    "identity",
    [
        {
            "audience": "//iam.googleapis.com/projects/x/pools",
            "service_account": "a1234@p.iam.gserviceaccount.com",
        },
        {"audience": AUDIENCE, "service_account": "someone@example.com"},
        {
            "audience": AUDIENCE,
            "service_account": "a1234@p.iam.gserviceaccount.com",
            "sts_url": "gopher://x",
        },
    ],
)
def test_workload_identity_is_validated(identity: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="workload_identity"):
        _settings(workload_identity=identity)


def test_prefix_is_normalized(service_account_key: ServiceAccountKey) -> None:
    assert _settings(service_account_key=service_account_key.text, prefix="a/b").prefix == "a/b/"
