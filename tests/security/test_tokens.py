"""Forged, malformed and foreign tokens against the real authorizer in ``tenantkit serve``.

Each token is sent as the bearer of an HTTP API request (refused: 403 from the
gateway, the function never called) and, where the WebSocket path differs, as the
``token`` of a ``$connect`` (refused: 401). The key-set cases (an outage of the
issuer's JWKS, an unknown key id) run the verifier against a real key server that
can be taken down.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tenantkit.errors import ProviderError
from tenantkit_runtime.auth import JwksCache, TokenRejected, TokenVerifier
from tenantkit_runtime.local.issuer import LOCAL_CLIENT_ID, LOCAL_ISSUER, LocalIssuer
from tests.security._attack import KeyServer, Target, b64url, refused, unsigned


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=="))  # noqa: E731
    return decode(header), decode(payload)


def _http_refused(target: Target, token: str) -> None:
    response = target.http.get("/files", headers={"authorization": f"Bearer {token}"})
    refused(target, response, 403, shape="gateway")


def _ws_refused(target: Target, token: str, status: int = 401) -> None:
    with (
        pytest.raises(InvalidStatus) as info,
        connect(f"{target.websocket_url}?token={token}", open_timeout=10),
    ):
        pass
    assert info.value.response.status_code == status
    text = info.value.response.body.decode(errors="replace") if info.value.response.body else ""
    assert "Traceback" not in text


@pytest.fixture(scope="module")
def attacker_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    as_b64 = lambda n: b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))  # noqa: E731
    return {"kty": "RSA", "n": as_b64(numbers.n), "e": as_b64(numbers.e), "kid": kid,
            "alg": "RS256", "use": "sig"}  # fmt: skip


def _signed_by(key: rsa.RSAPrivateKey, claims: dict[str, Any], header: dict[str, Any]) -> str:
    import jwt

    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return jwt.encode(claims, pem, algorithm="RS256", headers=header)


# --- algorithms and keys ------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "HS256", "HS512", "rs256", "", None, 7])
def test_a_forged_alg_is_refused(target: Target, alg: object) -> None:
    valid = target.token()
    header, payload = _parts(valid)
    signature = valid.rsplit(".", 1)[1]
    _http_refused(target, unsigned(json.dumps({**header, "alg": alg}), json.dumps(payload)))
    # the genuine signature under a relabelled header does not verify either
    forged = unsigned(json.dumps({**header, "alg": alg}), json.dumps(payload), signature)
    _http_refused(target, forged)


def test_hs256_keyed_with_the_servers_public_key_is_refused(target: Target) -> None:
    """Key confusion: the public key (as PEM, as the published JWK, as its modulus) used
    as an HMAC secret."""
    jwks = target.http.get("/.well-known/jwks.json").json()
    jwk = jwks["keys"][0]
    issuer = LocalIssuer(target.serve.key_dir)
    pem = (
        issuer._private_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header, payload = _parts(target.token("globex", "mallory"))
    for secret in (pem, json.dumps(jwk).encode(), base64.urlsafe_b64decode(jwk["n"] + "==")):
        for alg, digest in (("HS256", hashlib.sha256), ("HS512", hashlib.sha512)):
            signing_input = unsigned(json.dumps({**header, "alg": alg}), json.dumps(payload))
            signing_input = signing_input.rsplit(".", 1)[0]
            mac = hmac.new(secret, signing_input.encode(), digest).digest()
            _http_refused(target, f"{signing_input}.{b64url(mac)}")


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    server = KeyServer()
    try:
        yield server
    finally:
        server.close()


def test_jku_x5u_and_jwk_headers_are_never_followed(
    target: Target, attacker_key: rsa.RSAPrivateKey, key_server: KeyServer
) -> None:
    """The attacker signs with its own key and names where to find it; the server looks
    only at its issuer's JWKS and never fetches what a header names."""
    real_kid = LocalIssuer(target.serve.key_dir).kid
    url = key_server.serve("/jwks.json", {"keys": [_jwk(attacker_key, "attacker")]})
    cert_url = key_server.serve("/cert.pem", {"x5c": ["AAAA"]})
    claims = target.claims("globex", "mallory")
    for kid in ("attacker", real_kid):
        for extra in (
            {"jku": url},
            {"x5u": cert_url},
            {"jwk": _jwk(attacker_key, kid)},
            {"jku": url, "jwk": _jwk(attacker_key, kid), "x5u": cert_url},
        ):
            token = _signed_by(attacker_key, claims, {"kid": kid, **extra})
            _http_refused(target, token)
    _ws_refused(target, _signed_by(attacker_key, claims, {"kid": "attacker", "jku": url}))
    assert key_server.total() == 0


