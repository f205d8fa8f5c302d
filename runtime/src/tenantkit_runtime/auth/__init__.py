"""Authentication: Cognito JWT verification and the identity it yields.

* :class:`TokenVerifier` checks a token as aws-jwt-verify does and returns a
  :class:`VerifiedToken` holding the caller's :class:`Identity`;
* :class:`JwksCache` keeps the issuers' keys (refetch on unknown key ids, bounded by a
  penalty window);
* :class:`AuthSettings` says what to trust (from ``TENANTKIT_AUTH_*`` variables);
* :func:`identity_from_event` reads the identity the authorizer passed on, in the
  functions behind it (context keys: :mod:`tenantkit_runtime.auth.identity`).

The Lambda authorizer itself is :mod:`tenantkit_runtime.functions.auth`.

Names are imported on first use (PEP 562): the functions behind the authorizer read
only :mod:`~tenantkit_runtime.auth.identity`, and do not load the verifier, the key
cache and their dependencies at a cold start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tenantkit_runtime.auth.errors import AccessDenied, TokenRejected
    from tenantkit_runtime.auth.identity import (
        CONTEXT_ROLES,
        CONTEXT_TENANT_ID,
        CONTEXT_USER_ID,
        Identity,
        identity_from_event,
    )
    from tenantkit_runtime.auth.jwks import JwksCache
    from tenantkit_runtime.auth.settings import AuthSettings, cognito_issuer
    from tenantkit_runtime.auth.verifier import TokenVerifier, VerifiedToken, bearer_token

_EXPORTS = {
    "AccessDenied": "errors",
    "TokenRejected": "errors",
    "CONTEXT_ROLES": "identity",
    "CONTEXT_TENANT_ID": "identity",
    "CONTEXT_USER_ID": "identity",
    "Identity": "identity",
    "identity_from_event": "identity",
    "JwksCache": "jwks",
    "AuthSettings": "settings",
    "cognito_issuer": "settings",
    "TokenVerifier": "verifier",
    "VerifiedToken": "verifier",
    "bearer_token": "verifier",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "CONTEXT_ROLES",
    "CONTEXT_TENANT_ID",
    "CONTEXT_USER_ID",
    "AccessDenied",
    "AuthSettings",
    "Identity",
    "JwksCache",
    "TokenRejected",
    "TokenVerifier",
    "VerifiedToken",
    "bearer_token",
    "cognito_issuer",
    "identity_from_event",
]
