"""The four ways to authenticate, and the errors each failure becomes, against azurite
(SharedKey and SAS are checked by it for real) and, where azurite cannot produce the
answer (throttling, conditions), with respx in the service's documented error format."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx
from azure.storage.blob import generate_container_sas
from pydantic import ValidationError

from tenantkit import ProviderContext, TenantStorage
from tenantkit.errors import (
    AuthenticationError,
    ConditionFailed,
    ConfigurationError,
    NotFound,
    PermissionDenied,
    Throttled,
    Unsupported,
)
from tenantkit_store_azure_blob import AzureBlobSettings
from tenantkit_store_azure_blob.store import AzureBlobStore
from testharness.azurite import ACCOUNT, KEY, AzuriteServer

WRONG_KEY = "d3Jvbmcta2V5LXBsYW50ZWQtc2VjcmV0LXZhbHVlLTAxMjM0NTY3ODk="


def _sas(container: str, permission: str) -> str:
    return generate_container_sas(
        ACCOUNT,
        container,
        account_key=KEY,
        permission=permission,
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )


def _round_trip(store: AzureBlobStore) -> None:
    info = store.put("acme/mode/a.txt", b"alpha", content_type="text/plain", metadata={"k": "v"})
    assert info.size == 5
    assert store.get("acme/mode/a.txt") == b"alpha"
    assert store.head("acme/mode/a.txt").metadata == {"k": "v"}
    assert store.copy("acme/mode/a.txt", "acme/mode/b.txt").size == 5
    assert [o.key for o in store.list("acme/mode/").objects] == [
        "acme/mode/a.txt",
        "acme/mode/b.txt",
    ]
    store.delete("acme/mode/a.txt")
    with pytest.raises(NotFound):
        store.head("acme/mode/a.txt")


def test_account_key(make_store: Callable[..., AzureBlobStore]) -> None:
    _round_trip(make_store())


def test_connection_string(
    make_store: Callable[..., AzureBlobStore],
    make_settings: Callable[..., AzureBlobSettings],
    azurite: AzuriteServer,
) -> None:
    _round_trip(make_store(make_settings(connection_string=azurite.connection_string)))


def test_sas_token(
    make_store: Callable[..., AzureBlobStore],
    make_settings: Callable[..., AzureBlobSettings],
    azurite: AzuriteServer,
    container: str,
) -> None:
    store = make_store(
        make_settings(account_url=azurite.account_url, sas_token=_sas(container, "racwdl"))
    )
    _round_trip(store)
    with pytest.raises(Unsupported, match="SAS token"):
        store.presign_get("acme/mode/b.txt", expires_in=60)


def test_sas_token_in_a_connection_string(
    make_store: Callable[..., AzureBlobStore],
    make_settings: Callable[..., AzureBlobSettings],
    azurite: AzuriteServer,
    container: str,
) -> None:
    text = f"BlobEndpoint={azurite.account_url};SharedAccessSignature={_sas(container, 'racwdl')}"
    _round_trip(make_store(make_settings(connection_string=text)))


def test_read_only_sas_cannot_write(
    make_store: Callable[..., AzureBlobStore],
    make_settings: Callable[..., AzureBlobSettings],
    azurite: AzuriteServer,
    container: str,
) -> None:
    token = _sas(container, "rl")
    store = make_store(make_settings(account_url=azurite.account_url, sas_token=token))
    with pytest.raises(PermissionDenied) as caught:
        store.put("acme/x", b"x")
    assert token not in str(caught.value)
    assert caught.value.request_id


def test_wrong_account_key_is_refused_without_quoting_it(
    make_store: Callable[..., AzureBlobStore],
    make_settings: Callable[..., AzureBlobSettings],
    scoped: Callable[..., TenantStorage],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    store = make_store(make_settings(account_key=WRONG_KEY))
    storage = scoped(store, secrets=(WRONG_KEY,))
    for call in (
        lambda: storage.put("a", b"x"),
        lambda: storage.get("a"),
        lambda: storage.head("a"),
        lambda: storage.list(""),
    ):
        # Azure answers 403 AuthenticationFailed (mapped in test_documented_errors);
        # azurite answers 403 AuthorizationFailure to a wrong signature.
        with pytest.raises(PermissionDenied) as caught:
            call()
        assert caught.value.code == "AuthorizationFailure"
        assert WRONG_KEY not in str(caught.value) + repr(caught.value)
    assert WRONG_KEY not in repr(store)
    assert WRONG_KEY not in caplog.text


def test_missing_container_is_a_configuration_error(
    make_store: Callable[..., AzureBlobStore], make_settings: Callable[..., AzureBlobSettings]
) -> None:
    store = make_store(make_settings(container="no-such-container"))
    with pytest.raises(ConfigurationError, match="no-such-container"):
        store.put("acme/x", b"x")


def test_settings_need_exactly_one_credential(azurite: AzuriteServer) -> None:
    base = {"account_url": azurite.account_url, "container": "files"}
    with pytest.raises(ValidationError, match="exactly one"):
        AzureBlobSettings.model_validate(base)
    with pytest.raises(ValidationError, match="exactly one"):
        AzureBlobSettings.model_validate({**base, "account_key": KEY, "sas_token": "sv=1&sig=2"})
    broken = f"AccountName={ACCOUNT};AccountKey"
    with pytest.raises(ValidationError) as caught:
        AzureBlobSettings.model_validate({"container": "files", "connection_string": broken})
    assert "connection_string" in str(caught.value)
    secret = f"AccountName={ACCOUNT};AccountKey={KEY};BlobEndpoint=ftp://x"
    with pytest.raises(ValidationError) as caught:
        AzureBlobSettings.model_validate({"container": "files", "connection_string": secret})
    assert KEY not in str(caught.value)
    with pytest.raises(ValidationError, match="container"):
        AzureBlobSettings.model_validate({**base, "account_key": KEY, "container": "a--b"})


def test_account_name_from_the_url() -> None:
    hosted = AzureBlobSettings(
        account_url="https://acmefiles.blob.core.windows.net", container="files", account_key=KEY
    )
    assert hosted.endpoint().account_name == "acmefiles"
    dev = AzureBlobSettings.model_validate(
        {"container": "files", "connection_string": "UseDevelopmentStorage=true"}
    )
    assert dev.endpoint().account_name == ACCOUNT


# --- answers azurite cannot produce, in the documented error format ---------------------
# https://learn.microsoft.com/rest/api/storageservices/status-and-error-codes2


def _error(status: int, code: str, message: str) -> httpx.Response:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{code}</Code><Message>{message}\n"
        "RequestId:0f0c6cd9-601e-0062-40e9-6b4d43000000\n"
        "Time:2026-01-01T00:00:00.0000000Z</Message></Error>"
    )
    return httpx.Response(
        status,
        content=body.encode(),
        headers={"x-ms-error-code": code, "x-ms-request-id": "0f0c6cd9-601e-0062"},
    )


@pytest.fixture
def mocked_store() -> AzureBlobStore:
    settings = AzureBlobSettings(
        account_url="https://acmefiles.blob.core.windows.net", container="files", account_key=KEY
    )
    return AzureBlobStore(settings, ProviderContext("acme", "azure-blob"))


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (503, "ServerBusy", Throttled),
        (412, "ConditionNotMet", ConditionFailed),
        (404, "BlobNotFound", NotFound),
        (403, "AuthorizationPermissionMismatch", PermissionDenied),
        (403, "AuthenticationFailed", AuthenticationError),
    ],
)
def test_documented_errors(
    mocked_store: AzureBlobStore, status: int, code: str, error: type[Exception]
) -> None:
    with respx.mock(base_url="https://acmefiles.blob.core.windows.net") as router:
        router.get("/files/acme/a.txt").mock(return_value=_error(status, code, "It failed."))
        with pytest.raises(error) as caught:
            mocked_store.get("acme/a.txt")
    assert caught.value.code == code
    assert caught.value.request_id == "0f0c6cd9-601e-0062"
    if status == 503:
        assert caught.value.retryable


def test_head_error_without_a_body_uses_the_header(mocked_store: AzureBlobStore) -> None:
    with respx.mock(base_url="https://acmefiles.blob.core.windows.net") as router:
        router.head("/files/acme/a.txt").respond(
            404, headers={"x-ms-error-code": "BlobNotFound", "x-ms-request-id": "r-1"}
        )
        with pytest.raises(NotFound) as caught:
            mocked_store.head("acme/a.txt")
    assert (caught.value.code, caught.value.request_id) == ("BlobNotFound", "r-1")
