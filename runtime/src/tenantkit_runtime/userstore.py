"""Where a deployment's users live: one interface, two backends.

:class:`UserStore` is what the rest of the runtime calls (the users function, the
operator's ``tenantkit user`` commands, tenant creation): it knows nothing of
tenants' rights, only of users, their tenant attribute and their groups.
:class:`tenantkit_runtime.users.UserDirectory` puts the rules on top.

* :class:`CognitoUserStore`: the deployment's Cognito user pool, through its admin
  APIs (``AdminCreateUser``, ``AdminAddUserToGroup``, ``AdminRemoveUserFromGroup``,
  ``AdminDisableUser``, ``AdminEnableUser``, ``AdminDeleteUser``,
  ``AdminUserGlobalSignOut``, ``AdminUpdateUserAttributes``...), called through
  :class:`tenantkit.aws.ProviderAWS`. The pool signs users in by email
  (``UsernameAttributes: [email]``), so a user's ``Username`` is its ``sub``: the user
  id tokens carry. The tenant is the ``custom:tenant_id`` attribute, roles are groups.
* :class:`tenantkit_runtime.local.users.LocalUserStore`: the same on a sqlite file,
  for ``tenantkit serve`` and the local issuer.

Cognito's ``ListUsers`` cannot filter on a custom attribute ("custom attributes
aren't searchable", see
https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUsers.html),
so a tenant's users are listed from the control plane's user table, and every
operation on one user reads the pool's record first and checks its tenant there.

:func:`user_store` builds the deployment's store from its settings
(``TENANTKIT_USER_POOL_ID``, else ``TENANTKIT_LOCAL_USERS``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from tenantkit.errors import (
    ConditionFailed,
    ConfigurationError,
    InvalidRequest,
    NotFound,
    TenantkitError,
    Throttled,
)

__all__ = [
    "TENANT_ATTRIBUTE",
    "CognitoUserStore",
    "PoolUser",
    "UserStatus",
    "UserStore",
    "reset_user_store",
    "user_store",
]

#: The pool attribute naming a user's tenant: set by the server, never by a client.
TENANT_ATTRIBUTE = "custom:tenant_id"

UserStatus = Literal["invited", "active", "disabled"]


@dataclass(frozen=True)
class PoolUser:
    """A user as the pool knows it."""

    user_id: str
    email: str
    tenant_id: str | None
    roles: tuple[str, ...]
    enabled: bool
    confirmed: bool
    display_name: str | None = None
    locale: str | None = None
    created_at: str | None = None

    @property
    def status(self) -> UserStatus:
        if not self.enabled:
            return "disabled"
        return "active" if self.confirmed else "invited"


class UserStore(Protocol):
    """A deployment's user pool. Methods raise :class:`~tenantkit.errors.NotFound`
    for an unknown user id and :class:`~tenantkit.errors.ConditionFailed` for an
    email already taken."""

    def create(
        self,
        *,
        tenant_id: str,
        email: str,
        roles: Iterable[str],
        display_name: str | None = None,
        locale: str | None = None,
    ) -> PoolUser:
        """Create the user in ``tenant_id`` with ``roles`` and send the invitation."""
        ...

    def get(self, user_id: str) -> PoolUser | None:
        """The user, or ``None``."""
        ...

    def set_roles(self, user_id: str, roles: Iterable[str], *, managed: Iterable[str]) -> None:
        """Make the user's roles among ``managed`` exactly ``roles`` (others untouched)."""
        ...

    def set_enabled(self, user_id: str, enabled: bool) -> None:
        """Enable or disable; disabling also revokes the user's refresh tokens."""
        ...

    def delete(self, user_id: str) -> None:
        """Sign the user out everywhere and delete it."""
        ...

    def resend_invitation(self, user_id: str) -> None:
        """Send the invitation again (only to a user who never signed in)."""
        ...

    def update_profile(self, user_id: str, *, display_name: str | None, locale: str | None) -> None:
        """Set the profile fields given (``None`` leaves one as it is)."""
        ...

    def sign_out(self, user_id: str) -> None:
        """Revoke the user's refresh tokens: the next refresh fails."""
        ...


# --- Cognito -----------------------------------------------------------------------------

_NAME = "cognito-idp"


_CODES: dict[str, type[TenantkitError]] = {
    "UserNotFoundException": NotFound,
    "UsernameExistsException": ConditionFailed,
    "AliasExistsException": ConditionFailed,
    "InvalidParameterException": InvalidRequest,
    "ResourceNotFoundException": ConfigurationError,
    "TooManyRequestsException": Throttled,
}