@pytest.mark.parametrize(
    "kid",
    [
        "../../../../etc/passwd",
        "' OR '1'='1",
        "",
        "x" * 5000,
        "\u0000",
        123,
        ["a"],
        {"a": 1},
        None,
    ],
)
def test_kid_tricks_are_refused(target: Target, attacker_key: rsa.RSAPrivateKey, kid: Any) -> None:
    claims = target.claims("globex", "mallory")
    header, _ = _parts(target.token())
    _http_refused(target, unsigned(json.dumps({**header, "kid": kid}), json.dumps(claims)))
    if isinstance(kid, str):
        _http_refused(target, _signed_by(attacker_key, claims, {"kid": kid}))


def test_the_real_kid_on_an_attackers_signature_is_refused(
    target: Target, attacker_key: rsa.RSAPrivateKey
) -> None:
    real_kid = LocalIssuer(target.serve.key_dir).kid
    _http_refused(target, _signed_by(attacker_key, target.claims(), {"kid": real_kid}))


# --- claims -------------------------------------------------------------------------------


def _claim_cases(target: Target) -> dict[str, dict[str, Any]]:
    now = int(__import__("time").time())
    return {
        "expired": {"iat": now - 7200, "exp": now - 60},
        "not yet valid": {"nbf": now + 600},
        "issued in the future": {"iat": now + 600},
        "another issuer": {"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_evil"},
        "another audience": {"aud": "someone-elses-app-client"},
        "an access token": {"token_use": "access"},
        "a refresh token": {"token_use": "refresh"},
        "no token_use": {"token_use": None},
        "no subject": {"sub": None},
        "tenant id with a path": {"custom:tenant_id": "../globex"},
        "tenant id not a string": {"custom:tenant_id": ["acme", "globex"]},
        "tenant id upper case": {"custom:tenant_id": "GLOBEX"},
        "tenant id with a newline": {"custom:tenant_id": "acme\nglobex"},
        "the reserved namespace": {"custom:tenant_id": "_tenantkit"},
        "exp as text": {"exp": "tomorrow"},
        "exp with 400 digits": {"exp": 10**400},
        "roles not names": {"cognito:groups": {"admin": True}},
    }


