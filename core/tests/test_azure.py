"""Entra ID client-credentials tokens for the Azure plugins.

The token endpoint's wire format is the one documented at
https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
(successful response: token_type, expires_in, access_token; error response: error,
error_description, error_codes, timestamp, trace_id, correlation_id).
"""

from __future__ import annotations

import threading
import urllib.parse

import httpx
import pytest
import respx

from tenantkit import errors
from tenantkit.azure import EntraToken
from tenantkit.http import ErrorInfo, ProviderHTTP

SECRET = "planted-client-secret-Zq8~0123456789"
TOKEN_URL = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"


def _granted(token: str, expires_in: int = 3599) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "token_type": "Bearer",
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": token,
        },
    )


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _entra(clock: _Clock | None = None) -> EntraToken:
    return EntraToken(
        "azure-blob",
        "contoso.onmicrosoft.com",
        "app-client-id",
        SECRET,
        "https://storage.azure.com/.default",
        clock=clock or _Clock(),
    )


@respx.mock
def test_the_grant_is_the_documented_form_and_the_token_is_cached() -> None:
    route = respx.post(TOKEN_URL).mock(return_value=_granted("tok-1"))
    clock = _Clock()
    entra = _entra(clock)
    assert entra.token() == "tok-1"
    clock.now += 3000  # still more than the refresh margin before expiry
    assert entra.token() == "tok-1"
    assert route.call_count == 1
    form = urllib.parse.parse_qs(route.calls[0].request.content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["app-client-id"],
        "client_secret": [SECRET],
        "scope": ["https://storage.azure.com/.default"],
    }
    assert route.calls[0].request.headers["content-type"] == "application/x-www-form-urlencoded"


@respx.mock
def test_a_token_about_to_expire_is_fetched_again() -> None:
    route = respx.post(TOKEN_URL).mock(side_effect=[_granted("tok-1"), _granted("tok-2")])
    clock = _Clock()
    entra = _entra(clock)
    assert entra.token() == "tok-1"
    clock.now += 3599 - 299  # inside the five-minute margin
    assert entra.token() == "tok-2"
    assert route.call_count == 2


@respx.mock
def test_a_refused_token_is_replaced_once_and_the_request_sent_again() -> None:
    respx.post(TOKEN_URL).mock(side_effect=[_granted("revoked"), _granted("fresh")])
    api = respx.get("https://acct.blob.core.windows.net/c/k").mock(
        side_effect=[httpx.Response(401), httpx.Response(200, text="ok")]
    )
    http = ProviderHTTP(
        "azure-blob",
        "https://acct.blob.core.windows.net",
        parse_error=lambda response: ErrorInfo(message=response.reason_phrase),
        auth=_entra(),
    )
    assert http.request("GET", "/c/k").text == "ok"
    assert [c.request.headers["authorization"] for c in api.calls] == [
        "Bearer revoked",
        "Bearer fresh",
    ]


@respx.mock
def test_a_wrong_secret_is_an_authentication_error_that_never_shows_it() -> None:
    respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(
            401,
            json={
                "error": "invalid_client",
                "error_description": f"AADSTS7000215: Invalid client secret provided: {SECRET}",
                "error_codes": [7000215],
                "timestamp": "2026-12-04 16:00:00Z",
                "trace_id": "0000aaaa-11bb-cccc-dd22-eeeeee333333",
                "correlation_id": "aaaa0000-bb11-2222-33cc-444444dddddd",
            },
        )
    )
    entra = _entra()
    with pytest.raises(errors.AuthenticationError) as caught:
        entra.token()
    assert caught.value.provider == "azure-blob"
    assert caught.value.code == "invalid_client"
    for text in (str(caught.value), repr(caught.value), repr(entra)):
        assert SECRET not in text


@respx.mock
def test_an_outage_of_the_login_endpoint_is_retryable() -> None:
    respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(
            503, json={"error": "temporarily_unavailable", "error_description": "busy"}
        )
    )
    with pytest.raises(errors.ProviderUnavailable) as caught:
        _entra().token()
    assert caught.value.retryable


@respx.mock
def test_an_answer_without_a_token_is_a_typed_error() -> None:
    respx.post(TOKEN_URL).mock(return_value=httpx.Response(200, json={"token_type": "Bearer"}))
    with pytest.raises(errors.ProviderUnavailable):
        _entra().token()


@pytest.mark.parametrize("tenant", ["../evil", "a/b", "x?y", "", "tenant id"])
def test_a_directory_id_cannot_change_the_token_url(tenant: str) -> None:
    with pytest.raises(errors.InvalidRequest):
        EntraToken("cosmos", tenant, "c", SECRET, "https://cosmos.azure.com/.default")


@respx.mock
def test_concurrent_callers_share_one_fetch() -> None:
    gate = threading.Event()
    calls = 0

    def slow(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        gate.wait(5)
        return _granted("shared")

    respx.post(TOKEN_URL).mock(side_effect=slow)
    entra = _entra()
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(entra.token())) for _ in range(8)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    assert results == ["shared"] * 8
    assert calls == 1
