"""The Lambda authorizer over the authorizer events API Gateway sends (HTTP API 2.0,
REST TOKEN and REQUEST, WebSocket $connect), with locally issued tokens."""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import TYPE_CHECKING, Any

import pytest

from tenantkit.errors import ConfigurationError
from tenantkit_runtime.auth import TokenVerifier, identity_from_event
from tenantkit_runtime.functions import auth as auth_function
from tenantkit_runtime.functions.auth import Unauthorized, authorize, event_kind, handler
from tenantkit_runtime.local.issuer import LocalIssuer

if TYPE_CHECKING:
    from .conftest import Events, JwksServer

JWKS_PATH = "/local/.well-known/jwks.json"


@pytest.fixture
def verifier(local_issuer: LocalIssuer, jwks_server: JwksServer) -> TokenVerifier:
    return TokenVerifier(
        local_issuer.auth_settings(jwks_server.serve(JWKS_PATH, local_issuer.jwks()))
    )


@pytest.fixture
def token(local_issuer: LocalIssuer) -> str:
    return local_issuer.issue(tenant="acme", user="alice", roles=["admin", "member"])


@pytest.fixture
def expired(local_issuer: LocalIssuer) -> str:
    now = int(time.time())
    token = local_issuer.issue(tenant="acme", user="alice")
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return local_issuer.sign({**claims, "iat": now - 7200, "exp": now - 3600})


CONTEXT = {"tenant_id": "acme", "user_id": "alice", "roles": "admin,member"}


def _allow_policy(answer: dict[str, Any], resource: str) -> None:
    assert answer["principalId"] == "alice"
    assert answer["policyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource}],
    }
    assert answer["context"] == CONTEXT


def test_event_kinds(events: Events) -> None:
    assert event_kind(events.http_v2("t")) == "http"
    assert event_kind(events.rest_token("t")) == "token"
    assert event_kind(events.rest_request("t")) == "request"
    assert event_kind(events.websocket_connect("t")) == "websocket"
    with pytest.raises(ConfigurationError, match="not an API Gateway authorizer event"):
        event_kind({"httpMethod": "GET", "path": "/"})


# --- allowed --------------------------------------------------------------------------


def test_http_api_simple_response(events: Events, verifier: TokenVerifier, token: str) -> None:
    answer = authorize(events.http_v2(token), verifier)
    assert answer == {"isAuthorized": True, "context": CONTEXT}


def test_http_api_token_from_identity_source(
    events: Events, verifier: TokenVerifier, token: str
) -> None:
    event = events.http_v2(token)
    del event["headers"]["authorization"]
    assert authorize(event, verifier)["isAuthorized"] is True


def test_rest_token_authorizer_policy(events: Events, verifier: TokenVerifier, token: str) -> None:
    event = events.rest_token(f"Bearer {token}")
    _allow_policy(authorize(event, verifier), event["methodArn"])
    bare = events.rest_token(token)
    _allow_policy(authorize(bare, verifier), bare["methodArn"])


def test_rest_request_authorizer_policy(
    events: Events, verifier: TokenVerifier, token: str
) -> None:
    event = events.rest_request(token, path_parameters={"tenant_id": "acme"})
    _allow_policy(authorize(event, verifier), event["methodArn"])


def test_websocket_connect_takes_the_token_from_the_query(
    events: Events, verifier: TokenVerifier, token: str
) -> None:
    event = events.websocket_connect(token)
    answer = authorize(event, verifier)
    _allow_policy(answer, "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/$connect")


def test_the_context_reaches_the_functions_behind(
    events: Events, verifier: TokenVerifier, token: str
) -> None:
    """What the authorizer answers is what the next function reads, in each API's shape:
    HTTP API 2.0 under requestContext.authorizer.lambda
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html),
    REST and WebSocket under requestContext.authorizer with principalId
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html)."""
    http_answer = authorize(events.http_v2(token), verifier)
    http_event = {
        "version": "2.0",
        "routeKey": "GET /conversations",
        "requestContext": {"authorizer": {"lambda": http_answer["context"]}, "http": {}},
    }
    rest_answer = authorize(events.rest_request(token), verifier)
    rest_event = {
        "resource": "/request",
        "requestContext": {
            "authorizer": {"principalId": rest_answer["principalId"], **rest_answer["context"]}
        },
    }
    for event in (http_event, rest_event):
        identity = identity_from_event(event)
        assert identity is not None
        assert (identity.tenant_id, identity.user_id, identity.roles) == (
            "acme",
            "alice",
            ("admin", "member"),
        )
        assert identity.has_role("admin")
        assert not identity.has_role("owner")
    assert identity_from_event({"requestContext": {}}) is None
    assert identity_from_event({"requestContext": {"authorizer": {"lambda": {}}}}) is None


