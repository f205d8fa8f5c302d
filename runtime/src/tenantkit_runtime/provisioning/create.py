"""``tenantkit tenant create``: a new tenant's secret, registry entry, schema and admin.

Each step finds what an earlier run did and finishes the rest, so a create that
failed half-way is finished by running it again, and nothing is ever made twice:

1. validate the secret (merged over the deployment's defaults and plan) with every
   provider's settings model; problems name their fields, never a value;
2. write it to the deployment's source, unless the tenant already has exactly this
   secret; a *different* secret is refused (``tenant copy`` changes a tenant's
   providers, a create never overwrites);
3. register the tenant in the control plane with status ``creating`` (kept by a
   re-run; a suspended tenant stays suspended);
4. run the database provider's ``ensure_schema`` (idempotent by contract);
5. invite the first admin, unless the tenant already has a user with that email;
6. mark the tenant ``active`` and audit ``tenant.created`` (actor ``operator``).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from tenantkit.config import merge_secret, parse_tenant_config
from tenantkit.errors import ConditionFailed, InvalidRequest, TenantNotFound
from tenantkit.identifiers import check_tenant_id
from tenantkit.plugins import Plugins, default_plugins
from tenantkit.resolver import Resolver
from tenantkit.sources import DirectorySource, SecretsManagerSource
from tenantkit_runtime.controlplane import ControlPlane
from tenantkit_runtime.provisioning.operations import ACTIVE
from tenantkit_runtime.roles import ADMIN
from tenantkit_runtime.users import Invitation, UserDirectory
from tenantkit_runtime.userstore import UserStore

__all__ = ["CREATING", "Created", "compose_secret", "create_tenant"]

#: The registry status of a tenant whose create has not finished.
CREATING = "creating"
_ACTOR = "operator"
_SECTIONS = ("db", "llm", "storage")


@dataclass
class Created:
    """What a create did (``done``) and found already done (``kept``)."""

    tenant_id: str
    done: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    admin_user_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "done": self.done,
            "kept": self.kept,
            "admin_user_id": self.admin_user_id,
        }


def create_tenant(
    source: DirectorySource | SecretsManagerSource,
    plane: ControlPlane,
    tenant_id: str,
    raw: dict[str, Any],
    *,
    admin_email: str | None = None,
    users: UserStore | None = None,
    plugins: Plugins | None = None,
    actor: str = _ACTOR,
) -> Created:
    """Create (or finish creating) ``tenant_id`` with the secret ``raw``; see the module doc.
    ``actor`` names the operator in the audit log and as the admin's inviter.

    Raises:
        SecretValidationError: the secret is not valid (every problem, by field).
        InvalidRequest: the tenant has another secret already, or ``raw`` names another
            tenant, or an admin email is given without a user store.
    """
    check_tenant_id(tenant_id)
    plugins = plugins or default_plugins()
    if raw.get("tenant_id", tenant_id) != tenant_id:
        raise InvalidRequest("the secret's tenant_id is not the tenant being created")
    raw = {"schema_version": 1, **raw, "tenant_id": tenant_id}
    if admin_email is not None and users is None:
        raise InvalidRequest("an admin email needs a user pool")
    invitation = _invitation(admin_email) if admin_email else None
    parse_tenant_config(
        merge_secret(source.read_defaults(), raw), plugins=plugins, source="the new secret"
    )
    result = Created(tenant_id)

    try:
        existing: dict[str, Any] | None = source.read(tenant_id)
    except TenantNotFound:
        existing = None
    if existing is None:
        source.put(tenant_id, raw)
        result.done.append("secret")
    elif existing == raw:
        result.kept.append("secret")
    else:
        raise InvalidRequest(
            f"tenant {tenant_id!r} already has a different secret in {source.describe()}; "
            "a create never overwrites one (`tenantkit tenant copy` moves a tenant)"
        )

    record = plane.tenant(tenant_id)
    if record is None:
        record = plane.register_tenant(tenant_id, status=CREATING)
        result.done.append("registry")
    else:
        result.kept.append("registry")

    resolver = Resolver(source, plugins=plugins, signing_key=secrets.token_bytes(32))
    try:
        tenant = resolver.resolve(tenant_id)
        tenant.provider_instance("db").ensure_schema(tenant.schema)
    finally:
        resolver.close()
    result.done.append("schema")

    if invitation is not None and users is not None:
        directory = UserDirectory(users, plane)
        found = _user_with_email(plane, tenant_id, invitation.email)
        if found is not None:
            result.kept.append("admin")
            result.admin_user_id = found
        else:
            try:
                user = directory.invite(tenant_id, invitation, actor=actor)
            except ConditionFailed:
                raise InvalidRequest(
                    f"the user pool has a user with email {invitation.email!r} that this "
                    "tenant does not list; check `tenantkit user list` and the pool"
                ) from None
            result.done.append("admin")
            result.admin_user_id = user.user_id

    if record.status == CREATING:
        plane.register_tenant(tenant_id, display_name=record.display_name, status=ACTIVE)
        plane.audit(
            tenant_id,
            actor=actor,
            action="tenant.created",
            details={"plan": raw.get("plan", "standard"), "admin_user_id": result.admin_user_id},
        )
        result.done.append("active")
    return result


def compose_secret(
    whole: Mapping[str, Any] | None,
    sections: Mapping[str, Mapping[str, Any] | None],
    *,
    plan: str | None = None,
) -> dict[str, Any]:
    """A new tenant's secret: ``whole`` (a complete secret), or the ``db``, ``llm`` and
    ``storage`` ``sections`` (all three); ``plan`` set over either.

    Raises:
        InvalidRequest: both or neither given, or a section missing (named as given).
    """
    given = {kind: section for kind, section in sections.items() if section}
    if whole is not None:
        if given:
            raise InvalidRequest(
                f"the whole secret holds the providers: leave out {', '.join(given)}"
            )
        raw = dict(whole)
    else:
        missing = [kind for kind in _SECTIONS if kind not in given]
        if missing:
            raise InvalidRequest(f"name the providers ({', '.join(missing)}), or the whole secret")
        raw = {"schema_version": 1, **{kind: dict(given[kind]) for kind in _SECTIONS}}
    if plan:
        raw["plan"] = plan
    return raw


def _invitation(email: str) -> Invitation:
    try:
        return Invitation(email=email, roles=[ADMIN])
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise InvalidRequest(f"--admin-email: {problem['msg']}") from None


def _user_with_email(plane: ControlPlane, tenant_id: str, email: str) -> str | None:
    cursor: str | None = None
    while True:
        page, cursor = plane.users(tenant_id, cursor=cursor)
        for user in page:
            if user.email.lower() == email.lower():
                return user.user_id
        if cursor is None:
            return None
