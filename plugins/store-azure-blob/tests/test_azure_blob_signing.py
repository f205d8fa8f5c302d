"""Our SharedKey and SAS signatures, checked against azure-storage-blob's own signing code
(``azure.storage.blob._shared.authentication`` and ``generate_blob_sas``)."""

from __future__ import annotations

import string
from types import SimpleNamespace
from urllib.parse import parse_qs, quote

import httpx
import pytest
from azure.storage.blob import BlobSasPermissions, UserDelegationKey, generate_blob_sas
from azure.storage.blob._shared.authentication import (
    SharedKeyCredentialPolicy,
    _storage_header_sort,
)
from azure.storage.blob._shared_access_signature import BlobSharedAccessSignature
from hypothesis import given
from hypothesis import strategies as st

from tenantkit_store_azure_blob._auth import SharedKeyAuth
from tenantkit_store_azure_blob._signing import (
    API_VERSION,
    SasFields,
    _collation_key,
    delegation_sas,
    service_sas,
)
from tenantkit_store_azure_blob._signing import (
    UserDelegationKey as OurKey,
)
from testharness.azurite import ACCOUNT, KEY

EXPIRY = "2031-05-06T07:08:09Z"
DELEGATION = OurKey(
    signed_oid="00000000-0000-0000-0000-00000000b10b",
    signed_tid="72f988bf-86f1-41af-91ab-2d7cd011db47",
    signed_start="2031-05-01T00:00:00Z",
    signed_expiry="2031-05-08T00:00:00Z",
    signed_service="b",
    signed_version=API_VERSION,
    value="aGVsbG8gZGVsZWdhdGlvbiBrZXkgdmFsdWUgMDEyMzQ1Njc4OQ==",
)
BLOBS = ["a.txt", "acme/reports/q3 final.pdf", "acme/ünï/文件+%20?&=#.txt", "acme/(x)[y]{z}*'\""]


def _sdk_string_to_sign(request: httpx.Request) -> str:
    """The string azure-storage-blob's SharedKeyCredentialPolicy signs for ``request``."""
    captured: dict[str, str] = {}
    policy = SharedKeyCredentialPolicy(ACCOUNT, KEY)
    policy._add_authorization_header = lambda _request, text: captured.setdefault("text", text)
    http_request = SimpleNamespace(
        method=request.method,
        url=str(request.url),
        headers=dict(request.headers),
        query={k: quote(v, safe="") for k, v in request.url.params.multi_items()},
    )
    policy.on_request(
        SimpleNamespace(http_request=http_request, context=SimpleNamespace(transport=None))
    )
    return captured["text"]


def _our_string_to_sign(request: httpx.Request) -> str:
    from tenantkit_store_azure_blob import _auth

    captured: dict[str, str] = {}
    original = _auth.sign

    def spy(key: bytes, text: str) -> str:
        captured["text"] = text
        return original(key, text)

    _auth.sign = spy
    try:
        next(SharedKeyAuth(ACCOUNT, KEY).auth_flow(request))
    finally:
        _auth.sign = original
    return captured["text"]


@pytest.mark.parametrize(
    ("method", "path", "params", "headers", "body"),
    [
        ("GET", "/c/a.txt", {}, {"x-ms-range": "bytes=10-19"}, b""),
        (
            "PUT",
            "/c/acme/%C3%BC%20x%2Bplus",
            {},
            {
                "x-ms-blob-type": "BlockBlob",
                "x-ms-blob-content-type": "text/plain",
                "x-ms-meta-note_2": "two",
                "x-ms-meta-note": "one",
                "x-ms-meta-a1": "x",
                "x-ms-meta-a_b": "y",
            },
            b"hello",
        ),
        ("PUT", "/c/big.bin", {"comp": "block", "blockid": "YWJj+/=="}, {}, b"x" * 100),
        (
            "GET",
            "/c",
            {"restype": "container", "comp": "list", "prefix": "acme/ü &=", "marker": "2!96"},
            {},
            b"",
        ),
        ("DELETE", "/c/x", {}, {"x-ms-delete-snapshots": "include"}, b""),
        ("PUT", "/c/empty", {}, {"x-ms-blob-type": "BlockBlob"}, b""),
    ],
)
def test_shared_key_string_matches_the_sdk(
    method: str, path: str, params: dict[str, str], headers: dict[str, str], body: bytes
) -> None:
    url = httpx.URL(f"http://127.0.0.1:10000/{ACCOUNT}{path}", params=params)
    request = httpx.Request(
        method,
        url,
        headers={"x-ms-version": API_VERSION, **headers},
        content=body if method in ("PUT", "POST") else None,
    )
    ours = _our_string_to_sign(request)
    assert ours == _sdk_string_to_sign(request)
    assert request.headers["Authorization"].startswith(f"SharedKey {ACCOUNT}:")


