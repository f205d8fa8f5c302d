"""Who is calling: the identity the authorizer hands to the other functions.

The authorizer puts three string keys in the authorizer context of every request it
allows:

==============  ===============================================================
key             value
==============  ===============================================================
``tenant_id``   the caller's tenant (a tenant id, see :mod:`tenantkit.identifiers`)
``user_id``     the token's ``sub``
``roles``       the caller's roles joined with commas (``"admin,member"``; ``""``
                when none)
==============  ===============================================================

Where API Gateway delivers that context to the function behind the route:

* HTTP API (payload 2.0): ``event["requestContext"]["authorizer"]["lambda"]``
* REST API and WebSocket API: ``event["requestContext"]["authorizer"]`` (next to
  ``principalId``, which is the user id too)

:func:`identity_from_event` reads it from any of those events. This module imports
nothing beyond the standard library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONTEXT_ROLES",
    "CONTEXT_TENANT_ID",
    "CONTEXT_USER_ID",
    "Identity",
    "identity_from_event",
]

CONTEXT_TENANT_ID = "tenant_id"
CONTEXT_USER_ID = "user_id"
CONTEXT_ROLES = "roles"


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: tenant, user and roles."""

    tenant_id: str
    user_id: str
    roles: tuple[str, ...] = ()

    def has_role(self, *roles: str) -> bool:
        """Whether the caller has at least one of ``roles``."""
        return any(role in self.roles for role in roles)

    def to_context(self) -> dict[str, str]:
        """The authorizer context API Gateway passes on (string values only)."""
        return {
            CONTEXT_TENANT_ID: self.tenant_id,
            CONTEXT_USER_ID: self.user_id,
            CONTEXT_ROLES: ",".join(self.roles),
        }

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Identity | None:
        """The identity in an authorizer context, or ``None`` if it holds none."""
        tenant_id = context.get(CONTEXT_TENANT_ID)
        user_id = context.get(CONTEXT_USER_ID)
        if not isinstance(tenant_id, str) or not tenant_id:
            return None
        if not isinstance(user_id, str) or not user_id:
            return None
        roles = context.get(CONTEXT_ROLES) or ""
        if isinstance(roles, str):
            names = tuple(r for r in roles.split(",") if r)
        else:  # a local stand-in may pass the list itself
            names = tuple(str(r) for r in roles if r)
        return cls(tenant_id, user_id, names)


def identity_from_event(event: Mapping[str, Any]) -> Identity | None:
    """The caller's identity from an API Gateway proxy event (HTTP API 2.0, REST or
    WebSocket), or ``None`` when the route has no authorizer context."""
    request_context = event.get("requestContext")
    if not isinstance(request_context, Mapping):
        return None
    authorizer = request_context.get("authorizer")
    if not isinstance(authorizer, Mapping):
        return None
    lambda_context = authorizer.get("lambda")
    if isinstance(lambda_context, Mapping):
        return Identity.from_context(lambda_context)
    return Identity.from_context(authorizer)
