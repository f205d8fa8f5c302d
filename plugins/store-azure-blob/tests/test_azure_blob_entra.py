"""Entra ID mode: a service principal's bearer token on every request, and presigned
URLs as user delegation SAS.

The blob calls go to azurite over HTTPS with ``--oauth basic``: it checks each token's
issuer, audience and lifetime (not its signature), serves Get User Delegation Key, and
checks the user delegation SAS signatures of the presigned URLs. The token endpoint is
mocked with respx in its documented wire format.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from tenantkit import ProviderContext
from tenantkit.errors import AuthenticationError
from tenantkit.testing import StorageConformance
from tenantkit_store_azure_blob import AzureBlobSettings
from tenantkit_store_azure_blob.store import AzureBlobStore
from testharness.azurite import AzuriteServer, bearer_token

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "6731de76-14a6-49ae-97bc-6eba6914391e"
SECRET = "planted-client-secret-~Q8w7"
OID = "00000000-0000-0000-0000-00000000b10b"
TOKEN_URL = f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"


def token_answer() -> httpx.Response:
    """A successful client-credentials answer, as documented at
    https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#successful-response-1"""
    return httpx.Response(
        200,
        json={
            "token_type": "Bearer",
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": bearer_token(tenant=TENANT, oid=OID),
        },
    )


@pytest.fixture
def login() -> Iterator[respx.Route]:
    with respx.mock(assert_all_called=False) as router:
        route = router.post(TOKEN_URL).mock(side_effect=lambda request: token_answer())
        router.route(host="127.0.0.1").pass_through()
        yield route


@pytest.fixture
def oauth_container(azurite_oauth: AzuriteServer) -> str:
    name = f"tk-{secrets.token_hex(6)}"
    azurite_oauth.create_container(name)
    return name


@pytest.fixture
def entra_store(
    azurite_oauth: AzuriteServer, oauth_container: str, login: respx.Route
) -> Iterator[AzureBlobStore]:
    settings = AzureBlobSettings(
        account_url=azurite_oauth.account_url,
        container=oauth_container,
        entra={"tenant_id": TENANT, "client_id": CLIENT, "client_secret": SECRET},
    )
    store = AzureBlobStore(
        settings, ProviderContext("acme", "azure-blob"), verify=azurite_oauth.ssl_context()
    )
    yield store
    store.close()


class TestAzureBlobEntraConformance(StorageConformance):
    presign_content_type_enforced = False  # a SAS cannot bind the uploaded Content-Type

    @pytest.fixture
    def object_store(self, entra_store: AzureBlobStore) -> AzureBlobStore:
        return entra_store

    @pytest.fixture
    def http(self, azurite_oauth: AzuriteServer) -> Iterator[httpx.Client]:
        with httpx.Client(timeout=30, trust_env=False, verify=azurite_oauth.ssl_context()) as c:
            yield c


def test_token_is_fetched_once_with_the_storage_scope(
    entra_store: AzureBlobStore, login: respx.Route
) -> None:
    entra_store.put("acme/a.txt", b"a")
    entra_store.put("acme/b.txt", b"b")
    assert entra_store.get("acme/a.txt") == b"a"
    assert login.call_count == 1
    form = parse_qs(login.calls.last.request.content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT],
        "client_secret": [SECRET],
        "scope": ["https://storage.azure.com/.default"],
    }


def test_presigned_url_is_a_user_delegation_sas(
    entra_store: AzureBlobStore, azurite_oauth: AzuriteServer
) -> None:
    entra_store.put("acme/report.txt", b"quarterly")
    url = entra_store.presign_get("acme/report.txt", expires_in=120)
    query = parse_qs(url.split("?", 1)[1])
    assert query["skoid"] == [OID]
    assert query["sktid"] == [TENANT]
    assert query["sp"] == ["r"]
    assert "sig" in query
    with httpx.Client(verify=azurite_oauth.ssl_context()) as http:
        assert http.get(url).content == b"quarterly"
        # The delegation key is fetched once and reused while it outlives the URL.
        entra_store.presign_put("acme/other.txt", expires_in=60)


def test_rejected_client_secret_is_an_authentication_error(
    azurite_oauth: AzuriteServer, oauth_container: str
) -> None:
    with respx.mock(assert_all_called=False) as router:
        # https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#error-response-1
        router.post(TOKEN_URL).respond(
            401,
            json={
                "error": "invalid_client",
                "error_description": f"AADSTS7000215: Invalid client secret provided: {SECRET}",
                "error_codes": [7000215],
                "trace_id": "0000aaaa-11bb-cccc-dd22-eeeeee333333",
                "correlation_id": "aaaa0000-bb11-2222-33cc-444444dddddd",
            },
        )
        router.route(host="127.0.0.1").pass_through()
        settings = AzureBlobSettings(
            account_url=azurite_oauth.account_url,
            container=oauth_container,
            entra={"tenant_id": TENANT, "client_id": CLIENT, "client_secret": SECRET},
        )
        store = AzureBlobStore(
            settings, ProviderContext("acme", "azure-blob"), verify=azurite_oauth.ssl_context()
        )
        try:
            with pytest.raises(AuthenticationError) as caught:
                store.head("acme/x")
        finally:
            store.close()
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(store)


def test_unknown_key_is_not_found_through_entra(entra_store: AzureBlobStore) -> None:
    from tenantkit.errors import NotFound

    with pytest.raises(NotFound):
        entra_store.get("acme/missing")
