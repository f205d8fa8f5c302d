"""The token verifier against locally issued tokens and hand-made attacks, with the
issuer's keys served by a real HTTP server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tenantkit.errors import ConnectionFailed, ProviderUnavailable
from tenantkit_runtime.auth import (
    JwksCache,
    TokenRejected,
    TokenVerifier,
    bearer_token,
)
from tenantkit_runtime.local.issuer import LocalIssuer

if TYPE_CHECKING:
    from .conftest import JwksServer

JWKS_PATH = "/local/.well-known/jwks.json"


class Clock:
    """A monotonic clock the tests move forward."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _part(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value).encode())


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def _header(token: str) -> dict[str, Any]:
    return dict(jwt.get_unverified_header(token))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def verifier(local_issuer: LocalIssuer, jwks_server: JwksServer, clock: Clock) -> TokenVerifier:
    url = jwks_server.serve(JWKS_PATH, local_issuer.jwks())
    settings = local_issuer.auth_settings(url)
    return TokenVerifier(settings, jwks=JwksCache(penalty_seconds=10, monotonic=clock))


def _rejected(verifier: TokenVerifier, token: object, reason: str) -> TokenRejected:
    with pytest.raises(TokenRejected) as info:
        verifier.verify(token)
    assert info.value.reason == reason, info.value.message
    if isinstance(token, str):
        shown = str(info.value) + repr(info.value)
        assert all(part not in shown for part in token.split(".") if len(part) >= 16)
    return info.value


# --- what passes ------------------------------------------------------------------------


