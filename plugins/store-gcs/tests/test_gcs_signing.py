"""V4 signed URLs compared with google-cloud-storage's own signing
(``Blob.generate_signed_url(version="v4")``) at the same instant: same URL, byte for
byte, for GET and PUT, with and without a signed content type, for awkward keys; and
the signature verifies with the service account's public key. fake-gcs-server checks
no signature, so this is where the signing itself is tested.

Documented at https://cloud.google.com/storage/docs/access-control/signing-urls-manually.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from google.cloud import storage
from google.cloud.storage import _signing as sdk_signing
from google.oauth2 import service_account

from tenantkit import ProviderContext
from tenantkit_store_gcs import GCSSettings
from tenantkit_store_gcs import store as store_module
from tenantkit_store_gcs.store import GCSStore

from .conftest import ServiceAccountKey

NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
ENDPOINT = "https://storage.googleapis.com"
KEYS = [
    "acme/reports/q3.pdf",
    "acme/chars/sp ace+plus%20?q#f&a=b;c",
    "acme/ünïcødé/文件.txt",
    "acme/tilde~(paren)*'quote'",
]


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "_now", lambda: NOW)
    monkeypatch.setattr(sdk_signing, "_NOW", lambda tz=None: NOW.replace(tzinfo=tz))


@pytest.fixture
def key_store(service_account_key: ServiceAccountKey) -> Iterator[GCSStore]:
    settings = GCSSettings(bucket="acme-files", service_account_key=service_account_key.text)
    store = GCSStore(settings, ProviderContext(tenant_id="acme", provider="gcs"))
    yield store
    store.close()


def _sdk_url(
    key: ServiceAccountKey, name: str, method: str, expires_in: int, content_type: str | None
) -> str:
    credentials = service_account.Credentials.from_service_account_info(key.info)
    client = storage.Client(project="tenantkit-test", credentials=credentials)
    blob = client.bucket("acme-files").blob(name)
    return blob.generate_signed_url(
        version="v4",
        expiration=timedelta(seconds=expires_in),
        method=method,
        content_type=content_type,
        credentials=credentials,
        api_access_endpoint=ENDPOINT,
    )


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("name", KEYS)
@pytest.mark.parametrize(
    ("method", "expires_in", "content_type"),
    [("GET", 300, None), ("PUT", 60, None), ("PUT", 3600, "text/csv"), ("GET", 604800, None)],
)
def test_signed_urls_match_google_cloud_storage(
    key_store: GCSStore,
    service_account_key: ServiceAccountKey,
    name: str,
    method: str,
    expires_in: int,
    content_type: str | None,
) -> None:
    if method == "GET":
        ours = key_store.presign_get(name, expires_in=expires_in)
    else:
        ours = key_store.presign_put(name, expires_in=expires_in, content_type=content_type)
    assert ours == _sdk_url(service_account_key, name, method, expires_in, content_type)
    query = parse_qs(urlsplit(ours).query)
    assert query["X-Goog-Expires"] == [str(expires_in)]
    assert query["X-Goog-Date"] == ["20260314T150926Z"]
    assert query["X-Goog-Credential"] == [
        f"{service_account_key.email}/20260314/auto/storage/goog4_request"
    ]
    signed = "content-type;host" if content_type else "host"
    assert query["X-Goog-SignedHeaders"] == [signed]


@pytest.mark.usefixtures("frozen")
def test_the_signature_verifies_and_binds_the_method(
    key_store: GCSStore, service_account_key: ServiceAccountKey
) -> None:
    url = key_store.presign_get("acme/a.txt", expires_in=300)
    query = parse_qs(urlsplit(url).query)
    signature = bytes.fromhex(query["X-Goog-Signature"][0])
    canonical_query = urlsplit(url).query.rpartition("&X-Goog-Signature=")[0]

    def string_to_sign(method: str) -> bytes:
        canonical = "\n".join(
            [
                method,
                "/acme-files/acme/a.txt",
                canonical_query,
                "host:storage.googleapis.com\n",
                "host",
                "UNSIGNED-PAYLOAD",
            ]
        )
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        return "\n".join(
            ["GOOG4-RSA-SHA256", "20260314T150926Z", "20260314/auto/storage/goog4_request", digest]
        ).encode()

    public = service_account_key.private_key.public_key()
    public.verify(signature, string_to_sign("GET"), padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        public.verify(signature, string_to_sign("PUT"), padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.usefixtures("frozen")
def test_workload_identity_signs_with_sign_blob(monkeypatch: pytest.MonkeyPatch) -> None:
    """With an impersonated account there is no key: the string to sign goes to the
    IAM Credentials signBlob method (request ``{"payload": base64}``, answer
    ``{"keyId", "signedBlob"}``:
    https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/signBlob)."""
    email = "files-reader@tenant-project.iam.gserviceaccount.com"
    settings = GCSSettings(
        bucket="acme-files",
        workload_identity={
            "audience": "//iam.googleapis.com/projects/123456789012/locations/global/"
            "workloadIdentityPools/tenantkit-aws/providers/aws-runtime",
            "service_account": email,
        },
    )
    store = GCSStore(settings, ProviderContext(tenant_id="acme", provider="gcs"))
    signed_blob = b"\x01\x02signature-bytes\xfe"
    seen: list[bytes] = []

    def sign_blob(request: httpx.Request) -> httpx.Response:
        seen.append(base64.b64decode(json.loads(request.content)["payload"]))
        return httpx.Response(
            200, json={"keyId": "k1", "signedBlob": base64.b64encode(signed_blob).decode()}
        )

    monkeypatch.setattr(store._auth, "token", lambda stale=None: "ya29.impersonated")
    with respx.mock(assert_all_called=True) as router:
        route = router.post(
            f"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{email}:signBlob"
        ).mock(side_effect=sign_blob)
        url = store.presign_put("acme/up.bin", expires_in=120)
    store.close()
    assert route.call_count == 1
    assert route.calls[0].request.headers["authorization"] == "Bearer ya29.impersonated"
    assert seen[0].startswith(b"GOOG4-RSA-SHA256\n20260314T150926Z\n")
    query = parse_qs(urlsplit(url).query)
    assert query["X-Goog-Signature"] == [signed_blob.hex()]
    assert query["X-Goog-Credential"] == [f"{email}/20260314/auto/storage/goog4_request"]
    assert url.startswith("https://storage.googleapis.com/acme-files/acme/up.bin?")