class CognitoUserStore:
    """The deployment's Cognito user pool (see the module documentation).

    Args:
        pool_id: the user pool's id (``eu-west-1_AbCdEf``).
        region: its region (the pool id's prefix when omitted).
        endpoint_url: an AWS-compatible endpoint (tests).
        client: a prepared botocore client instead (tests).
    """

    def __init__(
        self,
        pool_id: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        client: Any = None,
    ) -> None:
        from tenantkit.aws import ProviderAWS, make_client

        self.pool_id = pool_id
        if client is None:
            client = make_client(
                _NAME,
                region=region or pool_id.split("_", 1)[0] or None,
                endpoint_url=endpoint_url,
                read_timeout=10,
            )
        self._aws = ProviderAWS(_NAME, client, codes=_CODES)

    def __repr__(self) -> str:
        return f"CognitoUserStore({self.pool_id!r})"

    def create(
        self,
        *,
        tenant_id: str,
        email: str,
        roles: Iterable[str],
        display_name: str | None = None,
        locale: str | None = None,
    ) -> PoolUser:
        attributes = [
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": TENANT_ATTRIBUTE, "Value": tenant_id},
        ]
        if display_name is not None:
            attributes.append({"Name": "name", "Value": display_name})
        if locale is not None:
            attributes.append({"Name": "locale", "Value": locale})
        answer = self._aws.call(
            "admin_create_user",
            UserPoolId=self.pool_id,
            Username=email,
            UserAttributes=attributes,
            DesiredDeliveryMediums=["EMAIL"],
        )
        user_id = str(answer["User"]["Username"])
        for role in roles:
            self._aws.call(
                "admin_add_user_to_group", UserPoolId=self.pool_id, Username=user_id, GroupName=role
            )
        created = self.get(user_id)
        if created is None:  # deleted in between
            raise NotFound("the new user vanished from the pool")
        return created

    def get(self, user_id: str) -> PoolUser | None:
        try:
            answer = self._aws.call("admin_get_user", UserPoolId=self.pool_id, Username=user_id)
        except NotFound:
            return None
        attributes = {a["Name"]: a["Value"] for a in answer.get("UserAttributes", [])}
        groups = self._aws.call(
            "admin_list_groups_for_user", UserPoolId=self.pool_id, Username=user_id, Limit=60
        )
        created = answer.get("UserCreateDate")
        return PoolUser(
            user_id=str(answer["Username"]),
            email=attributes.get("email", ""),
            tenant_id=attributes.get(TENANT_ATTRIBUTE),
            roles=tuple(sorted(g["GroupName"] for g in groups.get("Groups", []))),
            enabled=bool(answer.get("Enabled", True)),
            confirmed=answer.get("UserStatus") not in ("FORCE_CHANGE_PASSWORD", "UNCONFIRMED"),
            display_name=attributes.get("name"),
            locale=attributes.get("locale"),
            created_at=created.isoformat() if isinstance(created, datetime) else None,
        )

    def set_roles(self, user_id: str, roles: Iterable[str], *, managed: Iterable[str]) -> None:
        user = self._existing(user_id)
        wanted, held = set(roles), set(user.roles)
        for role in sorted(set(managed)):
            if role in wanted and role not in held:
                self._aws.call(
                    "admin_add_user_to_group",
                    UserPoolId=self.pool_id,
                    Username=user_id,
                    GroupName=role,
                )
            elif role in held and role not in wanted:
                self._aws.call(
                    "admin_remove_user_from_group",
                    UserPoolId=self.pool_id,
                    Username=user_id,
                    GroupName=role,
                )

    def set_enabled(self, user_id: str, enabled: bool) -> None:
        operation = "admin_enable_user" if enabled else "admin_disable_user"
        self._aws.call(operation, UserPoolId=self.pool_id, Username=user_id)
        if not enabled:
            self.sign_out(user_id)

    def delete(self, user_id: str) -> None:
        self.sign_out(user_id)
        self._aws.call("admin_delete_user", UserPoolId=self.pool_id, Username=user_id)

    def resend_invitation(self, user_id: str) -> None:
        user = self._existing(user_id)
        if user.confirmed:
            raise ConditionFailed("the user has already signed in: there is no invitation to send")
        self._aws.call(
            "admin_create_user",
            UserPoolId=self.pool_id,
            Username=user.email,  # the sign-in name: the pool's username is the email
            MessageAction="RESEND",
            DesiredDeliveryMediums=["EMAIL"],
        )

    def update_profile(self, user_id: str, *, display_name: str | None, locale: str | None) -> None:
        changes = [
            {"Name": name, "Value": value}
            for name, value in (("name", display_name), ("locale", locale))
            if value is not None
        ]
        if changes:
            self._aws.call(
                "admin_update_user_attributes",
                UserPoolId=self.pool_id,
                Username=user_id,
                UserAttributes=changes,
            )

    def sign_out(self, user_id: str) -> None:
        self._aws.call("admin_user_global_sign_out", UserPoolId=self.pool_id, Username=user_id)

    def _existing(self, user_id: str) -> PoolUser:
        user = self.get(user_id)
        if user is None:
            raise NotFound("no such user")
        return user


# --- the deployment's store --------------------------------------------------------------

_lock = threading.Lock()
_store: UserStore | None = None


def user_store(environ: Mapping[str, str] | None = None) -> UserStore:
    """The deployment's user store, built once per process from its settings:
    ``TENANTKIT_USER_POOL_ID`` (and ``TENANTKIT_USER_POOL_ENDPOINT_URL``) for Cognito,
    else ``TENANTKIT_LOCAL_USERS`` (a sqlite file) for the local store."""
    global _store
    if environ is None and _store is not None:
        return _store
    import os

    env = os.environ if environ is None else environ
    pool_id = env.get("TENANTKIT_USER_POOL_ID")
    local = env.get("TENANTKIT_LOCAL_USERS")
    store: UserStore
    if pool_id:
        store = CognitoUserStore(
            pool_id, endpoint_url=env.get("TENANTKIT_USER_POOL_ENDPOINT_URL") or None
        )
    elif local:
        from tenantkit_runtime.local.users import LocalUserStore

        store = LocalUserStore(local)
    else:
        raise ConfigurationError(
            "no user pool: set TENANTKIT_USER_POOL_ID (Cognito) or TENANTKIT_LOCAL_USERS "
            "(a local sqlite file)"
        )
    if environ is None:
        with _lock:
            _store = _store or store
            return _store
    return store


def reset_user_store() -> None:
    """Forget the process's store (the next use reads the environment again)."""
    global _store
    with _lock:
        _store = None