def test_a_local_id_token_verifies(local_issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    token = local_issuer.issue(tenant="acme", user="alice", roles=["admin", "member"])
    verified = verifier.verify(token)
    assert verified.identity.tenant_id == "acme"
    assert verified.identity.user_id == "alice"
    assert verified.identity.roles == ("admin", "member")
    assert verified.token_use == "id"
    assert verified.client_id == local_issuer.client_id
    assert verified.issuer == local_issuer.issuer
    assert verified.identity.to_context() == {
        "tenant_id": "acme",
        "user_id": "alice",
        "roles": "admin,member",
    }


def test_keys_are_fetched_once_and_cached(
    local_issuer: LocalIssuer, verifier: TokenVerifier, jwks_server: JwksServer
) -> None:
    for user in ("alice", "bob", "carol"):
        verifier.verify(local_issuer.issue(tenant="acme", user=user))
    assert jwks_server.count(JWKS_PATH) == 1


def test_an_access_token_verifies_when_access_tokens_are_expected(
    local_issuer: LocalIssuer, jwks_server: JwksServer
) -> None:
    url = jwks_server.serve(JWKS_PATH, local_issuer.jwks())
    verifier = TokenVerifier(local_issuer.auth_settings(url, token_use=frozenset({"access"})))
    verified = verifier.verify(local_issuer.issue(tenant="acme", user="alice", token_use="access"))
    assert verified.token_use == "access"
    assert verified.identity.tenant_id == "acme"


def test_roles_from_a_configured_claim_as_a_string(
    local_issuer: LocalIssuer, jwks_server: JwksServer
) -> None:
    url = jwks_server.serve(JWKS_PATH, local_issuer.jwks())
    verifier = TokenVerifier(local_issuer.auth_settings(url, role_claim="custom:roles"))
    token = local_issuer.issue(
        tenant="acme", user="alice", extra_claims={"custom:roles": "editor, viewer editor"}
    )
    assert verifier.verify(token).identity.roles == ("editor", "viewer")


def test_a_group_name_with_a_comma_is_left_out(
    local_issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    token = local_issuer.issue(tenant="acme", user="alice", roles=["admin,owner", "member"])
    assert verifier.verify(token).identity.roles == ("member",)


def test_pool_per_tenant_takes_the_tenant_from_the_issuer(
    local_issuer: LocalIssuer, jwks_server: JwksServer
) -> None:
    url = jwks_server.serve(JWKS_PATH, local_issuer.jwks())
    settings = local_issuer.auth_settings(url, issuer_tenants={local_issuer.issuer: "initech"})
    verifier = TokenVerifier(settings)
    token = local_issuer.sign(
        {
            **_claims(local_issuer.issue(tenant="acme", user="alice")),
            "custom:tenant_id": None,
        }
    )
    assert verifier.verify(token).identity.tenant_id == "initech"
    matching = local_issuer.issue(tenant="initech", user="alice")
    assert verifier.verify(matching).identity.tenant_id == "initech"
    contradicting = local_issuer.issue(tenant="acme", user="alice")
    _rejected(verifier, contradicting, "tenant")


def test_bearer_token_reads_authorization_values() -> None:
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("bearer   abc.def.ghi ") == "abc.def.ghi"
    assert bearer_token("abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("Bearer ") is None
    assert bearer_token("") is None
    assert bearer_token(None) is None


# --- the attack suite -------------------------------------------------------------------


def test_alg_none_is_refused(local_issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    claims = _claims(local_issuer.issue(tenant="acme", user="alice"))
    header = {"alg": "none", "kid": local_issuer.kid, "typ": "JWT"}
    unsigned = f"{_part(header)}.{_part(claims)}."
    _rejected(verifier, unsigned, "malformed")  # an empty signature is not a JWS
    with_junk = f"{_part(header)}.{_part(claims)}.{_b64(b'x' * 32)}"
    _rejected(verifier, with_junk, "algorithm")
    for spelling in ("None", "NONE", "nOnE"):
        header = {"alg": spelling, "kid": local_issuer.kid}
        _rejected(verifier, f"{_part(header)}.{_part(claims)}.{_b64(b'x')}", "algorithm")


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_signed_with_the_public_key_is_refused(
    local_issuer: LocalIssuer, verifier: TokenVerifier, alg: str
) -> None:
    claims = _claims(local_issuer.issue(tenant="acme", user="alice"))
    public = local_issuer._private_key().public_key()  # what an attacker can download
    secrets_tried = [
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        json.dumps(local_issuer.jwks()["keys"][0]).encode(),
        base64.urlsafe_b64decode(local_issuer.jwks()["keys"][0]["n"] + "=="),
    ]
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    for secret in secrets_tried:
        header = {"alg": alg, "kid": local_issuer.kid, "typ": "JWT"}
        signing_input = f"{_part(header)}.{_part(claims)}"
        signature = hmac.new(secret, signing_input.encode(), digest).digest()
        _rejected(verifier, f"{signing_input}.{_b64(signature)}", "algorithm")


def test_expired_is_refused_and_leeway_applies(
    local_issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    now = int(time.time())
    base = _claims(local_issuer.issue(tenant="acme", user="alice"))
    expired = local_issuer.sign({**base, "iat": now - 7200, "exp": now - 60})
    error = _rejected(verifier, expired, "expired")
    assert "expired at" in error.message
    within_leeway = local_issuer.sign({**base, "exp": now - 2})  # leeway is 5 s
    assert verifier.verify(within_leeway).identity.user_id == "alice"
    without_exp = {k: v for k, v in base.items() if k != "exp"}
    _rejected(verifier, local_issuer.sign(without_exp), "claims")
    for bad in ("soon", True, 10**400):
        _rejected(verifier, local_issuer.sign({**base, "exp": bad}), "claims")
    for not_json in (float("inf"), float("nan")):  # Infinity and NaN are not JSON
        _rejected(verifier, local_issuer.sign({**base, "exp": not_json}), "malformed")


def test_not_yet_valid_is_refused(local_issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    now = int(time.time())
    base = _claims(local_issuer.issue(tenant="acme", user="alice"))
    _rejected(verifier, local_issuer.sign({**base, "nbf": now + 600}), "not_yet_valid")
    _rejected(verifier, local_issuer.sign({**base, "iat": now + 600}), "not_yet_valid")
    assert verifier.verify(local_issuer.sign({**base, "nbf": now + 2})).identity.user_id


def test_wrong_issuer_is_refused_without_fetching(
    local_issuer: LocalIssuer, verifier: TokenVerifier, jwks_server: JwksServer
) -> None:
    base = _claims(local_issuer.issue(tenant="acme", user="alice"))
    for iss in ("https://evil.example/pool", local_issuer.issuer + "/", None, 42):
        claims = (
            {**base, "iss": iss}
            if iss is not None
            else {k: v for k, v in base.items() if k != "iss"}
        )
        _rejected(verifier, local_issuer.sign(claims), "issuer")
    assert jwks_server.count(JWKS_PATH) == 0


def test_wrong_client_is_refused(local_issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    base = _claims(local_issuer.issue(tenant="acme", user="alice"))
    _rejected(verifier, local_issuer.sign({**base, "aud": "another-app"}), "client")
    _rejected(verifier, local_issuer.sign({**base, "aud": [local_issuer.client_id]}), "client")
    no_aud = {k: v for k, v in base.items() if k != "aud"}
    _rejected(
        verifier, local_issuer.sign({**no_aud, "client_id": local_issuer.client_id}), "client"
    )


def test_access_token_where_id_expected_and_vice_versa(
    local_issuer: LocalIssuer, verifier: TokenVerifier, jwks_server: JwksServer
) -> None:
    access = local_issuer.issue(tenant="acme", user="alice", token_use="access")
    error = _rejected(verifier, access, "token_use")
    assert "access token was given where an id token is expected" in error.message
    url = jwks_server.serve(JWKS_PATH, local_issuer.jwks())
    access_only = TokenVerifier(local_issuer.auth_settings(url, token_use=frozenset({"access"})))
    _rejected(access_only, local_issuer.issue(tenant="acme", user="alice"), "token_use")
    base = _claims(access)
    for use in ("refresh", None, ["id"]):
        _rejected(verifier, local_issuer.sign({**base, "token_use": use}), "token_use")


def test_tampered_payload_is_refused(local_issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    token = local_issuer.issue(tenant="acme", user="alice", roles=["member"])
    header_b64, _, signature_b64 = token.split(".")
    for change in ({"custom:tenant_id": "globex"}, {"cognito:groups": ["admin"]}, {"sub": "root"}):
        forged = {**_claims(token), **change}
        _rejected(verifier, f"{header_b64}.{_part(forged)}.{signature_b64}", "signature")
    flipped = signature_b64[:-2] + ("A" if signature_b64[-2] != "A" else "B") + signature_b64[-1]
    _rejected(verifier, f"{header_b64}.{token.split('.')[1]}.{flipped}", "signature")


def test_signed_by_another_key_under_the_issuers_kid_is_refused(
    local_issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = _claims(local_issuer.issue(tenant="acme", user="alice"))
    forged = jwt.encode(claims, attacker, algorithm="RS256", headers={"kid": local_issuer.kid})
    _rejected(verifier, forged, "signature")


def test_header_alg_must_match_the_key(local_issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    claims = _claims(local_issuer.issue(tenant="acme", user="alice"))
    key = local_issuer._private_key()
    # The key says RS256: a PS256 signature by the very same key is still refused.
    ps = jwt.encode(claims, key, algorithm="PS256", headers={"kid": local_issuer.kid})
    _rejected(verifier, ps, "algorithm")
    # An ES256 header cannot be verified with an RSA key.
    header = {"alg": "ES256", "kid": local_issuer.kid}
    _rejected(verifier, f"{_part(header)}.{_part(claims)}.{_b64(b'x' * 64)}", "key")


def test_ec_and_eddsa_keys_verify_and_refuse_mixups(
    local_issuer: LocalIssuer, jwks_server: JwksServer
) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    ec_jwk = {
        **json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key())),
        "kid": "ec1",
        "use": "sig",
    }
    ed_jwk = {**json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(ed_key.public_key())), "kid": "ed1"}
    url = jwks_server.serve(JWKS_PATH, {"keys": [ec_jwk, ed_jwk, *local_issuer.jwks()["keys"]]})
    verifier = TokenVerifier(local_issuer.auth_settings(url))
    claims = _claims(local_issuer.issue(tenant="acme", user="alice"))
    es = jwt.encode(claims, ec_key, algorithm="ES256", headers={"kid": "ec1"})
    ed = jwt.encode(claims, ed_key, algorithm="EdDSA", headers={"kid": "ed1"})
    assert verifier.verify(es).identity.tenant_id == "acme"
    assert verifier.verify(ed).identity.tenant_id == "acme"
    # The P-256 key cannot vouch for ES384, nor the EC key for EdDSA.
    p384 = ec.generate_private_key(ec.SECP384R1())
    _rejected(verifier, jwt.encode(claims, p384, algorithm="ES384", headers={"kid": "ec1"}), "key")
    _rejected(
        verifier, jwt.encode(claims, ed_key, algorithm="EdDSA", headers={"kid": "ec1"}), "key"
    )


@pytest.mark.filterwarnings("ignore:The RSA key is 1024 bits long")
def test_weak_and_encryption_keys_are_refused(
    local_issuer: LocalIssuer, jwks_server: JwksServer
) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the weak key under test
    weak_jwk = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(weak.public_key())), "kid": "weak"}
    enc_jwk = {**local_issuer.jwks()["keys"][0], "kid": "enc", "use": "enc"}
    url = jwks_server.serve(JWKS_PATH, {"keys": [weak_jwk, enc_jwk]})
    verifier = TokenVerifier(local_issuer.auth_settings(url))
    claims = _claims(local_issuer.issue(tenant="acme", user="alice"))
    _rejected(verifier, jwt.encode(claims, weak, algorithm="RS256", headers={"kid": "weak"}), "key")
    enc = local_issuer.sign(claims, headers={"kid": "enc"})
    _rejected(verifier, enc, "key")


def test_unknown_kid_flood_costs_one_fetch_per_penalty_window(
    local_issuer: LocalIssuer, verifier: TokenVerifier, jwks_server: JwksServer, clock: Clock
) -> None:
    verifier.verify(local_issuer.issue(tenant="acme", user="alice"))
    assert jwks_server.count(JWKS_PATH) == 1
    claims = _claims(local_issuer.issue(tenant="acme", user="alice"))
    for _ in range(200):
        token = local_issuer.sign(claims, headers={"kid": secrets.token_urlsafe(12)})
        _rejected(verifier, token, "kid")
    assert jwks_server.count(JWKS_PATH) == 2  # the first unknown kid refetched, once
    # Known keys keep working inside the window, without fetches.
    verifier.verify(local_issuer.issue(tenant="acme", user="bob"))
    assert jwks_server.count(JWKS_PATH) == 2
    clock.now += 10.5  # the window is over: one more fetch, then the box closes again
    for _ in range(50):
        _rejected(verifier, local_issuer.sign(claims, headers={"kid": secrets.token_hex(8)}), "kid")
    assert jwks_server.count(JWKS_PATH) == 3


def test_a_rotated_key_is_picked_up_by_one_refetch(
    local_issuer: LocalIssuer, verifier: TokenVerifier, jwks_server: JwksServer
) -> None:
    verifier.verify(local_issuer.issue(tenant="acme", user="alice"))
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new_jwk = {
        **json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(new_key.public_key())),
        "kid": "k2",
        "alg": "RS256",
    }
    jwks_server.serve(JWKS_PATH, {"keys": [*local_issuer.jwks()["keys"], new_jwk]})
    claims = _claims(local_issuer.issue(tenant="acme", user="alice"))
    rotated = jwt.encode(claims, new_key, algorithm="RS256", headers={"kid": "k2"})
    assert verifier.verify(rotated).identity.user_id == "alice"
    assert verifier.verify(rotated).identity.user_id == "alice"
    assert jwks_server.count(JWKS_PATH) == 2


def test_an_unreachable_jwks_is_a_retryable_error_and_is_not_hammered(
    local_issuer: LocalIssuer, jwks_server: JwksServer, clock: Clock
) -> None:
    missing = jwks_server.base_url + "/missing/jwks.json"
    verifier = TokenVerifier(
        local_issuer.auth_settings(missing),
        jwks=JwksCache(penalty_seconds=10, monotonic=clock),
    )
    token = local_issuer.issue(tenant="acme", user="alice")
    with pytest.raises(ProviderUnavailable) as info:  # 404 from the JWKS server: an outage
        verifier.verify(token)
    assert info.value.provider == "jwks"
    assert info.value.status == 404
    assert token not in str(info.value)
    # An outage is not an unknown key: the token is not refused as forged, the caller
    # gets a retryable error, and the endpoint is not fetched again at once.
    with pytest.raises(ProviderUnavailable) as outage:
        verifier.verify(token)
    assert outage.value.retryable
    assert outage.value.retry_after is not None
    assert jwks_server.count("/missing/jwks.json") == 1
    clock.now += 1.5  # past the retry window (1 s), well inside the penalty window
    jwks_server.serve("/missing/jwks.json", local_issuer.jwks())  # the issuer is back
    assert verifier.verify(token).identity.user_id == "alice"
    assert jwks_server.count("/missing/jwks.json") == 2

    closed = TokenVerifier(local_issuer.auth_settings("http://127.0.0.1:9/jwks.json"))
    with pytest.raises(ConnectionFailed) as refused:
        closed.verify(token)
    assert refused.value.retryable


def test_not_a_jwks_is_reported(local_issuer: LocalIssuer, jwks_server: JwksServer) -> None:
    url = jwks_server.serve(JWKS_PATH, {"keys": [{"kid": "x"}]})
    verifier = TokenVerifier(local_issuer.auth_settings(url))
    with pytest.raises(ProviderUnavailable, match="not a JWK"):
        verifier.verify(local_issuer.issue(tenant="acme", user="alice"))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "a b.c.d",
        "é.b.c",
        "x" * 20_000 + ".a.b",
        None,
        12,
    ],
)
def test_malformed_tokens_are_refused(verifier: TokenVerifier, token: object) -> None:
    with pytest.raises(TokenRejected) as info:
        verifier.verify(token)
    assert info.value.reason in ("missing", "malformed")


def test_non_json_and_non_object_parts_are_refused(
    local_issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    good = local_issuer.issue(tenant="acme", user="alice")
    h, p, s = good.split(".")
    _rejected(verifier, f"{_b64(b'not json')}.{p}.{s}", "malformed")
    _rejected(verifier, f"{h}.{_b64(b'[1, 2]')}.{s}", "malformed")
    _rejected(
        verifier,
        f"{_part({'alg': 'RS256', 'kid': local_issuer.kid, 'crit': ['b64']})}.{p}.{s}",
        "malformed",
    )
    _rejected(verifier, f"{_part({'alg': 'RS256'})}.{p}.{s}", "kid")


def test_the_tenant_claim_is_required_and_checked(
    local_issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    base = _claims(local_issuer.issue(tenant="acme", user="alice"))
    no_tenant = {k: v for k, v in base.items() if k != "custom:tenant_id"}
    _rejected(verifier, local_issuer.sign(no_tenant), "tenant")
    for bad in ("ACME", "acme/../globex", "a" * 64, "", 7):
        _rejected(verifier, local_issuer.sign({**base, "custom:tenant_id": bad}), "tenant")
    no_sub = {k: v for k, v in base.items() if k != "sub"}
    _rejected(verifier, local_issuer.sign(no_sub), "claims")


def test_refusals_never_log_or_echo_the_token(
    local_issuer: LocalIssuer, verifier: TokenVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    now = int(time.time())
    claims = _claims(local_issuer.issue(tenant="acme", user="alice"))
    tokens = [
        local_issuer.sign({**claims, "exp": now - 3600}),
        local_issuer.sign({**claims, "aud": "x"}),
        local_issuer.sign(claims, headers={"kid": "nope"}),
    ]
    messages = []
    for token in tokens:
        with pytest.raises(TokenRejected) as info:
            verifier.verify(token)
        messages.append(str(info.value) + repr(info.value))
    text = caplog.text + "".join(messages)
    for token in tokens:
        for part in token.split("."):
            assert part not in text


def test_refusal_messages_stay_short_whatever_the_token_says(
    local_issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    base = _claims(local_issuer.issue(tenant="acme", user="alice"))
    huge = "https://" + "x" * 5000
    error = _rejected(verifier, local_issuer.sign({**base, "iss": huge}), "issuer")
    assert len(error.message) < 120
    error = _rejected(verifier, local_issuer.sign(base, headers={"kid": "k" * 5000}), "kid")
    assert len(error.message) < 120
