"""A tenant's users, with the rules: :class:`UserDirectory`.

The users function, the operator's ``tenantkit user`` commands and tenant creation
all go through it. It keeps three things in step: the user pool
(:class:`~tenantkit_runtime.userstore.UserStore`: Cognito, or the local store), the
control plane's user table (:class:`~tenantkit_runtime.controlplane.UserRecord`)
and the tenant's audit log.

Its rules, whoever calls:

* the tenant of a user is the caller's, set by the server: never taken from a request;
* a user of another tenant is never shown or changed: the attempt is refused
  (:class:`~tenantkit_runtime.auth.errors.AccessDenied`, 403) and audited
  (``user.refused``) in the caller's tenant;
* only tenant roles (:data:`tenantkit_runtime.roles.TENANT_ROLES`) are granted; the
  operator role never is (403, audited); an unknown role is a 422 naming the field;
* every change is audited (``user.invite``, ``user.roles``, ``user.disable``,
  ``user.enable``, ``user.remove``, ``user.resend``, ``user.profile``) with the
  acting user, never with a credential.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tenantkit import untrusted
from tenantkit.errors import FieldError, NotFound
from tenantkit.identifiers import check_tenant_id
from tenantkit.validation import field_errors
from tenantkit_runtime.auth.errors import AccessDenied
from tenantkit_runtime.controlplane import ControlPlane, UserRecord
from tenantkit_runtime.http_errors import PayloadTooLarge, RequestValidationError
from tenantkit_runtime.roles import ADMIN, MEMBER, OPERATOR, TENANT_ROLES
from tenantkit_runtime.userstore import PoolUser, UserStore

__all__ = [
    "Invitation",
    "NoBody",
    "ProfileChange",
    "RoleChange",
    "UserDirectory",
    "parse_body",
]

#: Request bodies of the user routes are small; larger ones are refused (413).
MAX_BODY = 8 * 1024
MAX_EMAIL = 254  # RFC 5321's path limit
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"
)
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}$")
_USER_ID = re.compile(r"^[A-Za-z0-9._@+-]{1,128}$")
#: Body keys that would name a tenant: refused (403) and audited, never applied.
_TENANT_KEYS = ("tenant", "custom:tenant_id")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, str_strip_whitespace=True)


RoleName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


def _check_roles(roles: list[str]) -> list[str]:
    return list(dict.fromkeys(roles))


class Invitation(_Body):
    """``POST /users``: whom to invite, with which roles."""

    email: str = Field(max_length=MAX_EMAIL)
    roles: list[RoleName] = Field(default_factory=lambda: [MEMBER], min_length=1, max_length=8)
    display_name: str | None = Field(default=None, min_length=1, max_length=128)
    locale: str | None = Field(default=None, max_length=35)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.fullmatch(value) or ".." in value:
            raise ValueError("not an email address (ASCII, local@domain)")
        return value.lower()

    _roles = field_validator("roles")(_check_roles)

    @field_validator("display_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return _display_name(value)

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        return _check_locale(value)


class RoleChange(_Body):
    """``PUT /users/{id}/roles``: the user's tenant roles, all of them."""

    roles: list[RoleName] = Field(max_length=8)
    _roles = field_validator("roles")(_check_roles)


class NoBody(_Body):
    """The body of an action that takes none: empty, or ``{}``."""


class ProfileChange(_Body):
    """``PATCH /users/me``: the caller's own profile; fields left out stay."""

    display_name: str | None = Field(default=None, min_length=1, max_length=128)
    locale: str | None = Field(default=None, max_length=35)

    @field_validator("display_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return _display_name(value)

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        return _check_locale(value)


def _display_name(value: str | None) -> str | None:
    if value is None:
        return None
    value = unicodedata.normalize("NFC", value)
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in value):
        raise ValueError("control, format or unassigned characters are not allowed")
    return value


def _check_locale(value: str | None) -> str | None:
    if value is not None and not _LOCALE.fullmatch(value):
        raise ValueError("not a language tag (en, fr-CA, zh-Hant-TW)")
    return value


M = TypeVar("M", bound=BaseModel)


def parse_body(
    raw: bytes,
    model: type[M],
    *,
    on_tenant_key: Callable[[str], None] | None = None,
) -> M:
    """A user route's body: bounded, parsed as untrusted JSON, a tenant key refused
    (``on_tenant_key(path)`` is called first, to audit) and validated by ``model``."""
    if len(raw) > MAX_BODY:
        raise PayloadTooLarge(f"the request body is larger than {MAX_BODY} bytes")
    data = untrusted.loads(raw or b"{}", what="the request body")
    path = _tenant_key(data)
    if path is not None:
        if on_tenant_key is not None:
            on_tenant_key(path)
        raise AccessDenied(f"{path}: a user's tenant is set by the server, never by a request")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(field_errors(exc)) from None


