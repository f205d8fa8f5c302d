"""What the authorizer trusts, read from the environment.

=====================================  ====================================================
variable                               meaning
=====================================  ====================================================
``TENANTKIT_AUTH_ISSUERS``             Trusted issuers, comma-separated: issuer URLs
                                       (``https://cognito-idp.{region}.amazonaws.com/{pool}``)
                                       or bare user pool ids (``eu-west-1_AbCdEf``), which
                                       stand for that URL. Issuers named in
                                       ``TENANTKIT_AUTH_ISSUER_TENANTS`` are trusted too.
``TENANTKIT_AUTH_CLIENT_IDS``          App client ids allowed, comma-separated (required):
                                       an ID token's ``aud`` or an access token's
                                       ``client_id`` must be one of them.
``TENANTKIT_AUTH_TOKEN_USE``           ``id`` (default), ``access``, or ``id,access``: the
                                       ``token_use`` accepted.
``TENANTKIT_AUTH_TENANT_CLAIM``        The claim naming the tenant in the one-pool model
                                       (default ``custom:tenant_id``).
``TENANTKIT_AUTH_ISSUER_TENANTS``      The pool-per-tenant model: a JSON object mapping an
                                       issuer (URL or pool id) to its tenant id. A token
                                       from a mapped issuer belongs to that tenant; if it
                                       also carries the tenant claim, the two must agree.
``TENANTKIT_AUTH_ROLE_CLAIM``          The claim listing the user's roles (default
                                       ``cognito:groups``): a list of strings, or one
                                       string of names separated by spaces or commas.
``TENANTKIT_AUTH_JWKS_URLS``           A JSON object mapping an issuer (URL or pool id) to
                                       the URL of its JWKS, for issuers whose keys are not
                                       at ``{issuer}/.well-known/jwks.json`` (a local
                                       stand-in, a test server).
``TENANTKIT_AUTH_LEEWAY_SECONDS``      Clock skew allowed on ``exp``, ``nbf`` and ``iat``
                                       (default 5).
``TENANTKIT_AUTH_PENALTY_SECONDS``     After a JWKS fetch that did not yield the wanted
                                       key (or failed), no fetch from that URL for this
                                       long (default 10): a flood of tokens with unknown
                                       key ids costs one fetch, not one each.
``TENANTKIT_AUTH_JWKS_TIMEOUT_SECONDS``  Connect and read timeout of a JWKS fetch
                                       (default 3).
``TENANTKIT_AUTH_ROUTE_TENANT_PARAM``  The path parameter through which a route names a
                                       tenant (default ``tenant_id``).
=====================================  ====================================================
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from tenantkit.errors import ConfigurationError
from tenantkit.identifiers import is_tenant_id

__all__ = ["ENV", "AuthSettings", "TokenUse", "cognito_issuer"]

TokenUse = Literal["id", "access"]

#: The environment variable of each setting.
ENV: Mapping[str, str] = MappingProxyType(
    {
        "issuers": "TENANTKIT_AUTH_ISSUERS",
        "client_ids": "TENANTKIT_AUTH_CLIENT_IDS",
        "token_use": "TENANTKIT_AUTH_TOKEN_USE",
        "tenant_claim": "TENANTKIT_AUTH_TENANT_CLAIM",
        "issuer_tenants": "TENANTKIT_AUTH_ISSUER_TENANTS",
        "role_claim": "TENANTKIT_AUTH_ROLE_CLAIM",
        "jwks_urls": "TENANTKIT_AUTH_JWKS_URLS",
        "leeway": "TENANTKIT_AUTH_LEEWAY_SECONDS",
        "penalty_seconds": "TENANTKIT_AUTH_PENALTY_SECONDS",
        "jwks_timeout": "TENANTKIT_AUTH_JWKS_TIMEOUT_SECONDS",
        "route_tenant_param": "TENANTKIT_AUTH_ROUTE_TENANT_PARAM",
    }
)

_POOL_ID = re.compile(r"(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d)_[A-Za-z0-9]+")
_URL = re.compile(r"https?://[^\s/?#]+(?:/[^\s?#]*)?")


def cognito_issuer(user_pool_id: str) -> str:
    """The ``iss`` of the tokens of a Cognito user pool."""
    match = _POOL_ID.fullmatch(user_pool_id)
    if match is None:
        raise ValueError(f"not a Cognito user pool id: {user_pool_id!r}")
    return f"https://cognito-idp.{match['region']}.amazonaws.com/{user_pool_id}"


@dataclass(frozen=True)
class AuthSettings:
    """The authorizer's configuration. Build it with :meth:`from_env` or directly.

    ``issuers`` and the keys of ``issuer_tenants`` and ``jwks_urls`` may be issuer
    URLs or Cognito user pool ids; they are stored as issuer URLs.
    """

    issuers: frozenset[str] = frozenset()
    client_ids: frozenset[str] = frozenset()
    token_use: frozenset[TokenUse] = frozenset({"id"})
    tenant_claim: str = "custom:tenant_id"
    issuer_tenants: Mapping[str, str] = field(default_factory=dict)
    role_claim: str = "cognito:groups"
    jwks_urls: Mapping[str, str] = field(default_factory=dict)
    leeway: float = 5.0
    penalty_seconds: float = 10.0
    jwks_timeout: float = 3.0
    route_tenant_param: str = "tenant_id"

    def __post_init__(self) -> None:
        tenants = {_issuer(k, "issuer_tenants"): _tenant(v) for k, v in self.issuer_tenants.items()}
        urls = {_issuer(k, "jwks_urls"): _url(v, "jwks_urls") for k, v in self.jwks_urls.items()}
        issuers = frozenset(_issuer(i, "issuers") for i in self.issuers) | tenants.keys()
        set_ = object.__setattr__
        set_(self, "issuers", issuers)
        set_(self, "issuer_tenants", MappingProxyType(tenants))
        set_(self, "jwks_urls", MappingProxyType(urls))
        set_(self, "client_ids", frozenset(self.client_ids))
        set_(self, "token_use", frozenset(self.token_use))
        if not self.issuers:
            raise _error("issuers", "no trusted issuer is configured")
        if not self.client_ids or not all(isinstance(c, str) and c for c in self.client_ids):
            raise _error("client_ids", "give at least one app client id")
        if not self.token_use or not self.token_use <= {"id", "access"}:
            raise _error("token_use", "use 'id', 'access' or 'id,access'")
        for name in ("tenant_claim", "role_claim", "route_tenant_param"):
            if not getattr(self, name):
                raise _error(name, "must not be empty")
        for name in ("leeway", "penalty_seconds", "jwks_timeout"):
            value = getattr(self, name)
            if not 0 <= value <= 3600:
                raise _error(name, f"must be between 0 and 3600 seconds, got {value}")
        if self.jwks_timeout == 0:
            raise _error("jwks_timeout", "must be more than 0 seconds")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuthSettings:
        """The settings from ``environ`` (``os.environ`` by default); see the module doc."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}

        def raw(name: str) -> str | None:
            value = env.get(ENV[name], "").strip()
            return value or None

        for name in ("issuers", "client_ids"):
            if (text := raw(name)) is not None:
                values[name] = frozenset(_split(text))
        if (text := raw("token_use")) is not None:
            values["token_use"] = frozenset(_split(text))
        for name in ("tenant_claim", "role_claim", "route_tenant_param"):
            if (text := raw(name)) is not None:
                values[name] = text
        for name in ("issuer_tenants", "jwks_urls"):
            if (text := raw(name)) is not None:
                values[name] = _json_object(name, text)
        for name in ("leeway", "penalty_seconds", "jwks_timeout"):
            if (text := raw(name)) is not None:
                try:
                    values[name] = float(text)
                except ValueError:
                    raise _error(name, f"must be a number of seconds, got {text!r}") from None
        return cls(**values)  # type: ignore[arg-type]

    def jwks_url(self, issuer: str) -> str:
        """Where the keys of a trusted ``issuer`` are published."""
        return self.jwks_urls.get(issuer) or f"{issuer.rstrip('/')}/.well-known/jwks.json"


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _json_object(name: str, text: str) -> dict[str, str]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _error(name, f"is not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _error(name, 'must be a JSON object of strings, e.g. {"issuer": "value"}')
    return value


def _issuer(value: object, name: str) -> str:
    if isinstance(value, str) and _POOL_ID.fullmatch(value):
        return cognito_issuer(value)
    if isinstance(value, str) and _URL.fullmatch(value):
        return value
    raise _error(name, f"{value!r} is neither an issuer URL nor a Cognito user pool id")


def _url(value: object, name: str) -> str:
    if isinstance(value, str) and _URL.fullmatch(value):
        return value
    raise _error(name, f"{value!r} is not an http(s) URL")


def _tenant(value: object) -> str:
    if is_tenant_id(value):
        return str(value)
    raise _error("issuer_tenants", f"{value!r} is not a valid tenant id")


def _error(name: str, problem: str) -> ConfigurationError:
    return ConfigurationError(f"authorizer setting {ENV[name]}: {problem}")