# --- refused --------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["missing", "garbage", "expired"])
def test_bad_tokens_are_refused_in_every_shape(
    events: Events, verifier: TokenVerifier, expired: str, bad: str
) -> None:
    token = {"missing": None, "garbage": "not-a-token", "expired": expired}[bad]
    assert authorize(events.http_v2(token), verifier) == {"isAuthorized": False}
    for event in (
        events.rest_token(token),
        events.rest_request(token),
        events.websocket_connect(token),
    ):
        with pytest.raises(Unauthorized) as info:
            authorize(event, verifier)
        assert str(info.value) == "Unauthorized"  # API Gateway's contract for a 401
        assert info.value.__cause__ is None
        assert info.value.__suppress_context__


def test_a_token_of_tenant_a_on_tenant_bs_route_is_denied(
    events: Events, verifier: TokenVerifier, token: str
) -> None:
    for event, where in (
        (events.http_v2(token, path_parameters={"tenant_id": "globex"}), "path parameter"),
        (events.http_v2(token, query={"tenant_id": "globex"}), "query parameter"),
        (events.http_v2(token, headers={"x-tenant-id": "globex"}), "X-Tenant-Id header"),
    ):
        # The reason rides in the refusal's context (API Gateway drops it; the local
        # gateway shows it).
        assert authorize(event, verifier) == {
            "isAuthorized": False,
            "context": {
                "error": "access_denied",
                "reason": f"a token of tenant 'acme' was used on a route whose {where} "
                "names tenant 'globex'",
            },
        }
    # A tenant that merely starts like the caller's is another tenant.
    event = events.http_v2(token, path_parameters={"tenant_id": "acme-1"})
    assert authorize(event, verifier)["isAuthorized"] is False
    for event in (
        events.rest_request(token, path_parameters={"tenant_id": "globex"}),
        events.rest_request(token, headers={"X-Tenant-Id": "globex"}),
        events.websocket_connect(token, query={"tenant_id": "globex"}),
    ):
        answer = authorize(event, verifier)
        assert answer["policyDocument"]["Statement"][0]["Effect"] == "Deny"
        assert "context" not in answer
    # The caller's own tenant passes.
    assert authorize(events.http_v2(token, path_parameters={"tenant_id": "acme"}), verifier)[
        "isAuthorized"
    ]


def test_the_route_parameter_name_is_configurable(
    events: Events, local_issuer: LocalIssuer, jwks_server: JwksServer, token: str
) -> None:
    url = jwks_server.serve(JWKS_PATH, local_issuer.jwks())
    verifier = TokenVerifier(local_issuer.auth_settings(url, route_tenant_param="tenant"))
    event = events.http_v2(token, path_parameters={"tenant": "globex", "tenant_id": "x"})
    assert authorize(event, verifier)["isAuthorized"] is False
    assert authorize(events.http_v2(token, path_parameters={"tenant": "acme"}), verifier)[
        "isAuthorized"
    ]


