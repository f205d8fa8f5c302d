"""Fixtures: GCS providers on fake-gcs-server, one fresh bucket per test.

fake-gcs-server checks no token, so the OAuth token endpoint is answered by respx in
its documented format while every request to 127.0.0.1 passes through to the server.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tenantkit import ProviderContext, RetryPolicy
from tenantkit_store_gcs import GCSSettings
from tenantkit_store_gcs.store import CHUNK_GRANULE, GCSStore
from testharness.gcs import GCSServer

#: Retries without waiting, so tests that exhaust the budget stay fast.
FAST_RETRY = RetryPolicy(max_attempts=4, initial_delay=0.0, max_delay=0.0, sleep=lambda _: None)

TOKEN_URL = "https://oauth2.googleapis.com/token"
ACCESS_TOKEN = "ya29.c.PLANTED-access-token-0123456789"


@dataclass(frozen=True)
class ServiceAccountKey:
    """A service account JSON key with a fresh RSA key (the format of
    https://cloud.google.com/iam/docs/keys-create-delete#creating)."""

    info: dict[str, str]
    private_key: rsa.RSAPrivateKey

    @property
    def text(self) -> str:
        return json.dumps(self.info)

    @property
    def email(self) -> str:
        return self.info["client_email"]


@pytest.fixture(scope="session")
def service_account_key() -> ServiceAccountKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "tenantkit-test",
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": "tenantkit-files@tenantkit-test.iam.gserviceaccount.com",
        "client_id": "109876543210987654321",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
        "tenantkit-files%40tenantkit-test.iam.gserviceaccount.com",
        "universe_domain": "googleapis.com",
    }
    return ServiceAccountKey(info=info, private_key=key)


def token_answer(token: str = ACCESS_TOKEN, expires_in: int = 3599) -> dict[str, Any]:
    """The token endpoint's answer to a JWT bearer grant
    (https://developers.google.com/identity/protocols/oauth2/service-account#httprest)."""
    return {"access_token": token, "expires_in": expires_in, "token_type": "Bearer"}


@pytest.fixture
def google_oauth() -> Iterator[respx.MockRouter]:
    """respx answering Google's token endpoint; everything on 127.0.0.1 passes through."""
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.post(TOKEN_URL, name="token").respond(200, json=token_answer())
        router.route(host="127.0.0.1", name="local").pass_through()
        yield router


@pytest.fixture
def bucket(gcs_server: GCSServer) -> str:
    name = f"tenantkit-{secrets.token_hex(4)}"
    gcs_server.create_bucket(name)
    return name


@pytest.fixture
def make_settings(
    gcs_server: GCSServer, bucket: str, service_account_key: ServiceAccountKey
) -> Callable[..., GCSSettings]:
    def make(**fields: Any) -> GCSSettings:
        values: dict[str, Any] = {
            "bucket": bucket,
            "endpoint": gcs_server.endpoint,
            "service_account_key": service_account_key.text,
        }
        values.update(fields)
        return GCSSettings.model_validate(values)

    return make


@pytest.fixture
def make_store(
    make_settings: Callable[..., GCSSettings], google_oauth: respx.MockRouter
) -> Iterator[Callable[..., GCSStore]]:
    built: list[GCSStore] = []

    def make(
        settings: GCSSettings | None = None,
        *,
        tenant_id: str = "acme",
        retry: RetryPolicy = FAST_RETRY,
        chunk_size: int = CHUNK_GRANULE,
    ) -> GCSStore:
        context = ProviderContext(tenant_id=tenant_id, provider="gcs", retry=retry)
        store = GCSStore(settings or make_settings(), context, chunk_size=chunk_size)
        built.append(store)
        return store

    yield make
    for store in built:
        store.close()
