"""The authorizer against real Cognito tokens from the moto server.

moto issues RS256 tokens whose ``iss`` is the real Cognito URL
(``https://cognito-idp.{region}.amazonaws.com/{pool_id}``) and serves the pool's JWKS
at ``{endpoint}/{pool_id}/.well-known/jwks.json``; the settings map one to the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tenantkit_runtime.auth import AuthSettings, JwksCache, TokenRejected, TokenVerifier
from tenantkit_runtime.functions.auth import Unauthorized, authorize

if TYPE_CHECKING:
    from .conftest import CognitoPool, Events


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _split(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    h, p, s = token.split(".")
    return (
        json.loads(base64.urlsafe_b64decode(h + "==")),
        json.loads(base64.urlsafe_b64decode(p + "==")),
        s,
    )


def _unsigned(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    h = _b64(json.dumps(header).encode())
    p = _b64(json.dumps(payload).encode())
    return f"{h}.{p}.{_b64(signature)}"


class CountingClient(httpx.Client):
    """An httpx client that counts the requests it sends (to the real moto server)."""

    def __init__(self) -> None:
        super().__init__(timeout=5)
        self.urls: list[str] = []

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        self.urls.append(str(request.url))
        return super().send(request, **kwargs)


def _verifier(
    pool: CognitoPool,
    *,
    client: httpx.Client | None = None,
    clock: Any = time.time,
    **overrides: Any,
) -> TokenVerifier:
    values: dict[str, Any] = {
        "issuers": frozenset({pool.pool_id}),  # a bare pool id stands for its issuer URL
        "client_ids": frozenset({pool.client_id}),
        "jwks_urls": {pool.issuer: pool.jwks_url},
    }
    values.update(overrides)
    return TokenVerifier(
        AuthSettings(**values),
        jwks=JwksCache(client=client, penalty_seconds=10),
        clock=clock,
    )


def _refused(verifier: TokenVerifier, token: str, reason: str) -> None:
    with pytest.raises(TokenRejected) as info:
        verifier.verify(token)
    assert info.value.reason == reason, info.value.message


def test_moto_id_and_access_tokens_verify(cognito: CognitoPool) -> None:
    ids = _verifier(cognito)
    verified = ids.verify(cognito.tokens["alice"]["id"])
    assert verified.issuer == cognito.issuer
    assert verified.identity.tenant_id == "acme"
    assert sorted(verified.identity.roles) == ["admin", "member"]
    assert verified.claims["cognito:username"] == "alice"
    assert verified.identity.user_id == verified.claims["sub"]
    assert ids.verify(cognito.tokens["bob"]["id"]).identity.tenant_id == "globex"

    # Cognito access tokens carry no custom attributes: with access tokens the
    # tenant comes from the pool (pool per tenant).
    access = _verifier(
        cognito, token_use=frozenset({"access"}), issuer_tenants={cognito.pool_id: "acme"}
    )
    verified = access.verify(cognito.tokens["alice"]["access"])
    assert verified.token_use == "access"
    assert verified.client_id == cognito.client_id
    assert verified.identity.tenant_id == "acme"


def test_the_jwks_is_fetched_from_moto_once(cognito: CognitoPool) -> None:
    client = CountingClient()
    verifier = _verifier(cognito, client=client)
    for _ in range(5):
        verifier.verify(cognito.tokens["alice"]["id"])
        verifier.verify(cognito.tokens["bob"]["id"])
    assert client.urls == [cognito.jwks_url]


def test_attack_suite_on_moto_tokens(cognito: CognitoPool, cognito_other: CognitoPool) -> None:
    verifier = _verifier(cognito)
    id_token = cognito.tokens["alice"]["id"]
    header, payload, signature = _split(id_token)

    # alg: none, with and without a signature
    none = {**header, "alg": "none"}
    _refused(verifier, _unsigned(none, payload), "malformed")
    _refused(verifier, _unsigned(none, payload, b"sig"), "algorithm")

    # HS256 keyed with the public key (the JWK as served, and its modulus)
    jwk = httpx.get(cognito.jwks_url).json()["keys"][0]
    for secret in (json.dumps(jwk).encode(), base64.urlsafe_b64decode(jwk["n"] + "==")):
        hs = {**header, "alg": "HS256"}
        signing_input = _unsigned(hs, payload).rsplit(".", 1)[0]
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        _refused(verifier, f"{signing_input}.{_b64(mac)}", "algorithm")

    # expired (an hour and more later) and not yet valid (clock an hour behind)
    later = _verifier(cognito, clock=lambda: time.time() + 3700)
    _refused(later, id_token, "expired")
    earlier = _verifier(cognito, clock=lambda: time.time() - 3600)
    _refused(earlier, id_token, "not_yet_valid")

    # another pool's perfectly valid token: its issuer is not trusted
    _refused(verifier, cognito_other.tokens["carol"]["id"], "issuer")

    # a client this API does not serve
    other_client = _verifier(cognito, client_ids=frozenset({"some-other-app-client"}))
    _refused(other_client, id_token, "client")

    # access token where an ID token is expected, and vice versa
    _refused(verifier, cognito.tokens["alice"]["access"], "token_use")
    access_only = _verifier(cognito, token_use=frozenset({"access"}))
    _refused(access_only, id_token, "token_use")

    # tampered payload: another tenant, an extra group
    for change in ({"custom:tenant_id": "globex"}, {"cognito:groups": ["admin", "owner"]}):
        forged = _unsigned(header, {**payload, **change}).rsplit(".", 1)[0]
        _refused(verifier, f"{forged}.{signature}", "signature")


def test_unknown_kid_flood_fetches_moto_once(cognito: CognitoPool) -> None:
    client = CountingClient()
    verifier = _verifier(cognito, client=client)
    verifier.verify(cognito.tokens["alice"]["id"])
    header, payload, signature = _split(cognito.tokens["alice"]["id"])
    for _ in range(100):
        token = _unsigned({**header, "kid": secrets.token_hex(8)}, payload).rsplit(".", 1)[0]
        _refused(verifier, f"{token}.{signature}", "kid")
    assert client.urls == [cognito.jwks_url, cognito.jwks_url]
    verifier.verify(cognito.tokens["bob"]["id"])  # known keys still work, without fetching
    assert len(client.urls) == 2


def test_tenant_a_token_on_tenant_b_resources(cognito: CognitoPool, events: Events) -> None:
    verifier = _verifier(cognito)
    bob = cognito.tokens["bob"]["id"]  # globex
    event = events.http_v2(bob, path_parameters={"tenant_id": "acme"})
    assert authorize(event, verifier)["isAuthorized"] is False
    denied = authorize(events.rest_request(bob, path_parameters={"tenant_id": "acme"}), verifier)
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    denied = authorize(events.websocket_connect(bob, query={"tenant_id": "acme"}), verifier)
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    allowed = authorize(events.http_v2(bob, path_parameters={"tenant_id": "globex"}), verifier)
    assert allowed["context"]["tenant_id"] == "globex"


def test_pool_per_tenant(cognito: CognitoPool, cognito_other: CognitoPool, events: Events) -> None:
    """Each tenant has its own pool: the issuer decides the tenant, a claim may agree."""
    settings = AuthSettings(
        client_ids=frozenset({cognito.client_id, cognito_other.client_id}),
        issuer_tenants={cognito_other.pool_id: "initech"},
        jwks_urls={cognito_other.pool_id: cognito_other.jwks_url},
    )
    verifier = TokenVerifier(settings)
    carol = cognito_other.tokens["carol"]["id"]
    answer = authorize(events.http_v2(carol), verifier)
    assert answer["isAuthorized"] is True
    assert answer["context"]["tenant_id"] == "initech"
    assert answer["context"]["roles"] == "member"
    # The shared pool is not trusted by this deployment.
    with pytest.raises(Unauthorized):
        authorize(events.rest_token(cognito.tokens["alice"]["id"]), verifier)


def test_hostile_parts_around_moto_tokens_are_refusals_not_crashes(
    cognito: CognitoPool, events: Events
) -> None:
    """moto's real header and payload, with deep nesting, a repeated claim, a huge exp
    spliced in: every one is a refusal (401 / isAuthorized false), for each event kind."""
    verifier = _verifier(cognito)
    token = cognito.tokens["alice"]["id"]
    header_b64, payload_b64, signature = token.split(".")
    header, payload, _ = _split(token)
    deep = ("[" * 3_000 + "]" * 3_000).encode()
    raw_payload = json.dumps(payload).encode()
    repeated = raw_payload[:-1] + b', "custom:tenant_id": "globex"}'
    huge_exp = raw_payload.replace(b'"exp":', b'"exp": 1' + b"0" * 400 + b', "x":')
    forged = [
        f"{_b64(deep)}.{payload_b64}.{signature}",
        f"{header_b64}.{_b64(deep)}.{signature}",
        f"{header_b64}.{_b64(repeated)}.{signature}",
        f"{header_b64}.{_b64(huge_exp)}.{signature}",
        _unsigned({**header, "kid": {"nested": json.loads("[" * 500 + "]" * 500)}}, payload),
    ]
    for bad in forged:
        with pytest.raises(TokenRejected):
            verifier.verify(bad)
        assert authorize(events.http_v2(bad), verifier) == {"isAuthorized": False}
        with pytest.raises(Unauthorized):
            authorize(events.websocket_connect(bad), verifier)
