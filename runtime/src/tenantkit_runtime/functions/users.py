"""The users function: a tenant's admins manage its users; everyone edits their profile.

===================================  ==================================================
``GET /users``                       the tenant's users (admins); ``cursor``, ``limit``
``POST /users``                      invite ``{email, roles, display_name?, locale?}``
                                     (admins): 201 with the new user, ``invited``
``GET /users/me``                    the caller's own record (anyone)
``PATCH /users/me``                  the caller's ``display_name`` / ``locale``
``GET /users/{id}``                  one user (admins)
``PUT /users/{id}/roles``            ``{roles}``: the user's roles, all of them (admins)
``POST /users/{id}/disable``         disable (admins); the next refresh fails
``POST /users/{id}/enable``          enable again (admins)
``POST /users/{id}/invitation``      send the invitation again (admins; 409 once the
                                     user has signed in)
``DELETE /users/{id}``               remove the user (admins): 204
===================================  ==================================================

The tenant is always the caller's (the authorizer's ``tenant_id``). A body naming a
tenant (``tenant_id``, ``custom:tenant_id``...), a user of another tenant, or the
operator role is refused with 403 and recorded as ``user.refused`` in the tenant's
audit log; so is a member calling an admin route. An unknown role, a malformed email
or locale is a 422 naming the field. Roles change at the user's next token refresh;
tokens already issued keep theirs until they expire (see ``runtime/README.md``).
"""

from __future__ import annotations

from typing import Any

from tenantkit_runtime import deployment
from tenantkit_runtime.app import App, Request, Response
from tenantkit_runtime.users import (
    Invitation,
    NoBody,
    ProfileChange,
    RoleChange,
    UserDirectory,
    parse_body,
)
from tenantkit_runtime.userstore import user_store

__all__ = ["app", "handler"]

app = App("users")


def _directory() -> UserDirectory:
    return UserDirectory(
        user_store(), deployment.control_plane(), admin_role=deployment.settings().admin_role
    )


def _admin(request: Request[Any], action: str) -> UserDirectory:
    directory = _directory()
    if not request.has_role(deployment.settings().admin_role):
        raise directory.refuse(
            request.tenant_id,
            actor=request.user_id,
            action=action,
            reason=f"this needs the role {deployment.settings().admin_role!r}",
            target=request.path_params.get("user_id"),
        )
    return directory


def _body(request: Request[Any], directory: UserDirectory, model: Any, action: str) -> Any:
    def audit(path: str) -> None:
        directory.refuse(
            request.tenant_id, actor=request.user_id, action=action, reason="tenant_attribute"
        )

    return parse_body(request.raw_body, model, on_tenant_key=audit)


@app.get("/users")
def list_users(request: Request[None]) -> dict[str, Any]:
    directory = _admin(request, "list")
    users, cursor = directory.list(
        request.tenant_id,
        cursor=request.query.get("cursor") or None,
        limit=request.query_int("limit", 100),
    )
    return {"users": [u.model_dump(exclude={"tenant_id"}) for u in users], "cursor": cursor}


@app.post("/users")
def invite(request: Request[None]) -> Response:
    directory = _admin(request, "invite")
    invitation = _body(request, directory, Invitation, "invite")
    user = directory.invite(request.tenant_id, invitation, actor=request.user_id)
    return Response(user.model_dump(exclude={"tenant_id"}), status=201)


@app.get("/users/me")
def my_profile(request: Request[None]) -> dict[str, Any]:
    return _directory().profile(request.tenant_id, request.user_id).model_dump()


@app.patch("/users/me")
def edit_my_profile(request: Request[None]) -> dict[str, Any]:
    directory = _directory()
    change = _body(request, directory, ProfileChange, "profile")
    return directory.update_profile(request.tenant_id, request.user_id, change).model_dump()


@app.get("/users/{user_id}")
def get_user(request: Request[None]) -> dict[str, Any]:
    directory = _admin(request, "get")
    user = directory.get(request.tenant_id, request.path_params["user_id"], actor=request.user_id)
    return user.model_dump(exclude={"tenant_id"})


@app.put("/users/{user_id}/roles")
def set_roles(request: Request[None]) -> dict[str, Any]:
    directory = _admin(request, "roles")
    change = _body(request, directory, RoleChange, "roles")
    user = directory.set_roles(
        request.tenant_id, request.path_params["user_id"], change.roles, actor=request.user_id
    )
    return user.model_dump(exclude={"tenant_id"})


@app.post("/users/{user_id}/disable")
def disable(request: Request[None]) -> dict[str, Any]:
    return _set_enabled(request, False)


@app.post("/users/{user_id}/enable")
def enable(request: Request[None]) -> dict[str, Any]:
    return _set_enabled(request, True)


def _set_enabled(request: Request[None], enabled: bool) -> dict[str, Any]:
    directory = _admin(request, "enable" if enabled else "disable")
    _body(request, directory, NoBody, "enable" if enabled else "disable")
    user = directory.set_enabled(
        request.tenant_id, request.path_params["user_id"], enabled, actor=request.user_id
    )
    return user.model_dump(exclude={"tenant_id"})


@app.post("/users/{user_id}/invitation")
def resend_invitation(request: Request[None]) -> dict[str, Any]:
    directory = _admin(request, "resend")
    _body(request, directory, NoBody, "resend")
    user = directory.resend_invitation(
        request.tenant_id, request.path_params["user_id"], actor=request.user_id
    )
    return user.model_dump(exclude={"tenant_id"})


@app.delete("/users/{user_id}")
def remove(request: Request[None]) -> Response:
    directory = _admin(request, "remove")
    directory.remove(request.tenant_id, request.path_params["user_id"], actor=request.user_id)
    return Response.empty(204)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    return app(event, context)
