"""The roles a caller can hold, and the rules for granting them.

A role is a group of the user pool (``cognito:groups`` in the token); the authorizer
passes the caller's groups on as roles (:mod:`tenantkit_runtime.auth.identity`).

============  =========================================================================
role          what it allows
============  =========================================================================
``admin``     a tenant's administrator: its users (``/users``), its settings
              (``/config``), its audit log; everything a member may do
``member``    a tenant's user: chat, files, the branding, the own profile
``operator``  the platform operator: not a tenant's role. No tenant route accepts it
              in place of ``admin``, no tenant admin can grant it, and the operator's
              tools (``tenantkit user ...``) never grant it either; it is given by
              hand in the pool's ``operator`` group, outside every tenant
============  =========================================================================

The admin role's name is the deployment's ``TENANTKIT_ADMIN_ROLE`` (``admin``).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ADMIN", "MEMBER", "OPERATOR", "TENANT_ROLES", "tenant_roles"]

ADMIN = "admin"
MEMBER = "member"
OPERATOR = "operator"
#: The roles a tenant's users can hold, in the order answers list them.
TENANT_ROLES: tuple[str, ...] = (ADMIN, MEMBER)


def tenant_roles(roles: Iterable[str]) -> tuple[str, ...]:
    """The tenant roles among ``roles``, in :data:`TENANT_ROLES` order (others dropped)."""
    held = set(roles)
    return tuple(role for role in TENANT_ROLES if role in held)
