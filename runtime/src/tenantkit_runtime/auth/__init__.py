"""Authentication: Cognito JWT verification and the identity it yields.

* :class:`TokenVerifier` checks a token as aws-jwt-verify does and returns a
  :class:`VerifiedToken` holding the caller's :class:`Identity`;
* :class:`JwksCache` keeps the issuers' keys (refetch on unknown key ids, bounded by a
  penalty window);
* :class:`AuthSettings` says what to trust (from ``TENANTKIT_AUTH_*`` variables);
* :func:`identity_from_event` reads the identity the authorizer passed on, in the
  functions behind it (context keys: :mod:`tenantkit_runtime.auth.identity`).

The Lambda authorizer itself is :mod:`tenantkit_runtime.functions.auth`.
"""

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
