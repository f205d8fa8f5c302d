"""A local token issuer that stands in for a Cognito user pool.

It keeps one RSA key (2048 bits) in a directory of its own, created on first use
(directory 0700, key file 0600), signs Cognito-shaped tokens with it (RS256, a
``kid``, ``iss``, ``token_use``, ``aud``/``client_id``, ``sub``,
``custom:tenant_id``, ``cognito:groups``, ``exp``...) and publishes the public half
as a JWKS. The local server mounts :meth:`LocalIssuer.jwks` at a URL and points the
authorizer at it (:meth:`LocalIssuer.auth_settings`), so tokens issued here go
through exactly the checks a Cognito token goes through on AWS.

``tenantkit token --tenant acme --user alice --role admin`` prints such a token.

The key directory is ``TENANTKIT_LOCAL_KEY_DIR`` if set, else
``$XDG_DATA_HOME/tenantkit/local-issuer`` (``~/.local/share/...``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenantkit.errors import ConfigurationError
from tenantkit.identifiers import check_tenant_id
from tenantkit_runtime.auth.settings import AuthSettings, TokenUse
from tenantkit_runtime.roles import OPERATOR

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = ["LOCAL_CLIENT_ID", "LOCAL_ISSUER", "LocalIssuer", "default_key_dir"]

#: The ``iss`` of local tokens. The ``.invalid`` name (RFC 6761) never resolves, so
#: nothing ever fetches keys from it by accident: the JWKS URL is always configured.
LOCAL_ISSUER = "https://cognito-idp.local.invalid/local_tenantkit"
#: The app client id local tokens are issued to.
LOCAL_CLIENT_ID = "tenantkit-local"

_KEY_FILE = "issuer-key.pem"
_ALGORITHM = "RS256"


def default_key_dir() -> Path:
    """Where the issuer keeps its key unless told otherwise."""
    configured = os.environ.get("TENANTKIT_LOCAL_KEY_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tenantkit" / "local-issuer"


class LocalIssuer:
    """Issues tokens signed with a locally kept RSA key.

    Args:
        key_dir: the directory holding the key (:func:`default_key_dir` by default).
        issuer: the ``iss`` of the tokens.
        client_id: the app client the tokens are issued to.
    """

    def __init__(
        self,
        key_dir: Path | str | None = None,
        *,
        issuer: str = LOCAL_ISSUER,
        client_id: str = LOCAL_CLIENT_ID,
    ) -> None:
        self.key_dir = Path(key_dir) if key_dir is not None else default_key_dir()
        self.issuer = issuer
        self.client_id = client_id
        self._key: RSAPrivateKey | None = None
        self._jwk: dict[str, str] | None = None

    def issue(
        self,
        *,
        tenant: str | None,
        user: str,
        roles: Iterable[str] = (),
        ttl: int = 3600,
        token_use: TokenUse = "id",  # noqa: S107 - a claim value, not a password
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A signed token for ``user`` of ``tenant`` with ``roles``, valid ``ttl`` seconds.

        ``tenant`` ``None``: the platform operator's token (no tenant claim; ``roles``
        must hold ``operator``). ``extra_claims`` are added last (and may override the
        standard ones).
        """
        roles = list(roles)
        if tenant is None:
            if OPERATOR not in roles:
                raise ConfigurationError(
                    "a token without a tenant is the operator's: role operator"
                )
        else:
            check_tenant_id(tenant)
        if not user:
            raise ConfigurationError("a token needs a user (its sub)")
        if not 0 < ttl <= 7 * 24 * 3600:
            raise ConfigurationError(f"token ttl must be 1 to 604800 seconds, got {ttl}")
        if token_use not in ("id", "access"):
            raise ConfigurationError(f"token_use must be 'id' or 'access', got {token_use!r}")
        now = int(time.time())
        groups = [r for r in roles if r]
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user,
            "token_use": token_use,
            "iat": now,
            "auth_time": now,
            "exp": now + ttl,
            "jti": secrets.token_hex(16),
        }
        if tenant is not None:
            claims["custom:tenant_id"] = tenant
        if token_use == "id":  # noqa: S105 - a claim value, not a password
            claims["aud"] = self.client_id
            claims["cognito:username"] = user
        else:
            claims["client_id"] = self.client_id
            claims["username"] = user
            claims["scope"] = "aws.cognito.signin.user.admin"
        if groups:
            claims["cognito:groups"] = groups
        claims.update(extra_claims or {})
        return self.sign(claims)

    def sign(self, claims: Mapping[str, Any], *, headers: Mapping[str, Any] | None = None) -> str:
        """``claims`` signed with the issuer's key as they are (no checks)."""
        import jwt

        return jwt.PyJWS().encode(
            json.dumps(dict(claims), separators=(",", ":")).encode(),
            self._private_key(),
            algorithm=_ALGORITHM,
            headers={"kid": self.kid, "typ": "JWT", **(headers or {})},
        )

    @property
    def kid(self) -> str:
        """The key id: the RFC 7638 thumbprint of the public key."""
        return self._public_jwk()["kid"]

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The issuer's public keys, as a JWKS document."""
        return {"keys": [dict(self._public_jwk())]}

    def auth_settings(self, jwks_url: str, **overrides: Any) -> AuthSettings:
        """Authorizer settings that trust this issuer, its keys served at ``jwks_url``."""
        values: dict[str, Any] = {
            "issuers": frozenset({self.issuer}),
            "client_ids": frozenset({self.client_id}),
            "jwks_urls": {self.issuer: jwks_url},
        }
        values.update(overrides)
        return AuthSettings(**values)

    def auth_environment(self, jwks_url: str) -> dict[str, str]:
        """The ``TENANTKIT_AUTH_*`` variables that make the authorizer trust this issuer."""
        return {
            "TENANTKIT_AUTH_ISSUERS": self.issuer,
            "TENANTKIT_AUTH_CLIENT_IDS": self.client_id,
            "TENANTKIT_AUTH_JWKS_URLS": json.dumps({self.issuer: jwks_url}),
        }

    def _public_jwk(self) -> dict[str, str]:
        if self._jwk is None:
            numbers = self._private_key().public_key().public_numbers()
            jwk = {"e": _b64uint(numbers.e), "kty": "RSA", "n": _b64uint(numbers.n)}
            thumbprint = hashlib.sha256(
                json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
            ).digest()
            self._jwk = {
                **jwk,
                "alg": _ALGORITHM,
                "use": "sig",
                "kid": base64.urlsafe_b64encode(thumbprint).rstrip(b"=").decode(),
            }
        return self._jwk

    def _private_key(self) -> RSAPrivateKey:
        if self._key is None:
            self._key = _load_or_create(self.key_dir / _KEY_FILE)
        return self._key


def _load_or_create(path: Path) -> RSAPrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = None
    if data is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Written aside, then linked into place: readers never see half a key, and of
        # two processes creating it at once, one wins and the other uses its key.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
            os.link(tmp, path)
        except FileExistsError:
            data = path.read_bytes()
        else:
            return key
        finally:
            tmp.unlink(missing_ok=True)
    try:
        loaded = serialization.load_pem_private_key(data, password=None)
    except ValueError:
        raise ConfigurationError(f"{path} does not hold a PEM private key") from None
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ConfigurationError(f"{path} does not hold an RSA private key")
    return loaded


def _b64uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
