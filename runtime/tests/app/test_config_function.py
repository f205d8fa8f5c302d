"""The config function: roles, validated edits written back through the source, the
cache dropped, every change audited, credentials never echoed."""

from __future__ import annotations

from typing import Any

from tenantkit_runtime import deployment
from tenantkit_runtime.functions import config

ADMIN = {"roles": "member,admin", "user": "root"}
NEW_KEY = "presign-key-after-rotation-5a9e0d77"


def call(event: dict[str, Any]) -> dict[str, Any]:
    return config.handler(event, None)


def test_members_read_only_the_branding(tenants, events, body) -> None:
    branding = call(events.http("GET", "/config/branding"))
    assert branding["statusCode"] == 200
    assert body(branding) == {"display_name": "Acme"}
    for method, path, payload in (
        ("GET", "/config", None),
        ("PATCH", "/config", {"branding": {"display_name": "Hacked"}}),
        ("PUT", "/config/providers/llm", {"provider": "echo"}),
        ("GET", "/config/audit", None),
    ):
        refused = call(events.http(method, path, body=payload))
        assert refused["statusCode"] == 403, (method, path)
        assert body(refused)["error"]["code"] == "access_denied"
    assert tenants.read("acme")["branding"] == {"display_name": "Acme"}


def test_admins_read_the_non_secret_configuration(tenants, events, body) -> None:
    result = call(events.http("GET", "/config", **ADMIN))
    assert result["statusCode"] == 200
    assert body(result) == {
        "tenant_id": "acme",
        "plan": "standard",
        "providers": {"db": "sqlite", "llm": "echo", "storage": "local"},
        "limits": {
            "requests_per_minute": None,
            "llm_tokens_per_day": None,
            "max_upload_bytes": 1024,
            "storage_quota_bytes": None,
        },
        "features": {"beta": False},
        "branding": {"display_name": "Acme"},
    }
    assert "presign" not in result["body"]


def test_admin_updates_branding_and_features(tenants, events, body) -> None:
    before = deployment.resolver().resolve("acme").config.version  # warm cache
    result = call(
        events.http(
            "PATCH",
            "/config",
            body={
                "branding": {"primary_color": "#112233", "display_name": None},
                "features": {"beta": True, "exports": True},
            },
            **ADMIN,
        )
    )
    assert result["statusCode"] == 200, result
    assert body(result)["branding"] == {"primary_color": "#112233"}
    assert body(result)["features"] == {"beta": True, "exports": True}
    stored = tenants.read("acme")
    assert stored["branding"] == {"primary_color": "#112233"}
    assert stored["llm"] == {"provider": "echo"}  # the rest untouched
    assert deployment.resolver().resolve("acme").config.version != before
    seen = body(call(events.http("GET", "/config/branding", tenant="acme")))
    assert seen == {"primary_color": "#112233"}
    assert body(call(events.http("GET", "/config/branding", tenant="globex"))) == {
        "display_name": "Globex"
    }
    audit = body(call(events.http("GET", "/config/audit", **ADMIN)))["entries"]
    assert len(audit) == 1
    assert audit[0]["actor"] == "root"
    assert audit[0]["action"] == "config.update"
    assert audit[0]["details"] == {
        "changed": {"branding": ["display_name", "primary_color"], "features": ["beta", "exports"]}
    }
    assert (
        body(call(events.http("GET", "/config/audit", tenant="globex", **ADMIN)))["entries"] == []
    )


def test_invalid_settings_are_refused_with_field_paths(tenants, events, body) -> None:
    before = tenants.read("acme")
    result = call(
        events.http(
            "PATCH", "/config", body={"branding": {"primary_color": "red", "motto": "x"}}, **ADMIN
        )
    )
    assert result["statusCode"] == 422
    paths = {d["path"] for d in body(result)["error"]["details"]}
    assert paths == {"branding.primary_color", "branding.motto"}
    assert tenants.read("acme") == before
    wrong_type = call(events.http("PATCH", "/config", body={"plan": "gold"}, **ADMIN))
    assert wrong_type["statusCode"] == 422
    assert body(call(events.http("GET", "/config/audit", **ADMIN)))["entries"] == []


def test_replacing_provider_credentials(tenants, events, body, json_logs) -> None:
    section = {
        "provider": "local",
        "root": str(tenants.root / "files2"),
        "base_url": "http://127.0.0.1:9/_storage",
        "signing_key": NEW_KEY,
    }
    result = call(events.http("PUT", "/config/providers/storage", body=section, **ADMIN))
    assert result["statusCode"] == 200, result
    assert NEW_KEY not in result["body"]
    assert tenants.read("acme")["storage"]["signing_key"] == NEW_KEY
    tenant = deployment.resolver().resolve("acme")
    assert NEW_KEY in tenant.config.secret_values()
    audit = body(call(events.http("GET", "/config/audit", **ADMIN)))
    assert audit["entries"][0]["details"] == {"kind": "storage", "provider": "local"}
    assert NEW_KEY not in str(audit)
    assert NEW_KEY not in json_logs.text


def test_an_invalid_provider_section_is_refused_without_echoing_it(tenants, events, body) -> None:
    before = tenants.read("acme")
    short = "short-key"  # under the 16 characters local storage requires
    result = call(
        events.http(
            "PUT",
            "/config/providers/storage",
            body={"provider": "local", "root": "/tmp/x", "signing_key": short, "bucket": "b"},
            **ADMIN,
        )
    )
    assert result["statusCode"] == 422
    paths = {d["path"] for d in body(result)["error"]["details"]}
    assert paths == {"storage.signing_key", "storage.bucket"}
    assert short not in result["body"]
    unknown = call(events.http("PUT", "/config/providers/llm", body={"provider": "nope"}, **ADMIN))
    assert unknown["statusCode"] == 422
    assert body(unknown)["error"]["details"][0]["path"] == "llm.provider"
    kind = call(events.http("PUT", "/config/providers/cache", body={"provider": "x"}, **ADMIN))
    assert kind["statusCode"] == 404
    assert tenants.read("acme") == before


def test_defaults_stay_out_of_the_tenant_document(tenants, events, body) -> None:
    (tenants.config_dir / "defaults.json").write_text('{"features": {"search": true}}')
    deployment.reset()
    result = call(events.http("PATCH", "/config", body={"features": {"beta": True}}, **ADMIN))
    assert body(result)["features"] == {"search": True, "beta": True}
    assert tenants.read("acme")["features"] == {"beta": True}
