"""The application object: routing, bodies, identity, roles, CORS, error answers, logs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, Field

from tenantkit import errors
from tenantkit_runtime.app import App, Request, Response
from tenantkit_runtime.auth.errors import AccessDenied, TokenRejected
from tenantkit_runtime.http_errors import (
    MethodNotAllowed,
    PayloadTooLarge,
    RequestValidationError,
    TenantUnavailable,
    status_for,
)

app = App("test", cors_origins=["https://app.example.com"], max_body_bytes=2048)


class Note(BaseModel):
    text: str = Field(min_length=1, max_length=20)
    tags: list[str] = []


@app.get("/ping", public=True)
def ping(request: Request[None]) -> dict[str, Any]:
    return {"pong": True, "request_id": request.request_id}


@app.post("/notes/{note_id}", body=Note)
def add_note(request: Request[Note]) -> Response:
    return Response(
        {
            "note_id": request.path_params["note_id"],
            "text": request.body.text,
            "tenant": request.tenant_id,
            "user": request.user_id,
            "roles": sorted(request.roles),
        },
        status=201,
    )


@app.get("/notes/{note_id}")
def get_note(request: Request[None]) -> dict[str, Any]:
    return {"note_id": request.path_params["note_id"], "limit": request.query_int("limit", 10)}


@app.get("/admin", roles=["admin"])
def admin_only(request: Request[None]) -> dict[str, Any]:
    return {"ok": True}


@app.get("/text")
def text(request: Request[None]) -> Response:
    return Response("plain words", content_type="text/plain")


@app.get("/binary")
def binary(request: Request[None]) -> Response:
    return Response(b"\x89PNG\x00\xff", content_type="image/png")


@app.get("/uses-settings")
def uses_settings(request: Request[None]) -> dict[str, Any]:
    from tenantkit_runtime import deployment

    return {"role": deployment.settings().admin_role}


RAISED: dict[str, BaseException] = {}


@app.get("/raise/{name}")
def raise_(request: Request[None]) -> None:
    raise RAISED[request.path_params["name"]]


@pytest.fixture(autouse=True)
def _env(tenants: Any) -> None:
    """Every test here runs in a fresh deployment (the tenants fixture)."""


def test_http_and_rest_events_reach_the_same_route(events, body) -> None:
    for event in (
        events.http("POST", "/notes/n1", body={"text": "hi"}, roles="member,editor"),
        events.rest("POST", "/notes/n1", body={"text": "hi"}, roles="member,editor"),
    ):
        result = app(event, None)
        assert result["statusCode"] == 201, result
        assert result["headers"]["content-type"] == "application/json"
        assert body(result) == {
            "note_id": "n1",
            "text": "hi",
            "tenant": "acme",
            "user": "alice",
            "roles": ["editor", "member"],
        }


def test_named_stage_is_stripped_from_the_http_api_path(events, body) -> None:
    result = app(events.http("GET", "/notes/n%2F2", stage="prod", query={"limit": "5"}), None)
    assert result["statusCode"] == 200, result
    assert body(result) == {"note_id": "n/2", "limit": 5}


def test_base64_body_and_trailing_slash(events, body) -> None:
    event = events.http("POST", "/notes/n3/", body={"text": "b64"}, base64_body=True)
    assert body(app(event, None))["text"] == "b64"


def test_request_id_comes_from_api_gateway(events, body) -> None:
    event = events.http("GET", "/ping", tenant=None, user=None, roles=None)
    assert body(app(event, None))["request_id"] == event["requestContext"]["requestId"]


def test_unknown_path_is_404_and_wrong_method_405(events, body) -> None:
    missing = app(events.http("GET", "/nowhere"), None)
    assert missing["statusCode"] == 404
    assert body(missing)["error"]["code"] == "not_found"
    wrong = app(events.http("DELETE", "/notes/n1"), None)
    assert wrong["statusCode"] == 405
    assert wrong["headers"]["allow"] == "GET, POST"
    assert body(wrong)["error"]["code"] == "method_not_allowed"


def test_body_validation_names_fields_without_echoing_values(events, body) -> None:
    planted = "sk-planted-value-that-is-long-enough-0001"
    result = app(events.http("POST", "/notes/n1", body={"text": planted, "extra": 1}), None)
    assert result["statusCode"] == 422
    error = body(result)["error"]
    assert error["code"] == "validation_error"
    assert {d["path"] for d in error["details"]} == {"text"}
    assert planted not in result["body"]


def test_unknown_fields_are_ignored_only_where_the_model_allows(events, body) -> None:
    result = app(events.http("POST", "/notes/n1", body={"text": "x", "tags": "not-a-list"}), None)
    assert result["statusCode"] == 422
    assert body(result)["error"]["details"][0]["path"] == "tags"


def test_field_paths_are_written_as_the_core_writes_them(events, body) -> None:
    result = app(events.http("POST", "/notes/n1", body={"text": "x", "tags": ["a", 2]}), None)
    assert result["statusCode"] == 422
    assert [d["path"] for d in body(result)["error"]["details"]] == ["tags[1]"]


def test_malformed_json_is_400(events, body) -> None:
    result = app(events.http("POST", "/notes/n1", body='{"text": '), None)
    assert result["statusCode"] == 400
    assert body(result)["error"] == {
        "code": "invalid_request",
        "message": "the request body is not valid JSON",
        "request_id": result_request_id(result),
    }


def result_request_id(result: dict[str, Any]) -> str:
    return str(json.loads(result["body"])["error"]["request_id"])


def test_oversized_body_is_413(events, body) -> None:
    result = app(events.http("POST", "/notes/n1", body={"text": "x" * 5000}), None)
    assert result["statusCode"] == 413
    assert body(result)["error"]["code"] == "payload_too_large"


def test_bad_query_parameter_is_400(events, body) -> None:
    result = app(events.http("GET", "/notes/n1", query={"limit": "many"}), None)
    assert result["statusCode"] == 400
    assert "limit" in body(result)["error"]["message"]


def test_no_authorizer_context_is_401(events, body) -> None:
    result = app(events.http("GET", "/notes/n1", tenant=None, user=None, roles=None), None)
    assert result["statusCode"] == 401
    assert body(result)["error"]["code"] == "invalid_token"  # the caller's, not a provider's


def test_a_malformed_tenant_in_the_authorizer_context_is_401(events, body) -> None:
    for tenant in ("ACME", "../acme", "tenantkit-control-plane"):
        result = app(events.http("GET", "/notes/n1", tenant=tenant), None)
        assert result["statusCode"] == 401, tenant
        assert body(result)["error"]["request_id"] is not None


def test_roles_restrict_routes(events, body) -> None:
    refused = app(events.http("GET", "/admin", roles="member"), None)
    assert refused["statusCode"] == 403
    assert body(refused)["error"]["code"] == "access_denied"
    assert app(events.http("GET", "/admin", roles="member,admin"), None)["statusCode"] == 200


def test_text_and_binary_responses(events) -> None:
    plain = app(events.http("GET", "/text"), None)
    assert plain["body"] == "plain words"
    assert plain["isBase64Encoded"] is False
    image = app(events.http("GET", "/binary"), None)
    assert image["isBase64Encoded"] is True
    assert image["headers"]["content-type"] == "image/png"


def test_cors_preflight_and_response_headers(events) -> None:
    origin = {"origin": "https://app.example.com"}
    preflight = app(
        events.http(
            "OPTIONS",
            "/notes/n1",
            headers={**origin, "access-control-request-method": "POST"},
            tenant=None,
            user=None,
            roles=None,
        ),
        None,
    )
    assert preflight["statusCode"] == 204
    assert preflight["headers"]["access-control-allow-origin"] == "https://app.example.com"
    assert preflight["headers"]["access-control-allow-methods"] == "GET, POST"
    normal = app(events.http("GET", "/notes/n1", headers=origin), None)
    assert normal["headers"]["access-control-allow-origin"] == "https://app.example.com"
    other = app(events.http("GET", "/notes/n1", headers={"origin": "https://evil.example"}), None)
    assert "access-control-allow-origin" not in other["headers"]


def test_not_an_api_gateway_event_is_400(body) -> None:
    result = app({"hello": "world"}, None)
    assert result["statusCode"] == 400


# --- the error mapping ---------------------------------------------------------------------

MAPPING = [
    (errors.InvalidRequest("bad"), 400, "invalid_request"),
    (errors.InvalidKey("bad key"), 400, "invalid_key"),
    (errors.InvalidCursor("bad cursor"), 400, "invalid_cursor"),
    (errors.ContextWindowExceeded("too long", provider="echo"), 400, "context_window_exceeded"),
    (errors.ContentFiltered("no", provider="echo"), 400, "content_filtered"),
    (errors.Unsupported("no tools", provider="echo"), 400, "unsupported"),
    (TokenRejected("who are you", reason="missing"), 401, "invalid_token"),
    (AccessDenied("not you"), 403, "access_denied"),
    (errors.NotFound("nothing", provider="sqlite"), 404, "not_found"),
    (errors.TenantNotFound("no tenant"), 404, "tenant_not_found"),
    (errors.ConditionFailed("exists", provider="sqlite"), 409, "condition_failed"),
    (errors.TransactionCanceled("rolled back", provider="sqlite"), 409, "transaction_canceled"),
    (PayloadTooLarge("big"), 413, "payload_too_large"),
    (errors.RateLimited("slow down", provider="claude", retry_after=2.2), 429, "rate_limited"),
    (errors.Throttled("busy", provider="dynamodb"), 429, "throttled"),
    (errors.QuotaExceeded("no credit", provider="openai"), 429, "quota_exceeded"),
    (errors.AuthenticationError("key revoked", provider="claude"), 502, "authentication_error"),
    (errors.PermissionDenied("no s3:GetObject", provider="s3"), 502, "permission_denied"),
    (errors.ProviderUnavailable("5xx", provider="openai"), 502, "provider_unavailable"),
    (errors.ConnectionFailed("refused", provider="postgres"), 502, "connection_failed"),
    (errors.OutcomeUnknown("cut after sending", provider="postgres"), 502, "outcome_unknown"),
    # a provider's credential is never the caller's, with or without a provider name
    (errors.AuthenticationError("key revoked"), 502, "authentication_error"),
    (errors.PermissionDenied("no s3:PutObject"), 502, "permission_denied"),
    (errors.StreamInterrupted("cut", provider="gemini"), 502, "stream_interrupted"),
    (errors.ProviderError("odd", provider="gcs"), 502, "provider_error"),
    (errors.IsolationViolation("outside", provider="x"), 502, "isolation_violation"),
    (
        errors.SecretValidationError([errors.FieldError("llm.api_key", "required")]),
        503,
        "invalid_secret",
    ),
    (errors.TenantMismatch("mismatch"), 503, "tenant_mismatch"),
    (errors.ConfigSourceError("down"), 503, "config_source_error"),
    (errors.PluginImportError("import failed"), 503, "plugin_import_error"),
    (errors.ProviderNotFound("not installed"), 503, "provider_not_found"),
    (errors.ProviderSetupFailed("building db provider failed"), 503, "provider_setup_failed"),
    (errors.TenantClosed("resolve it again"), 503, "tenant_closed"),
    (errors.TenantkitError("outside every family"), 500, "internal_error"),
    (TenantUnavailable("db provider could not be set up"), 503, "tenant_unavailable"),
    (errors.Timeout("slow", provider="claude"), 504, "timeout"),
    (MethodNotAllowed("no", allowed=["GET"]), 405, "method_not_allowed"),
    (RuntimeError("boom"), 500, "internal_error"),
]


@pytest.mark.parametrize(("exc", "status", "code"), MAPPING, ids=[m[2] for m in MAPPING])
def test_every_error_kind_has_its_status(events, body, exc, status, code) -> None:
    RAISED["it"] = exc
    result = app(events.http("GET", "/raise/it"), None)
    assert result["statusCode"] == status
    assert status_for(exc) == status
    error = body(result)["error"]
    assert error["code"] == code
    assert error["request_id"] == result_request_id(result)
    assert set(error) >= {"code", "message", "request_id"}
    if status >= 500:
        assert exc.args[0] not in error["message"]  # details stay in the logs
    else:
        assert error["message"] == getattr(exc, "message", str(exc))


#: Every class of the taxonomy and of the runtime, with the status it answers as.
STATUS_BY_CLASS: dict[type[BaseException], int] = {
    errors.TenantkitError: 500,
    errors.CallerError: 400,
    errors.InvalidRequest: 400,
    errors.InvalidKey: 400,
    errors.InvalidCursor: 400,
    errors.ContextWindowExceeded: 400,
    errors.NotFound: 404,
    errors.Forbidden: 403,
    errors.ConditionFailed: 409,
    errors.TransactionCanceled: 409,
    errors.Unsupported: 400,
    errors.ProviderError: 502,
    errors.RateLimited: 429,
    errors.Throttled: 429,
    errors.Timeout: 504,
    errors.ProviderUnavailable: 502,
    errors.ConnectionFailed: 502,
    errors.StreamInterrupted: 502,
    errors.OutcomeUnknown: 502,
    errors.AuthenticationError: 502,
    errors.PermissionDenied: 502,
    errors.ContentFiltered: 400,
    errors.QuotaExceeded: 429,
    errors.ConfigurationError: 503,
    errors.SecretValidationError: 503,
    errors.TenantNotFound: 404,
    errors.TenantMismatch: 503,
    errors.PluginError: 503,
    errors.ProviderNotFound: 503,
    errors.PluginImportError: 503,
    errors.PluginConflict: 503,
    errors.InvalidPlugin: 503,
    errors.ProviderSetupFailed: 503,
    errors.ConfigSourceError: 503,
    errors.TenantClosed: 503,
    errors.IsolationViolation: 502,
    TokenRejected: 401,
    AccessDenied: 403,
    MethodNotAllowed: 405,
    PayloadTooLarge: 413,
    RequestValidationError: 422,
    TenantUnavailable: 503,
}


def test_every_error_class_has_its_status() -> None:
    taxonomy = {
        cls
        for name in errors.__all__
        if isinstance(cls := getattr(errors, name), type) and issubclass(cls, BaseException)
    }
    assert taxonomy <= set(STATUS_BY_CLASS), taxonomy - set(STATUS_BY_CLASS)
    for cls, status in STATUS_BY_CLASS.items():
        instance = cls.__new__(cls)  # the status depends on the class alone
        assert status_for(instance) == status, cls.__name__


def test_a_subclass_defined_elsewhere_gets_its_nearest_base_status() -> None:
    class PluginThrottle(errors.Throttled):
        kind = "example_throttle"

    class PluginMissingThing(errors.NotFound):
        pass

    class Twice(PluginMissingThing):
        kind = "twice_removed"

    class Unmapped(errors.TenantkitError):
        kind = "unmapped"

    assert status_for(PluginThrottle("slow down", provider="example")) == 429
    assert status_for(PluginMissingThing("gone")) == 404
    assert status_for(Twice("gone")) == 404
    assert status_for(Unmapped("who knows")) == 500
    assert status_for(ValueError("not ours")) == 500


def test_retry_after_on_429_and_retryable_503(events) -> None:
    RAISED["it"] = errors.RateLimited("slow down", provider="claude", retry_after=2.2)
    assert app(events.http("GET", "/raise/it"), None)["headers"]["retry-after"] == "3"
    RAISED["it"] = errors.Throttled("busy", provider="dynamodb")
    assert app(events.http("GET", "/raise/it"), None)["headers"]["retry-after"] == "1"
    RAISED["it"] = errors.ConfigSourceError("down")
    assert app(events.http("GET", "/raise/it"), None)["headers"]["retry-after"] == "1"
    RAISED["it"] = errors.QuotaExceeded("no credit", provider="openai")
    assert "retry-after" not in app(events.http("GET", "/raise/it"), None)["headers"]


def test_unexpected_error_is_generic_for_the_client_and_logged_scrubbed(
    events, body, json_logs
) -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXBhcnQ"
    RAISED["it"] = RuntimeError(f"exploded near {jwt} and cursor-signing-key-for-tests-0123456789")
    result = app(events.http("GET", "/raise/it"), None)
    assert result["statusCode"] == 500
    assert body(result)["error"]["message"] == "internal error"
    assert "Traceback" not in result["body"]
    assert "exploded" not in result["body"]
    failure = next(r for r in json_logs.records if r["level"] == "ERROR")
    assert "Traceback" in failure["exception"]
    assert "exploded near" in failure["exception"]
    assert jwt not in json_logs.text
    assert "cursor-signing-key-for-tests-0123456789" not in json_logs.text


def test_every_log_line_carries_request_tenant_and_user(events, json_logs) -> None:
    event = events.http("GET", "/notes/n1", tenant="globex", user="bob")
    app(event, None)
    lines = [r for r in json_logs.records if r["logger"].startswith("tenantkit")]
    assert lines, json_logs.text
    for record in lines:
        assert record["request_id"] == event["requestContext"]["requestId"]
        assert record["tenant_id"] == "globex"
        assert record["user_id"] == "bob"
    access = lines[-1]
    assert access["data"]["status"] == 200
    assert access["data"]["duration_ms"] >= 0


def test_a_broken_deployment_setting_is_503_not_a_crash(events, body, monkeypatch) -> None:
    from tenantkit_runtime import deployment

    monkeypatch.setenv("TENANTKIT_CONTROL_PLANE", "{not json")
    deployment.reset()
    result = app(events.http("GET", "/uses-settings", headers={"origin": "https://x"}), None)
    assert result["statusCode"] == 503
    assert body(result)["error"]["code"] == "configuration_error"


@app.get("/unencodable")
def unencodable(request: Request[None]) -> dict[str, Any]:
    return {"value": object()}


def test_an_answer_json_cannot_hold_is_500(events, body) -> None:
    result = app(events.http("GET", "/unencodable"), None)
    assert result["statusCode"] == 500
    assert body(result)["error"]["code"] == "internal_error"
