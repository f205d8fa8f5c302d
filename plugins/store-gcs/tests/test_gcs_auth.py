"""Credentials, with respx answering Google's endpoints in their documented formats:

* the OAuth 2.0 JWT bearer grant of a service account key
  (https://developers.google.com/identity/protocols/oauth2/service-account#httprest);
* workload identity federation from AWS: the STS token exchange
  (https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token) with a
  serialized, signed ``GetCallerIdentity`` request as subject token
  (https://cloud.google.com/iam/docs/workload-identity-federation-with-other-clouds#rest),
  then ``generateAccessToken``
  (https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken).

The storage calls go to the real endpoint URL, answered by respx too: fake-gcs-server
checks no token.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tenantkit import ProviderContext, TenantStorage
from tenantkit.cursors import CursorSigner
from tenantkit.errors import AuthenticationError, PermissionDenied, ProviderUnavailable
from tenantkit.retry import NO_RETRY
from tenantkit_store_gcs import GCSSettings
from tenantkit_store_gcs._auth import SCOPE
from tenantkit_store_gcs.store import GCSStore

from .conftest import ACCESS_TOKEN, TOKEN_URL, ServiceAccountKey, token_answer

OBJECT_URL = "https://storage.googleapis.com/storage/v1/b/acme-files/o/acme%2Fa.txt"
RESOURCE = {"kind": "storage#object", "name": "acme/a.txt", "size": "3", "etag": "CAE="}
AUDIENCE = (
    "//iam.googleapis.com/projects/123456789012/locations/global/"
    "workloadIdentityPools/tenantkit-aws/providers/aws-runtime"
)
IMPERSONATED = "files@tenant-project.iam.gserviceaccount.com"
STS_URL = "https://sts.googleapis.com/v1/token"
GENERATE_URL = (
    "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
    f"{IMPERSONATED}:generateAccessToken"
)
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY-PLANTED"
AWS_SESSION = "FwoGZXIvYXdzEPLANTED-session-token"


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.fixture
def key_store(service_account_key: ServiceAccountKey) -> Iterator[GCSStore]:
    settings = GCSSettings(bucket="acme-files", service_account_key=service_account_key.text)
    store = GCSStore(settings, ProviderContext(tenant_id="acme", provider="gcs"))
    yield store
    store.close()


def test_jwt_bearer_grant_in_the_documented_format(
    key_store: GCSStore, service_account_key: ServiceAccountKey
) -> None:
    with respx.mock(assert_all_called=True) as router:
        token = router.post(TOKEN_URL).respond(200, json=token_answer())
        head = router.get(OBJECT_URL).respond(200, json=RESOURCE)
        info = key_store.head("acme/a.txt")
    assert info.size == 3
    request = token.calls[0].request
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request.content.decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    header, claims, signature = form["assertion"][0].split(".")
    assert json.loads(_b64url(header))["alg"] == "RS256"
    payload = json.loads(_b64url(claims))
    assert payload["iss"] == service_account_key.email
    assert payload["aud"] == TOKEN_URL
    assert payload["scope"] == SCOPE
    assert payload["exp"] - payload["iat"] == 3600
    service_account_key.private_key.public_key().verify(
        _b64url(signature),
        f"{header}.{claims}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    assert head.calls[0].request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"


def test_the_token_is_cached_until_shortly_before_it_expires(key_store: GCSStore) -> None:
    with respx.mock() as router:
        token = router.post(TOKEN_URL).respond(200, json=token_answer(expires_in=3599))
        router.get(OBJECT_URL).respond(200, json=RESOURCE)
        for _ in range(3):
            key_store.head("acme/a.txt")
        assert token.call_count == 1
        # A token within google-auth's refresh margin (3 min 45 s) is not used again.
        token.respond(200, json=token_answer(token="ya29.short", expires_in=200))
        key_store._auth.token(stale=ACCESS_TOKEN)
        key_store.head("acme/a.txt")
        key_store.head("acme/a.txt")
        assert token.call_count == 4


def test_the_key_token_uri_is_ignored_for_the_operators_token_url(
    service_account_key: ServiceAccountKey,
) -> None:
    hostile = dict(service_account_key.info, token_uri="https://collector.example/steal")
    settings = GCSSettings(
        bucket="acme-files",
        service_account_key=json.dumps(hostile),
        token_url="https://oauth2.operator.test/token",
    )
    store = GCSStore(settings, ProviderContext(tenant_id="acme", provider="gcs"))
    with respx.mock(assert_all_mocked=True) as router:
        token = router.post("https://oauth2.operator.test/token").respond(200, json=token_answer())
        router.get(OBJECT_URL).respond(200, json=RESOURCE)
        store.head("acme/a.txt")
    store.close()
    assert token.call_count == 1


def test_a_401_refreshes_the_token_once(key_store: GCSStore) -> None:
    with respx.mock() as router:
        token = router.post(TOKEN_URL)
        token.side_effect = [
            httpx.Response(200, json=token_answer(token="ya29.revoked")),
            httpx.Response(200, json=token_answer(token="ya29.fresh")),
        ]
        head = router.get(OBJECT_URL)
        head.side_effect = [
            httpx.Response(401, json={"error": {"code": 401, "message": "Invalid Credentials"}}),
            httpx.Response(200, json=RESOURCE),
        ]
        assert key_store.head("acme/a.txt").size == 3
    assert token.call_count == 2
    sent = [call.request.headers["authorization"] for call in head.calls]
    assert sent == ["Bearer ya29.revoked", "Bearer ya29.fresh"]


def test_a_second_401_is_an_authentication_error_without_the_token(key_store: GCSStore) -> None:
    with respx.mock() as router:
        token = router.post(TOKEN_URL).respond(200, json=token_answer())
        head = router.get(OBJECT_URL).respond(
            401, json={"error": {"code": 401, "message": f"Invalid Credentials {ACCESS_TOKEN}"}}
        )
        with pytest.raises(AuthenticationError) as caught:
            key_store.head("acme/a.txt")
    assert head.call_count == 2
    assert token.call_count == 2
    assert caught.value.provider == "gcs"
    assert "gcs" in str(caught.value)
    assert ACCESS_TOKEN not in str(caught.value)
    assert ACCESS_TOKEN not in repr(caught.value)


def test_a_rejected_key_is_an_authentication_error_asked_once(
    key_store: GCSStore, service_account_key: ServiceAccountKey
) -> None:
    with respx.mock() as router:
        token = router.post(TOKEN_URL).respond(
            400,
            json={"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
        )
        with pytest.raises(AuthenticationError) as caught:
            key_store.head("acme/a.txt")
    assert token.call_count == 1  # google-auth's own retry loop never runs
    assert caught.value.code == "invalid_grant"
    text = f"{caught.value} {caught.value!r}"
    assert service_account_key.info["private_key_id"] not in text
    assert "PRIVATE KEY" not in text


def test_an_unavailable_token_endpoint_is_retryable_and_asked_once(key_store: GCSStore) -> None:
    with respx.mock() as router:
        token = router.post(TOKEN_URL).respond(503, json={"error": "temporarily_unavailable"})
        with pytest.raises(ProviderUnavailable) as caught:
            key_store.head("acme/a.txt")
    assert token.call_count == 1
    assert caught.value.retryable


# --- workload identity federation from AWS --------------------------------------------


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Lambda's own credentials, as the runtime gives them to the function."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", AWS_SESSION)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")


@pytest.fixture
def wif_store(aws_env: None) -> Iterator[GCSStore]:
    settings = GCSSettings(
        bucket="acme-files",
        workload_identity={"audience": AUDIENCE, "service_account": IMPERSONATED},
    )
    store = GCSStore(settings, ProviderContext(tenant_id="acme", provider="gcs"))
    yield store
    store.close()


def _sts_answer() -> dict[str, Any]:
    return {
        "access_token": "ya29.federated-PLANTED",
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "token_type": "Bearer",
        "expires_in": 3600,
    }


def _generate_answer() -> dict[str, Any]:
    return {"accessToken": "ya29.impersonated-PLANTED", "expireTime": "2099-10-02T15:01:23Z"}


def test_aws_credentials_are_exchanged_at_sts_then_impersonate(wif_store: GCSStore) -> None:
    with respx.mock(assert_all_called=True) as router:
        sts = router.post(STS_URL).respond(200, json=_sts_answer())
        generate = router.post(GENERATE_URL).respond(200, json=_generate_answer())
        head = router.get(OBJECT_URL).respond(200, json=RESOURCE)
        wif_store.head("acme/a.txt")
        wif_store.head("acme/a.txt")
    assert sts.call_count == 1
    assert generate.call_count == 1

    form = parse_qs(sts.calls[0].request.content.decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:token-exchange"]
    assert form["audience"] == [AUDIENCE]
    assert form["requested_token_type"] == ["urn:ietf:params:oauth:token-type:access_token"]
    assert form["subject_token_type"] == ["urn:ietf:params:aws:token-type:aws4_request"]
    # The federated token only needs to call generateAccessToken.
    assert form["scope"] == ["https://www.googleapis.com/auth/iam"]
    subject = json.loads(unquote(form["subject_token"][0]))
    assert subject["method"] == "POST"
    assert subject["url"] == (
        "https://sts.eu-west-1.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"
    )
    headers = {h["key"].lower(): h["value"] for h in subject["headers"]}
    assert headers["x-goog-cloud-target-resource"] == AUDIENCE
    assert headers["x-amz-security-token"] == AWS_SESSION
    assert headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={AWS_KEY_ID}/")
    assert "/eu-west-1/sts/aws4_request" in headers["authorization"]
    assert AWS_SECRET not in json.dumps(subject)

    impersonate = generate.calls[0].request
    assert impersonate.headers["authorization"] == "Bearer ya29.federated-PLANTED"
    assert json.loads(impersonate.content)["scope"] == [SCOPE]
    assert head.calls[0].request.headers["authorization"] == "Bearer ya29.impersonated-PLANTED"


def test_impersonation_refused_is_permission_denied(wif_store: GCSStore) -> None:
    with respx.mock() as router:
        router.post(STS_URL).respond(200, json=_sts_answer())
        router.post(GENERATE_URL).respond(
            403,
            json={
                "error": {
                    "code": 403,
                    "message": "Permission 'iam.serviceAccounts.getAccessToken' denied",
                    "status": "PERMISSION_DENIED",
                }
            },
        )
        with pytest.raises(PermissionDenied) as caught:
            wif_store.head("acme/a.txt")
    assert caught.value.provider == "gcs"
    assert "ya29" not in str(caught.value)


def test_sts_rejecting_the_aws_identity_is_an_authentication_error(wif_store: GCSStore) -> None:
    with respx.mock() as router:
        sts = router.post(STS_URL).respond(
            400,
            json={
                "error": "invalid_grant",
                "error_description": "The principal is not allowed by the attribute condition.",
            },
        )
        storage = TenantStorage(
            wif_store,
            tenant_id="acme",
            provider="gcs",
            capabilities=frozenset(),
            signer=CursorSigner(b"k" * 32),
            retry=NO_RETRY,
        )
        with pytest.raises(AuthenticationError) as caught:
            storage.head("a.txt")
    assert sts.call_count == 1
    assert AWS_SECRET not in str(caught.value)
    assert AWS_SESSION not in str(caught.value)