def _tenant_key(data: Any, prefix: str = "") -> str | None:
    if isinstance(data, Mapping):
        for key, value in data.items():
            path = f"{prefix}{key}"
            if any(word in str(key).lower() for word in _TENANT_KEYS):
                return path
            if key == "attributes":
                found = _tenant_key(value, f"{path}.")
                if found:
                    return found
    elif isinstance(data, list):
        for index, value in enumerate(data):
            if isinstance(value, Mapping) and any(
                word in str(value.get("Name", value.get("name", ""))).lower()
                for word in _TENANT_KEYS
            ):
                return f"{prefix}{index}"
    return None


class UserDirectory:
    """A deployment's users, tenant by tenant (see the module documentation).

    Args:
        store: the user pool.
        control_plane: the user table and the audit log.
        admin_role: the deployment's admin role (``TENANTKIT_ADMIN_ROLE``).
    """

    def __init__(self, store: UserStore, control_plane: ControlPlane, *, admin_role: str = ADMIN):
        self.store = store
        self.control_plane = control_plane
        self.managed_roles: tuple[str, ...] = tuple(dict.fromkeys((admin_role, *TENANT_ROLES)))
        self._admin_role = admin_role

    # --- reading ---------------------------------------------------------------------------

    def list(
        self, tenant_id: str, *, cursor: str | None = None, limit: int = 100
    ) -> tuple[list[UserRecord], str | None]:
        """One page of the tenant's users, from the control plane's user table."""
        return self.control_plane.users(check_tenant_id(tenant_id), cursor=cursor, limit=limit)

    def get(self, tenant_id: str, user_id: str, *, actor: str) -> UserRecord:
        """One of the tenant's users, read from the pool (and the table brought in step)."""
        return self._sync(tenant_id, self._own(tenant_id, user_id, actor=actor, action="get"))

    # --- changing --------------------------------------------------------------------------

    def invite(self, tenant_id: str, invitation: Invitation, *, actor: str) -> UserRecord:
        """Create the user in ``tenant_id`` and send the invitation."""
        check_tenant_id(tenant_id)
        roles = self._grantable(tenant_id, invitation.roles, actor=actor, action="invite")
        user = self.store.create(
            tenant_id=tenant_id,
            email=invitation.email,
            roles=roles,
            display_name=invitation.display_name,
            locale=invitation.locale,
        )
        record = self._sync(tenant_id, user)
        self._audit(tenant_id, actor, "user.invite", user.user_id, roles=list(roles))
        return record

    def set_roles(
        self, tenant_id: str, user_id: str, roles: Sequence[str], *, actor: str
    ) -> UserRecord:
        """Make the user's tenant roles exactly ``roles`` (effective at its next refresh)."""
        granted = self._grantable(tenant_id, roles, actor=actor, action="roles", target=user_id)
        user = self._own(tenant_id, user_id, actor=actor, action="roles")
        self.store.set_roles(user.user_id, granted, managed=self.managed_roles)
        record = self._sync(tenant_id, self._reread(user.user_id))
        self._audit(
            tenant_id, actor, "user.roles", user_id, before=list(user.roles), after=list(granted)
        )
        return record

    def set_enabled(self, tenant_id: str, user_id: str, enabled: bool, *, actor: str) -> UserRecord:
        """Enable or disable the user; a disabled user's next refresh fails."""
        action = "enable" if enabled else "disable"
        user = self._own(tenant_id, user_id, actor=actor, action=action)
        self.store.set_enabled(user.user_id, enabled)
        record = self._sync(tenant_id, self._reread(user.user_id))
        self._audit(tenant_id, actor, f"user.{action}", user_id)
        return record

    def remove(self, tenant_id: str, user_id: str, *, actor: str) -> None:
        """Delete the user from the pool and the table; its next refresh fails."""
        user = self._own(tenant_id, user_id, actor=actor, action="remove")
        self.store.delete(user.user_id)
        self.control_plane.remove_user(tenant_id, user.user_id)
        self._audit(tenant_id, actor, "user.remove", user_id)

    def resend_invitation(self, tenant_id: str, user_id: str, *, actor: str) -> UserRecord:
        user = self._own(tenant_id, user_id, actor=actor, action="resend")
        self.store.resend_invitation(user.user_id)
        self._audit(tenant_id, actor, "user.resend", user_id)
        return self._sync(tenant_id, user)

    # --- the caller's own profile ----------------------------------------------------------

    def profile(self, tenant_id: str, user_id: str) -> UserRecord:
        """The caller's own record; marks it seen."""
        user = self._own(tenant_id, user_id, actor=user_id, action="profile")
        return self._sync(tenant_id, user, seen=True)

    def update_profile(self, tenant_id: str, user_id: str, change: ProfileChange) -> UserRecord:
        user = self._own(tenant_id, user_id, actor=user_id, action="profile")
        self.store.update_profile(
            user.user_id, display_name=change.display_name, locale=change.locale
        )
        record = self._sync(tenant_id, self._reread(user.user_id), seen=True)
        fields = sorted(change.model_dump(exclude_none=True))
        if fields:
            self._audit(tenant_id, user_id, "user.profile", user_id, fields=fields)
        return record

    # --- refusals --------------------------------------------------------------------------

    def refuse(
        self, tenant_id: str, *, actor: str, action: str, reason: str, target: str | None = None
    ) -> AccessDenied:
        """Audit a refused attempt in ``tenant_id``; the error to raise."""
        details: dict[str, Any] = {"attempt": action, "reason": reason}
        if target is not None:
            details["user_id"] = target[:128]
        self.control_plane.audit(tenant_id, actor=actor, action="user.refused", details=details)
        messages = {
            "other_tenant": "the user is not in your tenant",
            "operator_role": "the operator role is not a tenant's to grant",
            "tenant_attribute": "a user's tenant is set by the server, never by a request",
        }
        return AccessDenied(messages.get(reason, reason))

    # --- plumbing --------------------------------------------------------------------------

    def _grantable(
        self,
        tenant_id: str,
        roles: Sequence[str],
        *,
        actor: str,
        action: str,
        target: str | None = None,
    ) -> tuple[str, ...]:
        if OPERATOR in roles:
            raise self.refuse(
                tenant_id, actor=actor, action=action, reason="operator_role", target=target
            )
        unknown = [
            FieldError(f"roles[{i}]", f"not a tenant role (use {', '.join(self.managed_roles)})")
            for i, role in enumerate(roles)
            if role not in self.managed_roles
        ]
        if unknown:
            raise RequestValidationError(unknown)
        return tuple(r for r in self.managed_roles if r in roles)

    def _own(self, tenant_id: str, user_id: str, *, actor: str, action: str) -> PoolUser:
        """The pool's user if it is one of ``tenant_id``'s; refused and audited if it is
        another tenant's (or no tenant's); ``NotFound`` if there is no such user."""
        check_tenant_id(tenant_id)
        if not _USER_ID.fullmatch(user_id):
            raise RequestValidationError([FieldError("user_id", "not a user id")], where="path")
        user = self.store.get(user_id)
        if user is None:
            if self.control_plane.user(tenant_id, user_id) is not None:  # gone from the pool
                self.control_plane.remove_user(tenant_id, user_id)
            raise NotFound("no such user in this tenant")
        if user.tenant_id != tenant_id:
            raise self.refuse(
                tenant_id, actor=actor, action=action, reason="other_tenant", target=user_id
            )
        return user

    def _reread(self, user_id: str) -> PoolUser:
        user = self.store.get(user_id)
        if user is None:
            raise NotFound("no such user in this tenant")
        return user

    def _sync(self, tenant_id: str, user: PoolUser, *, seen: bool = False) -> UserRecord:
        now = _now()
        kept = self.control_plane.user(tenant_id, user.user_id)
        record = UserRecord(
            user_id=user.user_id,
            tenant_id=tenant_id,
            email=user.email,
            roles=user.roles,
            status=user.status,
            display_name=user.display_name,
            locale=user.locale,
            created_at=(kept.created_at if kept else None) or user.created_at or now,
            updated_at=now,
            last_seen=now if seen else (kept.last_seen if kept else None),
        )
        if kept is not None and record.model_dump(exclude={"updated_at"}) == kept.model_dump(
            exclude={"updated_at"}
        ):
            return kept
        return self.control_plane.put_user(record)

    def _audit(self, tenant_id: str, actor: str, action: str, user_id: str, **details: Any) -> None:
        self.control_plane.audit(
            tenant_id, actor=actor, action=action, details={"user_id": user_id, **details}
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
