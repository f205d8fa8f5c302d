"""The users function on both backends (Cognito on moto, the local user pool): every
operation, the table and the audit log kept in step, and every way to reach another
tenant, set the tenant attribute or grant the operator role refused (403) and audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tenantkit_runtime import deployment, userstore
from tenantkit_runtime.functions import users
from tenantkit_runtime.local.issuer import LocalIssuer
from tenantkit_runtime.local.users import LocalUserStore
from testharness.moto import MotoServer

ADMIN = {"roles": "admin,member", "user": "root-admin"}


def call(event: dict[str, Any]) -> dict[str, Any]:
    return users.handler(event, None)


@pytest.fixture(params=["local", "cognito"])
def backend(
    request: pytest.FixtureRequest, tenants, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    monkeypatch.delenv("TENANTKIT_USER_POOL_ID", raising=False)
    monkeypatch.delenv("TENANTKIT_LOCAL_USERS", raising=False)
    if request.param == "local":
        monkeypatch.setenv("TENANTKIT_LOCAL_USERS", str(tmp_path / "users.sqlite3"))
    else:
        moto: MotoServer = request.getfixturevalue("moto_server")
        idp = moto.client("cognito-idp")
        pool_id = idp.create_user_pool(
            PoolName=f"users-{tmp_path.name}",
            UsernameAttributes=["email"],
            Schema=[{"Name": "tenant_id", "AttributeDataType": "String", "Mutable": False}],
        )["UserPool"]["Id"]
        for group in ("admin", "member", "operator"):
            idp.create_group(GroupName=group, UserPoolId=pool_id)
        monkeypatch.setenv("TENANTKIT_USER_POOL_ID", pool_id)
        monkeypatch.setenv("TENANTKIT_USER_POOL_ENDPOINT_URL", moto.endpoint_url)
    userstore.reset_user_store()
    yield request.param
    userstore.reset_user_store()


def invite(events, body, email: str, roles: list[str], tenant: str = "acme") -> dict[str, Any]:
    result = call(
        events.http("POST", "/users", body={"email": email, "roles": roles}, tenant=tenant, **ADMIN)
    )
    assert result["statusCode"] == 201, result["body"]
    return body(result)


def audit_actions(tenant: str) -> list[str]:
    entries, _ = deployment.control_plane().audit_log(tenant, limit=100)
    return [e.action for e in entries]


def refusals(tenant: str) -> list[dict[str, Any]]:
    entries, _ = deployment.control_plane().audit_log(tenant, limit=100)
    return [e.details for e in entries if e.action == "user.refused"]


def test_every_operation_on_the_pool_the_table_and_the_audit_log(backend, events, body) -> None:
    carol = invite(events, body, "Carol@Example.com", ["member"])
    assert carol["email"] == "carol@example.com"
    assert carol["roles"] == ["member"]
    assert carol["status"] == "invited"
    uid = carol["user_id"]
    pool = userstore.user_store().get(uid)
    assert pool is not None
    assert pool.tenant_id == "acme"
    assert pool.roles == ("member",)

    listed = body(call(events.http("GET", "/users", **ADMIN)))
    assert [u["user_id"] for u in listed["users"]] == [uid]

    got = call(events.http("GET", f"/users/{uid}", **ADMIN))
    assert got["statusCode"] == 200
    assert body(got)["email"] == "carol@example.com"

    changed = call(
        events.http("PUT", f"/users/{uid}/roles", body={"roles": ["admin", "member"]}, **ADMIN)
    )
    assert changed["statusCode"] == 200, changed["body"]
    assert body(changed)["roles"] == ["admin", "member"]
    assert userstore.user_store().get(uid).roles == ("admin", "member")

    resent = call(events.http("POST", f"/users/{uid}/invitation", **ADMIN))
    assert resent["statusCode"] == 200, resent["body"]

    disabled = call(events.http("POST", f"/users/{uid}/disable", **ADMIN))
    assert body(disabled)["status"] == "disabled"
    assert userstore.user_store().get(uid).enabled is False
    assert deployment.control_plane().user("acme", uid).status == "disabled"
    enabled = call(events.http("POST", f"/users/{uid}/enable", **ADMIN))
    assert body(enabled)["status"] == "invited"

    me = call(
        events.http(
            "PATCH",
            "/users/me",
            body={"display_name": "Carol Å", "locale": "fr-CA"},
            user=uid,
            roles="member",
        )
    )
    assert me["statusCode"] == 200, me["body"]
    assert body(me)["display_name"] == "Carol Å"
    assert body(me)["locale"] == "fr-CA"
    mine = body(call(events.http("GET", "/users/me", user=uid, roles="member")))
    assert mine["locale"] == "fr-CA"
    assert mine["last_seen"]

    removed = call(events.http("DELETE", f"/users/{uid}", **ADMIN))
    assert removed["statusCode"] == 204
    assert userstore.user_store().get(uid) is None
    assert deployment.control_plane().user("acme", uid) is None
    assert call(events.http("GET", f"/users/{uid}", **ADMIN))["statusCode"] == 404

    assert audit_actions("acme") == [
        "user.remove",
        "user.profile",
        "user.enable",
        "user.disable",
        "user.resend",
        "user.roles",
        "user.invite",
    ]


def test_another_tenants_user_is_refused_through_every_route_and_audited(
    backend, events, body
) -> None:
    bob = invite(events, body, "bob@globex.example", ["member"], tenant="globex")
    uid = bob["user_id"]
    attempts = [
        ("GET", f"/users/{uid}", None),
        ("PUT", f"/users/{uid}/roles", {"roles": ["admin"]}),
        ("POST", f"/users/{uid}/disable", None),
        ("POST", f"/users/{uid}/enable", None),
        ("POST", f"/users/{uid}/invitation", None),
        ("DELETE", f"/users/{uid}", None),
    ]
    for method, path, payload in attempts:
        result = call(events.http(method, path, body=payload, tenant="acme", **ADMIN))
        assert result["statusCode"] == 403, (method, path, result["body"])
        assert "bob" not in result["body"]
    listed = body(call(events.http("GET", "/users", tenant="acme", **ADMIN)))
    assert listed["users"] == []
    assert [r["reason"] for r in refusals("acme")] == ["other_tenant"] * len(attempts)
    assert {r["user_id"] for r in refusals("acme")} == {uid}
    pool = userstore.user_store().get(uid)
    assert pool is not None
    assert pool.enabled
    assert pool.roles == ("member",)
    assert audit_actions("globex") == ["user.invite"]


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "eve@example.com", "roles": ["member"], "tenant_id": "globex"},
        {"email": "eve@example.com", "roles": ["member"], "custom:tenant_id": "globex"},
        {"email": "eve@example.com", "attributes": {"custom:tenant_id": "globex"}},
        {"email": "eve@example.com", "Tenant": "globex"},
    ],
)
def test_setting_the_tenant_attribute_is_refused_and_audited(
    backend, events, body, payload
) -> None:
    result = call(events.http("POST", "/users", body=payload, **ADMIN))
    assert result["statusCode"] == 403, result["body"]
    assert [r["reason"] for r in refusals("acme")] == ["tenant_attribute"]
    assert body(call(events.http("GET", "/users", **ADMIN)))["users"] == []


def test_the_tenant_attribute_is_refused_on_roles_and_profile_too(backend, events, body) -> None:
    uid = invite(events, body, "dan@example.com", ["member"])["user_id"]
    for method, path, payload, who in (
        ("PUT", f"/users/{uid}/roles", {"roles": ["member"], "tenant_id": "globex"}, ADMIN),
        ("PATCH", "/users/me", {"tenant_id": "globex"}, {"user": uid, "roles": "member"}),
        ("POST", f"/users/{uid}/disable", {"tenant_id": "globex"}, ADMIN),
    ):
        assert call(events.http(method, path, body=payload, **who))["statusCode"] == 403
    assert [r["reason"] for r in refusals("acme")] == ["tenant_attribute"] * 3
    assert userstore.user_store().get(uid).tenant_id == "acme"


def test_the_operator_role_is_never_granted(backend, events, body) -> None:
    uid = invite(events, body, "erin@example.com", ["member"])["user_id"]
    invited = call(
        events.http(
            "POST", "/users", body={"email": "x@example.com", "roles": ["operator"]}, **ADMIN
        )
    )
    promoted = call(
        events.http("PUT", f"/users/{uid}/roles", body={"roles": ["admin", "operator"]}, **ADMIN)
    )
    assert invited["statusCode"] == promoted["statusCode"] == 403
    assert [r["reason"] for r in refusals("acme")] == ["operator_role", "operator_role"]
    assert userstore.user_store().get(uid).roles == ("member",)
    assert len(body(call(events.http("GET", "/users", **ADMIN)))["users"]) == 1


def test_members_cannot_administer_users(backend, events, body) -> None:
    uid = invite(events, body, "fay@example.com", ["member"])["user_id"]
    for method, path, payload in (
        ("GET", "/users", None),
        ("POST", "/users", {"email": "g@example.com"}),
        ("PUT", f"/users/{uid}/roles", {"roles": ["admin"]}),
        ("DELETE", f"/users/{uid}", None),
    ):
        result = call(events.http(method, path, body=payload, user=uid, roles="member"))
        assert result["statusCode"] == 403, (method, path)
    assert len(refusals("acme")) == 4
    # a role from another tenant's token name is no admin either
    assert call(events.http("GET", "/users", roles="operator"))["statusCode"] == 403


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "a" * 5_000 + "@example.com"}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "zoë@exämple.com"}, "email"),
        ({"email": "a@b.com\u0000"}, "email"),
        ({"email": "a@example.com", "roles": ["superuser"]}, "roles[0]"),
        ({"email": "a@example.com", "roles": ["member", "x" * 500]}, "roles[1]"),
        ({"email": "a@example.com", "roles": []}, "roles"),
        ({"email": "a@example.com", "locale": "en_US;DROP"}, "locale"),
        ({"email": "a@example.com", "display_name": "a\u202eb"}, "display_name"),
        ({"email": "a@example.com", "surprise": 1}, "surprise"),
        ({"email": ["a@example.com"]}, "email"),
    ],
)
def test_hostile_input_is_a_4xx_naming_the_field(backend, events, body, payload, field) -> None:
    result = call(events.http("POST", "/users", body=payload, **ADMIN))
    assert result["statusCode"] == 422, result["body"]
    fields = [e["path"] for e in body(result)["error"]["details"]]
    assert field in fields, body(result)


def test_odd_bodies_and_ids_are_4xx(backend, events, body) -> None:
    huge = json.dumps({"email": "a@example.com", "display_name": "x" * 20_000})
    assert call(events.http("POST", "/users", body=huge, **ADMIN))["statusCode"] == 413
    assert call(events.http("POST", "/users", body='{"email": "\\ud800"}', **ADMIN))[
        "statusCode"
    ] in (400, 422)
    assert call(events.http("POST", "/users", body="[[[[" * 200, **ADMIN))["statusCode"] == 400
    assert call(events.http("GET", "/users/" + "%2E%2E%2Fx", **ADMIN))["statusCode"] == 422
    assert call(events.http("GET", "/users/" + "u" * 300, **ADMIN))["statusCode"] == 422
    again = call(events.http("POST", "/users", body={"email": "dup@example.com"}, **ADMIN))
    assert again["statusCode"] == 201
    dup = call(events.http("POST", "/users", body={"email": "dup@example.com"}, **ADMIN))
    assert dup["statusCode"] == 409


def test_local_refresh_follows_roles_and_fails_once_disabled_or_removed(
    tenants, tmp_path, issuer_key_dir, events, body, monkeypatch
) -> None:
    monkeypatch.delenv("TENANTKIT_USER_POOL_ID", raising=False)
    monkeypatch.setenv("TENANTKIT_LOCAL_USERS", str(tmp_path / "users.sqlite3"))
    userstore.reset_user_store()
    store = userstore.user_store()
    assert isinstance(store, LocalUserStore)
    issuer = LocalIssuer(issuer_key_dir)
    uid = invite(events, body, "hal@example.com", ["member"])["user_id"]
    session = store.sign_in("hal@example.com", issuer)
    assert deployment.control_plane().user("acme", uid) is not None

    import jwt

    def groups(token: str) -> list[str]:
        return jwt.decode(token, options={"verify_signature": False}).get("cognito:groups", [])

    assert groups(session["id_token"]) == ["member"]
    call(events.http("PUT", f"/users/{uid}/roles", body={"roles": ["admin"]}, **ADMIN))
    assert groups(store.refresh(session["refresh_token"], issuer)["id_token"]) == ["admin"]
    call(events.http("POST", f"/users/{uid}/disable", **ADMIN))
    from tenantkit_runtime.auth.errors import TokenRejected

    with pytest.raises(TokenRejected):
        store.refresh(session["refresh_token"], issuer)
    call(events.http("POST", f"/users/{uid}/enable", **ADMIN))
    session = store.sign_in("hal@example.com", issuer)
    call(events.http("DELETE", f"/users/{uid}", **ADMIN))
    with pytest.raises(TokenRejected):
        store.refresh(session["refresh_token"], issuer)
    userstore.reset_user_store()