@given(
    st.lists(
        st.text(alphabet=string.ascii_lowercase + string.digits + "_", min_size=1, max_size=8),
        min_size=2,
        max_size=8,
        unique=True,
    )
)
def test_header_order_matches_the_sdk(names: list[str]) -> None:
    headers = [(f"x-ms-meta-{n}", "v") for n in names] + [
        ("x-ms-version", API_VERSION),
        ("x-ms-blob-type", "BlockBlob"),
        ("x-ms-blob-content-type", "a/b"),
        ("x-ms-date", "d"),
    ]
    expected = [name for name, _ in _storage_header_sort(headers)]
    assert sorted((name for name, _ in headers), key=_collation_key) == expected


@pytest.mark.parametrize("blob", BLOBS)
@pytest.mark.parametrize("permissions", ["r", "cw"])
def test_service_sas_matches_generate_blob_sas(blob: str, permissions: str) -> None:
    fields = SasFields(ACCOUNT, "files", blob, permissions, EXPIRY, protocol="https")
    ours = parse_qs(service_sas(fields, KEY))
    sas = BlobSharedAccessSignature(ACCOUNT, account_key=KEY)
    sas.x_ms_version = API_VERSION
    theirs = parse_qs(
        sas.generate_blob(
            "files",
            blob,
            permission=BlobSasPermissions.from_string(permissions),
            expiry=EXPIRY,
            protocol="https",
        )
    )
    assert ours == theirs


@pytest.mark.parametrize("blob", BLOBS)
def test_user_delegation_sas_matches_generate_blob_sas(blob: str) -> None:
    fields = SasFields(ACCOUNT, "files", blob, "r", EXPIRY, protocol="https,http")
    ours = parse_qs(delegation_sas(fields, DELEGATION))
    key = UserDelegationKey()
    key.signed_oid = DELEGATION.signed_oid
    key.signed_tid = DELEGATION.signed_tid
    key.signed_start = DELEGATION.signed_start
    key.signed_expiry = DELEGATION.signed_expiry
    key.signed_service = DELEGATION.signed_service
    key.signed_version = DELEGATION.signed_version
    key.value = DELEGATION.value
    sas = BlobSharedAccessSignature(ACCOUNT, user_delegation_key=key)
    sas.x_ms_version = API_VERSION
    theirs = parse_qs(
        sas.generate_blob(
            "files",
            blob,
            permission=BlobSasPermissions(read=True),
            expiry=EXPIRY,
            protocol="https,http",
        )
    )
    assert ours == theirs


def test_generate_blob_sas_agrees_for_the_sdk_version() -> None:
    """The public helper (which signs for the SDK's own version) agrees when we sign
    for that version too."""
    from azure.storage.blob._shared.constants import X_MS_VERSION

    fields = SasFields(ACCOUNT, "files", "a/b.txt", "r", EXPIRY, version=X_MS_VERSION)
    theirs = generate_blob_sas(
        ACCOUNT, "files", "a/b.txt", account_key=KEY, permission="r", expiry=EXPIRY
    )
    assert parse_qs(service_sas(fields, KEY)) == parse_qs(theirs)