def test_the_handler_reads_its_settings_from_the_environment(
    events: Events,
    local_issuer: LocalIssuer,
    jwks_server: JwksServer,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = jwks_server.serve(JWKS_PATH, local_issuer.jwks())
    for key, value in local_issuer.auth_environment(url).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(auth_function, "_verifier", None)
    assert handler(events.http_v2(token), None) == {"isAuthorized": True, "context": CONTEXT}
    assert handler(events.http_v2(token + "x"), None) == {"isAuthorized": False}
    assert jwks_server.count(JWKS_PATH) == 1


def test_a_misconfigured_authorizer_says_which_variable(
    events: Events, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENANTKIT_AUTH_ISSUERS", "not a url")
    monkeypatch.setenv("TENANTKIT_AUTH_CLIENT_IDS", "app")
    monkeypatch.setattr(auth_function, "_verifier", None)
    with pytest.raises(ConfigurationError, match="TENANTKIT_AUTH_ISSUERS"):
        handler(events.http_v2(token), None)


def test_refusals_are_logged_without_the_token(
    events: Events,
    verifier: TokenVerifier,
    token: str,
    expired: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="tenantkit_runtime")
    authorize(events.http_v2(expired), verifier)
    authorize(events.http_v2(token, path_parameters={"tenant_id": "globex"}), verifier)
    authorize(events.http_v2(token), verifier)
    with pytest.raises(Unauthorized):
        authorize(events.websocket_connect(expired), verifier)
    reasons = [getattr(r, "auth_reason", None) for r in caplog.records]
    assert reasons.count("expired") == 2
    assert "tenant" in reasons
    for secret in (token, expired):
        for part in secret.split("."):
            assert part not in caplog.text


# --- the platform operator: no tenant, the /operator/ routes only ---------------------


def _on_route(event: dict[str, Any], route_key: str) -> dict[str, Any]:
    return {**event, "routeKey": route_key}


def test_an_operator_token_is_allowed_on_operator_routes_only(
    events: Events, verifier: TokenVerifier, local_issuer: LocalIssuer
) -> None:
    operator = local_issuer.issue(tenant=None, user="op-1", roles=["operator"])
    on_operator = _on_route(events.http_v2(operator), "ANY /operator/{proxy+}")
    answer = authorize(on_operator, verifier)
    assert answer == {
        "isAuthorized": True,
        "context": {"tenant_id": "", "user_id": "op-1", "roles": "operator"},
    }
    identity = identity_from_event(
        {"requestContext": {"authorizer": {"lambda": answer["context"]}}}
    )
    assert identity is not None
    assert identity.is_operator
    assert identity.tenant_id is None

    # The caller's path text does not count, only the route API Gateway matched.
    sneaky = _on_route(events.http_v2(operator, path="/operator/../conversations"), "ANY /files")
    for event in (
        events.http_v2(operator),
        sneaky,
        _on_route(events.http_v2(operator), "$default"),
    ):
        refused = authorize(event, verifier)
        assert refused["isAuthorized"] is False
        assert refused["context"]["error"] == "access_denied"
    # Naming a tenant on an operator route skips nothing and grants nothing.
    named = _on_route(
        events.http_v2(operator, headers={"x-tenant-id": "acme"}), "GET /operator/{proxy+}"
    )
    assert authorize(named, verifier)["context"]["tenant_id"] == ""
    # A TOKEN event names no route, a WebSocket is a tenant's: both denied.
    for event in (events.rest_token(f"Bearer {operator}"), events.websocket_connect(operator)):
        denied = authorize(event, verifier)
        assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    rest = {**events.rest_request(operator), "resource": "/operator/{proxy+}"}
    assert authorize(rest, verifier)["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_only_a_tenantless_operator_role_is_the_operator(
    events: Events, verifier: TokenVerifier, local_issuer: LocalIssuer
) -> None:
    # A tenant's user in the operator group is that tenant's user, nothing more.
    admin = local_issuer.issue(tenant="acme", user="alice", roles=["admin", "operator"])
    answer = authorize(_on_route(events.http_v2(admin), "ANY /operator/{proxy+}"), verifier)
    assert answer["context"]["tenant_id"] == "acme"
    # No tenant claim and no operator role: refused like any token without a tenant.
    now = int(time.time())
    claims = {
        "iss": local_issuer.issuer,
        "sub": "nobody",
        "token_use": "id",
        "aud": local_issuer.client_id,
        "iat": now,
        "exp": now + 600,
        "cognito:groups": ["admin"],
    }
    bare = local_issuer.sign(claims)
    refused = authorize(_on_route(events.http_v2(bare), "ANY /operator/{proxy+}"), verifier)
    assert refused == {"isAuthorized": False}
    with pytest.raises(ConfigurationError):
        local_issuer.issue(tenant=None, user="x", roles=["admin"])
    # A forged context (no tenant, no operator role) is no identity.
    with pytest.raises(ValueError, match="invalid tenant id"):
        identity_from_event(
            {"requestContext": {"authorizer": {"lambda": {"tenant_id": "", "user_id": "x"}}}}
        )
