"""The config function: roles, validated edits written back through the source, the
cache dropped, every change audited, credentials never echoed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tenantkit_runtime import deployment
from tenantkit_runtime.functions import config

from .conftest import PRESIGN_KEY

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


def test_admin_updates_branding(tenants, events, body) -> None:
    before = deployment.resolver().resolve("acme").config.version  # warm cache
    result = call(
        events.http(
            "PATCH",
            "/config",
            body={"branding": {"primary_color": "#112233", "display_name": None}},
            **ADMIN,
        )
    )
    assert result["statusCode"] == 200, result
    assert body(result)["branding"] == {"primary_color": "#112233"}
    assert body(result)["features"] == {"beta": False}
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
    assert audit[0]["details"] == {"changed": {"branding": ["display_name", "primary_color"]}}
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
    operators = call(events.http("PATCH", "/config", body={"plan": "gold"}, **ADMIN))
    assert operators["statusCode"] == 403  # the plan is the operator's
    assert [d["path"] for d in body(operators)["error"]["details"]] == ["plan"]
    assert body(call(events.http("GET", "/config/audit", **ADMIN)))["entries"] == []


def test_admin_changes_a_tenant_owned_setting_and_it_is_audited(
    tenants, events, body, json_logs
) -> None:
    result = call(
        events.http(
            "PUT",
            "/config/providers/llm",
            body={"provider": "echo", "prefix": "Acme bot: ", "model": "echo-2"},
            **ADMIN,
        )
    )
    assert result["statusCode"] == 200, result
    stored = tenants.read("acme")
    assert stored["llm"] == {"provider": "echo", "prefix": "Acme bot: ", "model": "echo-2"}
    assert stored["storage"]["signing_key"] == PRESIGN_KEY  # the rest untouched
    reply = (
        deployment.resolver().resolve("acme").llm.chat(messages=[{"role": "user", "content": "hi"}])
    )
    assert reply.text == "Acme bot: hi"
    audit = body(call(events.http("GET", "/config/audit", **ADMIN)))["entries"]
    assert [(e["actor"], e["action"]) for e in audit] == [("root", "config.provider.update")]
    assert audit[0]["details"] == {"kind": "llm", "provider": "echo", "fields": ["model", "prefix"]}
    back = call(events.http("PUT", "/config/providers/llm", body={"prefix": None}, **ADMIN))
    assert back["statusCode"] == 200
    assert tenants.read("acme")["llm"] == {"provider": "echo", "model": "echo-2"}
    same = call(events.http("PUT", "/config/providers/llm", body={"provider": "echo"}, **ADMIN))
    assert same["statusCode"] == 200
    audit = body(call(events.http("GET", "/config/audit", **ADMIN)))["entries"]
    assert [e["details"]["fields"] for e in audit] == [["prefix"], ["model", "prefix"]]


OPERATOR_CHANGES = [
    ("storage", {"signing_key": NEW_KEY}, ["storage.signing_key"]),
    ("storage", {"base_url": "http://127.0.0.1:8000/_evil"}, ["storage.base_url"]),
    ("storage", {"root": "/tmp/elsewhere"}, ["storage.root"]),
    ("db", {"path": "/tmp/evil.db"}, ["db.path"]),
    ("llm", {"replies": ["scripted"]}, ["llm.replies"]),
    ("llm", {"provider": "openai", "api_key": NEW_KEY, "model": "m"}, ["llm.provider"]),
    (
        "storage",
        {
            "provider": "local",
            "signing_key": NEW_KEY,
            "base_url": "http://127.0.0.1:8000/_evil",
        },
        ["storage.base_url", "storage.signing_key"],
    ),
]


@pytest.mark.parametrize(("kind", "change", "paths"), OPERATOR_CHANGES)
def test_operator_owned_settings_are_refused_naming_the_field(
    tenants, events, body, json_logs, kind, change, paths
) -> None:
    before = tenants.read("acme")
    result = call(events.http("PUT", f"/config/providers/{kind}", body=change, **ADMIN))
    assert result["statusCode"] == 403, result
    error = body(result)["error"]
    assert error["code"] == "forbidden"
    assert sorted(d["path"] for d in error["details"]) == paths
    assert all(path in error["message"] for path in paths)
    assert NEW_KEY not in result["body"]
    assert tenants.read("acme") == before
    assert body(call(events.http("GET", "/config/audit", **ADMIN)))["entries"] == []
    assert NEW_KEY not in json_logs.text


def test_a_setting_inherited_from_the_defaults_is_the_operators(tenants, events, body) -> None:
    (tenants.config_dir / "defaults.json").write_text(
        json.dumps({"llm": {"provider": "echo", "model": "house-model"}})
    )
    deployment.reset()
    refused = call(events.http("PUT", "/config/providers/llm", body={"model": "x"}, **ADMIN))
    assert refused["statusCode"] == 403
    assert [d["path"] for d in body(refused)["error"]["details"]] == ["llm.model"]
    # A tenant-owned field the defaults leave alone is the tenant's to set.
    allowed = call(events.http("PUT", "/config/providers/llm", body={"prefix": "A: "}, **ADMIN))
    assert allowed["statusCode"] == 200, allowed
    assert tenants.read("acme")["llm"] == {"provider": "echo", "prefix": "A: "}


def test_an_invalid_or_unknown_setting_is_refused_without_echoing_it(tenants, events, body) -> None:
    before = tenants.read("acme")
    long_prefix = "p" * 500
    result = call(
        events.http(
            "PUT", "/config/providers/llm", body={"prefix": long_prefix, "bucket": "b"}, **ADMIN
        )
    )
    assert result["statusCode"] == 422
    assert [d["path"] for d in body(result)["error"]["details"]] == ["llm.bucket"]
    too_long = call(
        events.http("PUT", "/config/providers/llm", body={"prefix": long_prefix}, **ADMIN)
    )
    assert too_long["statusCode"] == 422
    assert [d["path"] for d in body(too_long)["error"]["details"]] == ["llm.prefix"]
    assert long_prefix not in too_long["body"]
    kind = call(events.http("PUT", "/config/providers/cache", body={"provider": "x"}, **ADMIN))
    assert kind["statusCode"] == 404
    assert tenants.read("acme") == before


def test_defaults_stay_out_of_the_tenant_document(tenants, events, body) -> None:
    (tenants.config_dir / "defaults.json").write_text('{"features": {"search": true}}')
    deployment.reset()
    result = call(
        events.http("PATCH", "/config", body={"branding": {"display_name": "A"}}, **ADMIN)
    )
    assert body(result)["features"] == {"search": True, "beta": False}
    assert tenants.read("acme")["features"] == {"beta": False}


PLANTED_API_KEY = "sk-planted-tenant-llm-key-3f9a1c77e2"


def test_admins_read_the_tenant_owned_provider_fields(tenants, events, body) -> None:
    result = call(events.http("GET", "/config/providers", **ADMIN))
    assert result["statusCode"] == 200, result
    providers = body(result)["providers"]
    assert sorted(providers) == ["db", "llm", "storage"]
    assert providers["storage"] == {"provider": "local", "fields": []}  # all operator's
    llm = providers["llm"]
    assert llm["provider"] == "echo"
    by_name = {f["name"]: f for f in llm["fields"]}
    assert list(by_name) == ["model", "prefix"]  # never replies, fail_with
    assert by_name["model"]["value"] == "echo-1"
    assert by_name["model"]["schema"]["type"] == "string"
    assert by_name["model"]["schema"]["maxLength"] == 200
    assert by_name["model"]["description"] == "The model name reported when a request names none."
    assert by_name["prefix"] == {
        "name": "prefix",
        "schema": by_name["prefix"]["schema"],
        "description": None,
        "secret": False,
        "editable": True,
        "value": "echo: ",
    }
    assert PRESIGN_KEY not in result["body"]
    # What the editor shows is what PUT changes.
    call(events.http("PUT", "/config/providers/llm", body={"prefix": "A: "}, **ADMIN))
    again = body(call(events.http("GET", "/config/providers", **ADMIN)))
    assert {f["name"]: f["value"] for f in again["providers"]["llm"]["fields"]}["prefix"] == "A: "


def test_members_may_not_read_the_provider_fields(tenants, events, body) -> None:
    refused = call(events.http("GET", "/config/providers"))
    assert refused["statusCode"] == 403
    assert body(refused)["error"]["code"] == "access_denied"
    assert PRESIGN_KEY not in refused["body"]


def test_a_secret_provider_field_says_only_whether_it_is_set(tenants, events, body) -> None:
    tenants.add(
        "acme",
        llm={"provider": "openai", "api_key": PLANTED_API_KEY, "model": "gpt-4o-mini"},
    )
    deployment.reset()
    result = call(events.http("GET", "/config/providers", **ADMIN))
    assert result["statusCode"] == 200, result
    assert PLANTED_API_KEY not in result["body"]
    assert PLANTED_API_KEY[-8:] not in result["body"]
    fields = {f["name"]: f for f in body(result)["providers"]["llm"]["fields"]}
    assert set(fields) == {
        "api_key",
        "model",
        "organization",
        "project",
        "image_model",
        "embedding_model",
    }
    assert fields["api_key"]["secret"] is True
    assert fields["api_key"]["set"] is True
    assert "value" not in fields["api_key"]
    assert "default" not in fields["api_key"]["schema"]
    assert fields["model"] == {**fields["model"], "value": "gpt-4o-mini", "secret": False}
    assert fields["organization"]["value"] is None
    # Cleared, it says so.
    tenants.add(
        "acme", llm={"provider": "openai", "base_url": "https://llm.example.com/v1", "model": "m"}
    )
    deployment.reset()
    cleared = body(call(events.http("GET", "/config/providers", **ADMIN)))
    api_key = next(f for f in cleared["providers"]["llm"]["fields"] if f["name"] == "api_key")
    assert api_key["set"] is False


def test_a_field_the_defaults_set_is_shown_but_not_editable(tenants, events, body) -> None:
    (tenants.config_dir / "defaults.json").write_text(
        json.dumps({"llm": {"provider": "echo", "model": "house-model"}})
    )
    deployment.reset()
    result = body(call(events.http("GET", "/config/providers", **ADMIN)))
    fields = {f["name"]: f for f in result["providers"]["llm"]["fields"]}
    assert fields["model"]["editable"] is False
    assert fields["model"]["value"] == "house-model"
    assert fields["prefix"]["editable"] is True
