"""Verifying Cognito JWTs the way aws-jwt-verify does.

The checks, in order (https://github.com/awslabs/aws-jwt-verify, ``src/jwt.ts``,
``src/jwt-verifier.ts``, ``src/cognito-verifier.ts``):

1. the token is a compact JWS: three base64url parts, a JSON object header and
   payload, at most :data:`MAX_TOKEN_LENGTH` characters; no ``crit`` header; the
   JSON is read by :func:`tenantkit.untrusted.loads` (bounded nesting, and a claim
   or header named twice refuses the token, as RFC 7519 section 4 allows);
2. the header's ``alg`` is an asymmetric signature algorithm (RS256/384/512,
   PS256/384/512, ES256/384/512, EdDSA): ``none`` and the HMAC algorithms are refused,
   so a token "signed" with the public key as an HMAC secret gets nowhere;
3. ``iss`` is a trusted issuer, checked *before* any key is fetched;
4. the header's ``kid`` names a key in that issuer's JWKS (:class:`JwksCache`:
   cached, refetched on an unknown id at most once per penalty window);
5. the key fits the algorithm: ``use`` is ``sig`` when given, ``kty`` (and ``crv``)
   match the algorithm family, the key's own ``alg`` equals the header's when given,
   RSA keys have at least 2048 bits;
6. the signature verifies (PyJWT's algorithm implementations, on ``cryptography``);
7. ``exp`` is present and not past, ``nbf`` and ``iat`` are not in the future, each
   with the configured leeway;
8. ``token_use`` is ``id`` or ``access`` and one the settings accept; an ID token's
   ``aud`` or an access token's ``client_id`` is an allowed app client;
9. ``sub`` is present; the tenant comes from the issuer (pool per tenant) or the
   tenant claim (one pool), and is a valid tenant id; roles come from the role claim.
   A token of the one pool without a tenant claim is the platform operator's when its
   roles hold ``operator`` (its identity has no tenant: only the ``/operator/*``
   routes take it, see :mod:`tenantkit_runtime.functions.auth`); refused otherwise.

Any failure raises :class:`TokenRejected`; its message never contains the token.
PyJWT and ``cryptography`` are imported on the first verification, not on import.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenantkit import untrusted
from tenantkit.errors import InvalidRequest
from tenantkit.identifiers import is_tenant_id
from tenantkit_runtime.auth.errors import TokenRejected, shown
from tenantkit_runtime.auth.identity import Identity
from tenantkit_runtime.auth.jwks import Jwk, JwksCache
from tenantkit_runtime.auth.settings import AuthSettings, TokenUse
from tenantkit_runtime.limits import MAX_TOKEN_LENGTH
from tenantkit_runtime.roles import OPERATOR

if TYPE_CHECKING:
    from jwt import PyJWK

__all__ = ["ALGORITHMS", "MAX_TOKEN_LENGTH", "TokenVerifier", "VerifiedToken", "bearer_token"]

#: Accepted signature algorithms → the key type (and curve) each needs.
ALGORITHMS: Mapping[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", "Ed25519"),
}
_MIN_RSA_BITS = 2048
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_CLIENT_CLAIM = {"id": "aud", "access": "client_id"}  # aws-jwt-verify's rule
_BEARER = re.compile(r"bearer(?:\s+|$)", re.IGNORECASE)


@dataclass(frozen=True)
class VerifiedToken:
    """A token that passed every check, and what it says."""

    identity: Identity
    issuer: str
    token_use: TokenUse
    client_id: str
    expires_at: float
    claims: Mapping[str, Any]


class TokenVerifier:
    """Verifies tokens against :class:`AuthSettings`. Thread-safe; keep one per process.

    Args:
        settings: what to trust.
        jwks: the key cache (one is made from the settings otherwise).
        clock: seconds since the epoch (tests pass a fixed clock).
    """

    def __init__(
        self,
        settings: AuthSettings,
        *,
        jwks: JwksCache | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.jwks = jwks or JwksCache(
            penalty_seconds=settings.penalty_seconds, timeout=settings.jwks_timeout
        )
        self._clock = clock
        self._keys: dict[tuple[str, str, str], tuple[Jwk, PyJWK]] = {}
        self._keys_lock = threading.Lock()

    def verify(self, token: object) -> VerifiedToken:
        """Check ``token`` and return what it proves.

        Raises:
            TokenRejected: the token is not acceptable (``reason`` says why).
            tenantkit.errors.ProviderError: the issuer's JWKS could not be fetched.
        """
        if not isinstance(token, str) or not token:
            raise TokenRejected("no token", reason="missing")
        if len(token) > MAX_TOKEN_LENGTH or not _COMPACT_JWS.fullmatch(token):
            raise TokenRejected(
                "the token is not a JWT (three base64url parts separated by dots)",
                reason="malformed",
            )
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = _json_part(header_b64, "header")
        payload = _json_part(payload_b64, "payload")

        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALGORITHMS:
            raise TokenRejected(
                f"signature algorithm {shown(alg)} is not accepted "
                f"(accepted: {', '.join(ALGORITHMS)})",
                reason="algorithm",
            )
        if "crit" in header:
            raise TokenRejected("the token has critical header extensions", reason="malformed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("the token header has no key id (kid)", reason="kid")
        issuer = payload.get("iss")
        if not isinstance(issuer, str) or issuer not in self.settings.issuers:
            raise TokenRejected(f"issuer {shown(issuer)} is not trusted", reason="issuer")

        url = self.settings.jwks_url(issuer)
        key = self._key(url, kid, alg, self.jwks.get(url, kid))
        signature = _b64decode(signature_b64, "signature")
        signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
        if not key.Algorithm.verify(signing_input, key.key, signature):
            raise TokenRejected("the signature does not verify", reason="signature")
        return self._claims(payload, issuer)

    def _key(self, url: str, kid: str, alg: str, jwk: Jwk) -> PyJWK:
        cached = self._keys.get((url, kid, alg))
        if cached is not None and cached[0] is jwk:
            return cached[1]
        kty, crv = ALGORITHMS[alg]
        if jwk.get("use", "sig") != "sig":
            raise TokenRejected(f"key {shown(kid)} is not a signing key", reason="key")
        if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
            family = " ".join(str(v) for v in (jwk.get("kty"), jwk.get("crv")) if v)
            raise TokenRejected(
                f"key {shown(kid)} ({family}) cannot verify {alg} signatures", reason="key"
            )
        if "alg" in jwk and jwk["alg"] != alg:
            raise TokenRejected(
                f"key {shown(kid)} is for {jwk['alg']}, the token says {alg}", reason="algorithm"
            )
        import jwt

        try:
            key = jwt.PyJWK(dict(jwk), algorithm=alg)
        except jwt.PyJWTError as exc:
            raise TokenRejected(
                f"key {shown(kid)} is not a usable {kty} key ({type(exc).__name__})", reason="key"
            ) from None
        if kty == "RSA" and key.key.key_size < _MIN_RSA_BITS:
            raise TokenRejected(
                f"key {shown(kid)} has {key.key.key_size} bits; "
                f"at least {_MIN_RSA_BITS} are needed",
                reason="key",
            )
        with self._keys_lock:
            self._keys[(url, kid, alg)] = (jwk, key)
        return key

    def _claims(self, payload: Mapping[str, Any], issuer: str) -> VerifiedToken:
        now = self._clock()
        leeway = self.settings.leeway
        exp = _number(payload, "exp", required=True)
        assert exp is not None
        if exp + leeway < now:
            raise TokenRejected(f"the token expired at {_utc(exp)}", reason="expired")
        nbf = _number(payload, "nbf")
        if nbf is not None and nbf - leeway > now:
            raise TokenRejected(
                f"the token is not valid before {_utc(nbf)}", reason="not_yet_valid"
            )
        iat = _number(payload, "iat")
        if iat is not None and iat - leeway > now:
            raise TokenRejected(
                f"the token is issued in the future ({_utc(iat)})", reason="not_yet_valid"
            )

        token_use = payload.get("token_use")
        if token_use not in ("id", "access"):
            raise TokenRejected(
                f"token_use {shown(token_use)} is neither 'id' nor 'access'", reason="token_use"
            )
        if token_use not in self.settings.token_use:
            expected = " or ".join(sorted(self.settings.token_use))
            raise TokenRejected(
                f"an {token_use} token was given where an {expected} token is expected",
                reason="token_use",
            )
        client_claim = _CLIENT_CLAIM[token_use]
        client_id = payload.get(client_claim)
        if not isinstance(client_id, str) or client_id not in self.settings.client_ids:
            raise TokenRejected(
                f"{client_claim} {shown(client_id)} is not an allowed app client", reason="client"
            )

        sub = payload.get("sub")
        if not isinstance(sub, str) or not sub:
            raise TokenRejected("the token has no subject (sub)", reason="claims")
        roles = self._roles(payload)
        identity = Identity(
            tenant_id=self._tenant(payload, issuer, roles), user_id=sub, roles=roles
        )
        return VerifiedToken(
            identity=identity,
            issuer=issuer,
            token_use=token_use,
            client_id=client_id,
            expires_at=exp,
            claims=payload,
        )

    def _tenant(
        self, payload: Mapping[str, Any], issuer: str, roles: tuple[str, ...]
    ) -> str | None:
        claim = self.settings.tenant_claim
        claimed = payload.get(claim)
        mapped = self.settings.issuer_tenants.get(issuer)
        if mapped is not None:
            if claimed is not None and claimed != mapped:
                raise TokenRejected(
                    f"{claim} {shown(claimed)} contradicts the issuer's tenant", reason="tenant"
                )
            return mapped
        if claimed is None:
            if OPERATOR in roles:
                return None  # the platform operator belongs to no tenant
            raise TokenRejected(f"the token has no {claim} claim", reason="tenant")
        if not is_tenant_id(claimed):
            raise TokenRejected(
                f"{claim} {shown(claimed)} is not a valid tenant id", reason="tenant"
            )
        return str(claimed)

    def _roles(self, payload: Mapping[str, Any]) -> tuple[str, ...]:
        value = payload.get(self.settings.role_claim)
        if value is None:
            return ()
        if isinstance(value, str):
            names = re.split(r"[\s,]+", value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            # A group name with a comma cannot travel in the comma-joined context.
            names = [v for v in value if "," not in v]
        else:
            raise TokenRejected(
                f"{self.settings.role_claim} is neither a list of names nor a string",
                reason="claims",
            )
        return tuple(dict.fromkeys(n for n in names if n))


def bearer_token(value: object) -> str | None:
    """The token in an ``Authorization`` value: ``Bearer <token>`` or the bare token."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    match = _BEARER.match(value)
    token = value[match.end() :] if match else value
    return token or None


def _b64decode(part: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise TokenRejected(f"the token {what} is not base64url", reason="malformed") from None


def _json_part(part: str, what: str) -> dict[str, Any]:
    try:
        value = untrusted.loads(_b64decode(part, what), what=f"the token {what}")
    except InvalidRequest as exc:
        raise TokenRejected(exc.message, reason="malformed") from None
    if not isinstance(value, dict):
        raise TokenRejected(f"the token {what} is not a JSON object", reason="malformed")
    return value


def _number(payload: Mapping[str, Any], name: str, *, required: bool = False) -> float | None:
    value = payload.get(name)
    if value is None:
        if required:
            raise TokenRejected(f"the token has no {name} claim", reason="claims")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenRejected(f"the {name} claim is not a number", reason="claims")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise TokenRejected(f"the {name} claim is out of range", reason="claims")
    return number


def _utc(seconds: float) -> str:
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
    except (OverflowError, OSError, ValueError):
        return f"{seconds:.0f} seconds after the epoch"
