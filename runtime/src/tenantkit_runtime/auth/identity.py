"""Who is calling: the identity the authorizer hands to the other functions.

The authorizer puts three string keys in the authorizer context of every request it
allows:

==============  ===============================================================
key             value
==============  ===============================================================
``tenant_id``   the caller's tenant (a tenant id, see :mod:`tenantkit.identifiers`);
                ``""`` for the platform operator, who belongs to no tenant
``user_id``     the token's ``sub``
``roles``       the caller's roles joined with commas (``"admin,member"``; ``""``
                when none)
==============  ===============================================================

Where API Gateway delivers that context to the function behind the route:

* HTTP API (payload 2.0): ``event["requestContext"]["authorizer"]["lambda"]``
* REST API and WebSocket API: ``event["requestContext"]["authorizer"]`` (next to
  ``principalId``, which is the user id too)

:func:`identity_from_event` reads it from any of those events. This module imports
nothing beyond the standard library, :mod:`tenantkit.identifiers` and
:mod:`tenantkit_runtime.roles`.

The platform operator (role ``operator``, no tenant claim) is an identity whose
``tenant_id`` is ``None``: :attr:`Identity.is_operator`. Only the ``/operator/*``
routes accept it; the authorizer refuses it elsewhere, and so does every function
(:class:`tenantkit_runtime.app.App`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenantkit.identifiers import is_tenant_id
from tenantkit_runtime.roles import OPERATOR

__all__ = [
    "CONTEXT_ROLES",
    "CONTEXT_TENANT_ID",
    "CONTEXT_USER_ID",
    "Identity",
    "identity_from_event",
]

MAX_USER_ID = 256
CONTEXT_TENANT_ID = "tenant_id"
CONTEXT_USER_ID = "user_id"
CONTEXT_ROLES = "roles"


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: tenant, user and roles. ``tenant_id`` is ``None`` only
    for the platform operator (:attr:`is_operator`)."""

    tenant_id: str | None
    user_id: str
    roles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.tenant_id is None and OPERATOR not in self.roles:
            raise ValueError("only the operator has no tenant")

    @property
    def is_operator(self) -> bool:
        """The platform operator: the operator role and no tenant. A tenant's user in
        the operator group is not the operator."""
        return self.tenant_id is None and OPERATOR in self.roles

    def has_role(self, *roles: str) -> bool:
        """Whether the caller has at least one of ``roles``."""
        return any(role in self.roles for role in roles)

    def to_context(self) -> dict[str, str]:
        """The authorizer context API Gateway passes on (string values only)."""
        return {
            CONTEXT_TENANT_ID: self.tenant_id or "",
            CONTEXT_USER_ID: self.user_id,
            CONTEXT_ROLES: ",".join(self.roles),
        }

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Identity | None:
        """The identity in an authorizer context, or ``None`` if it holds none.

        Raises ``ValueError`` when the context holds a tenant id or user id that no
        authorizer of ours would have issued (malformed, reserved, overlong).
        """
        tenant_id = context.get(CONTEXT_TENANT_ID)
        user_id = context.get(CONTEXT_USER_ID)
        if tenant_id is None and user_id is None:
            return None
        if not isinstance(user_id, str) or not user_id or len(user_id) > MAX_USER_ID:
            raise ValueError("the authorizer context carries an invalid user id")
        roles = context.get(CONTEXT_ROLES) or ""
        if isinstance(roles, str):
            names = tuple(r.strip() for r in roles.split(",") if r.strip())
        elif isinstance(roles, list | tuple):  # a local stand-in may pass the list itself
            names = tuple(str(r).strip() for r in roles if str(r).strip())
        else:
            names = ()
        if tenant_id == "" and OPERATOR in names:
            return cls(None, user_id, names)
        if not is_tenant_id(tenant_id):
            raise ValueError("the authorizer context carries an invalid tenant id")
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