def test_tokens_with_bad_claims_are_refused(target: Target) -> None:
    for name, change in _claim_cases(target).items():
        claims = {k: v for k, v in target.claims(**change).items() if v is not None}
        token = target.sign(claims)
        response = target.http.get("/files", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 403, name
        refused(target, response, 403, shape="gateway")


def test_an_exp_with_400_digits_is_a_refusal_not_a_crash(target: Target) -> None:
    """Only a trusted issuer could sign it; it still must not crash the authorizer."""
    _http_refused(target, target.sign(target.claims(exp=10**400)))
    raw = json.dumps(target.claims()).replace('"exp":', '"exp":1e400,"x":').encode()
    _http_refused(target, target.sign_raw(raw))
    _ws_refused(target, target.sign(target.claims(exp=10**400)))


def test_a_token_that_repeats_a_claim_is_refused(target: Target) -> None:
    """Two ``custom:tenant_id`` claims: a reader taking the last one would let acme's
    user in as globex. The token is refused, even signed by the trusted issuer."""
    claims = target.claims("acme", "alice")
    body = json.dumps(claims)[:-1] + ', "custom:tenant_id": "globex"}'
    token = target.sign_raw(body.encode())
    response = target.http.get("/config", headers={"authorization": f"Bearer {token}"})
    refused(target, response, 403, shape="gateway")
    _ws_refused(target, token)
    # a repeated header parameter too
    header, payload, signature = target.token().split(".")
    decoded = base64.urlsafe_b64decode(header + "==").decode()
    twice = decoded[:-1] + ', "alg": "none"}'
    _http_refused(target, f"{b64url(twice)}.{payload}.{signature}")


# --- nesting and sizes --------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100, 1_500, 3_000])
def test_a_deeply_nested_header_or_payload_is_a_refusal_not_a_crash(
    target: Target, depth: int
) -> None:
    valid = target.token()
    header, payload, _ = valid.split(".")
    nested = "[" * depth + "]" * depth
    nested_object = '{"a":' * depth + "1" + "}" * depth
    for token in (
        f"{b64url(nested)}.{payload}.c2ln",
        f"{header}.{b64url(nested)}.c2ln",
        f"{header}.{b64url(nested_object)}.c2ln",
        unsigned(json.dumps({"alg": "RS256", "kid": nested}), json.dumps({"iss": nested})),
    ):
        if len(token) <= 16_384:
            _http_refused(target, token)
        if len(token) < 7_000:  # the WebSocket handshake's request line stays under 8 KiB
            _ws_refused(target, token)


def test_oversized_and_malformed_tokens_are_refused(target: Target) -> None:
    valid = target.token()
    for token in (
        "x" * 20_000,
        valid + "." + valid,
        valid.replace(".", "..", 1),
        valid[:-10],
        "Bearer",
        "é" + valid,
        unsigned(b"\xff\xfe\xfd", b"{}"),
        unsigned(b'"a string"', b"{}"),
        unsigned(b"{}", b"[1, 2]"),
        unsigned(b'{"alg": NaN}', b"{}"),
    ):
        value = f"Bearer {token}".encode()  # sent as UTF-8 bytes when not ASCII
        response = target.http.get("/files", headers={"authorization": value})
        refused(target, response, (400, 401, 403), shape="gateway")


# --- the issuer's key set: an outage is not an unknown key --------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_jwks_outage_keeps_cached_keys_working_and_is_not_an_unknown_kid(
    tmp_path: Any, key_server: KeyServer
) -> None:
    issuer = LocalIssuer(tmp_path / "issuer")
    rotated = LocalIssuer(tmp_path / "rotated")  # the pool's next key, same issuer
    url = key_server.serve("/pool/jwks.json", issuer.jwks())
    clock = _Clock()
    verifier = TokenVerifier(
        issuer.auth_settings(url), jwks=JwksCache(penalty_seconds=10, monotonic=clock)
    )
    token = issuer.issue(tenant="acme", user="alice")
    assert verifier.verify(token).identity.tenant_id == "acme"  # keys now cached

    key_server.down = True
    new_key_token = rotated.issue(tenant="acme", user="alice")
    with pytest.raises(ProviderError) as failed:  # the fetch for the new kid fails
        verifier.verify(new_key_token)
    assert failed.value.retryable
    # while the issuer is down: the cached key still verifies, the new one is "try
    # again" (retryable), not a forged token
    assert verifier.verify(token).identity.user_id == "alice"
    with pytest.raises(ProviderError) as again:
        verifier.verify(new_key_token)
    assert again.value.retryable
    assert not isinstance(again.value, TokenRejected)
    fetches = key_server.count("/pool/jwks.json")
    assert fetches == 2  # the outage is not hammered: one failed fetch so far

    key_server.down = False
    key_server.serve("/pool/jwks.json", {"keys": issuer.jwks()["keys"] + rotated.jwks()["keys"]})
    clock.now += 2  # past the retry window, inside what would be the penalty window
    assert verifier.verify(new_key_token).identity.user_id == "alice"

    # an unknown kid with the issuer up is a forged token, and the penalty box holds
    forged = issuer.sign(_parts(token)[1], headers={"kid": "made-up"})
    with pytest.raises(TokenRejected) as unknown:
        verifier.verify(forged)
    assert unknown.value.reason == "kid"
    before = key_server.count("/pool/jwks.json")
    for _ in range(20):
        with pytest.raises(TokenRejected):
            verifier.verify(forged)
    assert key_server.count("/pool/jwks.json") == before


def test_a_token_from_another_pool_is_refused(target: Target, tmp_path: Any) -> None:
    """An outsider with a valid token of another user pool: another key under the same
    issuer name, or another issuer."""
    stranger = LocalIssuer(tmp_path / "stranger")
    _http_refused(target, stranger.issue(tenant="acme", user="eve", roles=["admin"]))
    other = LocalIssuer(tmp_path / "other", issuer=LOCAL_ISSUER + "-other")
    _http_refused(target, other.issue(tenant="acme", user="eve", roles=["admin"]))
    app = LocalIssuer(target.serve.key_dir, client_id=LOCAL_CLIENT_ID + "-other")
    _http_refused(target, app.issue(tenant="acme", user="eve", roles=["admin"]))


def test_a_refused_websocket_connect_is_logged_as_a_refusal_not_an_error(
    target: Target,
) -> None:
    start = target.log_offset()
    _ws_refused(target, "not-a-token")
    _ws_refused(target, target.sign(target.claims(exp=1)))
    _ws_refused(target, target.token("acme") + "&tenant_id=globex", 403)

    def refusals() -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in target.serve.logs[start:].splitlines() if line]
        return [line for line in lines if "refused" in line["message"]]

    from tests.security._attack import wait_for

    logged = wait_for(lambda: len(refusals()) >= 3 and refusals())
    assert logged
    assert {line["level"] for line in logged} <= {"INFO", "WARNING"}
    # the ERROR check of every test (conftest) covers the rest of the log
