"""The local gateway's API Gateway semantics: routes as the template declares them, the
events the functions receive (read back by the runtime's own event parser and
answered by the real authorizer), and the answers it derives from theirs."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from tenantkit_runtime.events import parse_event
from tenantkit_runtime.functions.auth import authorize, event_kind
from tenantkit_runtime.local import gateway
from tenantkit_runtime.local.gateway import Connection, HttpRequest, HttpRoute
from tenantkit_runtime.local.issuer import LocalIssuer

TEMPLATE = Path(__file__).parents[1] / "deploy" / "template.yaml"
_FUNCTIONS = {
    "ChatFunction": "chat",
    "FilesFunction": "files",
    "ConfigFunction": "config",
    "UsersFunction": "users",
    "OperatorFunction": "operator",
    "WebSocketFunction": "websocket",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    parsed, errors = decode(str(TEMPLATE))
    assert not errors
    assert parsed is not None
    return dict(parsed)


def test_http_routes_are_the_templates(template: dict[str, Any]) -> None:
    declared = set()
    for name, resource in template["Resources"].items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "HttpApi":
                props = event["Properties"]
                authorizer = props.get("Auth", {}).get("Authorizer") != "NONE"
                declared.add(
                    HttpRoute(props["Method"], props["Path"], _FUNCTIONS[name], authorizer)
                )
    assert declared == set(gateway.HTTP_ROUTES)


def test_websocket_routes_are_the_templates(template: dict[str, Any]) -> None:
    api = next(r for r in template["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api")
    assert api["Properties"]["RouteSelectionExpression"] == "$request.body.action"
    keys = {
        r["Properties"]["RouteKey"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ApiGatewayV2::Route"
    }
    assert keys == set(gateway.WEBSOCKET_ROUTES)


@pytest.mark.parametrize(
    ("method", "path", "key", "params"),
    [
        ("GET", "/conversations", "ANY /conversations", {}),
        ("DELETE", "/conversations/c1", "ANY /conversations/{proxy+}", {"proxy": "c1"}),
        (
            "POST",
            "/conversations/c1/messages",
            "ANY /conversations/{proxy+}",
            {"proxy": "c1/messages"},
        ),
        ("POST", "/v1/chat/completions", "POST /v1/chat/completions", {}),
        ("GET", "/files/f1/download", "ANY /files/{proxy+}", {"proxy": "f1/download"}),
        ("PATCH", "/config", "ANY /config", {}),
    ],
)
def test_requests_reach_their_route(
    method: str, path: str, key: str, params: dict[str, str]
) -> None:
    matched = gateway.match_route(gateway.HTTP_ROUTES, method, path)
    assert matched is not None
    assert matched[0].key == key
    assert matched[1] == params


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/chat/completions"),
        ("GET", "/"),
        ("GET", "/conversationsx"),
        ("GET", "/conversations/"),
        ("GET", "/filesystem"),
    ],
)
def test_requests_without_a_route(method: str, path: str) -> None:
    assert gateway.match_route(gateway.HTTP_ROUTES, method, path) is None


def test_the_most_specific_route_wins() -> None:
    # The example of "Working with routes for HTTP APIs" in the API Gateway guide.
    routes = [
        HttpRoute("GET", "/pets/dog/1", "a"),
        HttpRoute("GET", "/pets/dog/{id}", "b"),
        HttpRoute("GET", "/pets/{proxy+}", "c"),
        HttpRoute("ANY", "/{proxy+}", "d"),
    ]
    assert gateway.match_route(routes, "GET", "/pets/dog/1")[0].function == "a"  # type: ignore[index]
    assert gateway.match_route(routes, "GET", "/pets/dog/2") == (routes[1], {"id": "2"})
    assert gateway.match_route(routes, "GET", "/pets/cat/1") == (routes[2], {"proxy": "cat/1"})
    assert gateway.match_route(routes, "POST", "/pets/dog/2") == (
        routes[3],
        {"proxy": "pets/dog/2"},
    )


def _request(**overrides: Any) -> HttpRequest:
    values: dict[str, Any] = {
        "method": "POST",
        "raw_path": "/files/a%20b/confirm",
        "path": "/files/a b/confirm",
        "raw_query": "limit=5&tag=x&tag=y&empty=",
        "headers": [
            ("Host", "127.0.0.1:8000"),
            ("Authorization", "Bearer TOKEN"),
            ("X-Multi", "1"),
            ("x-multi", "2"),
            ("Cookie", "a=1; b=2"),
            ("Content-Type", "application/json"),
            ("User-Agent", "pytest"),
        ],
        "body": b'{"name": "x"}',
        "source_ip": "127.0.0.1",
        "request_id": "req-1",
        "time": 1_700_000_000.5,
    }
    values.update(overrides)
    return HttpRequest(**values)


def test_http_event_has_the_payload_2_0_shape() -> None:
    route = gateway.HTTP_ROUTES[4]
    event = gateway.http_event(_request(), route, {"proxy": "a b/confirm"}, {"tenant_id": "acme"})
    assert event["version"] == "2.0"
    assert event["routeKey"] == "ANY /files/{proxy+}"
    assert event["rawPath"] == "/files/a%20b/confirm"
    assert event["rawQueryString"] == "limit=5&tag=x&tag=y&empty="
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-multi"] == "1,2"
    assert event["queryStringParameters"] == {"limit": "5", "tag": "x,y", "empty": ""}
    assert event["pathParameters"] == {"proxy": "a b/confirm"}
    assert event["body"] == '{"name": "x"}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["authorizer"] == {"lambda": {"tenant_id": "acme"}}
    assert context["http"] == {
        "method": "POST",
        "path": "/files/a b/confirm",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "pytest",
    }
    assert context["stage"] == "$default"
    assert context["timeEpoch"] == 1_700_000_000_500
    assert context["time"] == "14/Nov/2023:22:13:20 +0000"
    assert context["domainName"] == "127.0.0.1:8000"


def test_binary_bodies_are_base64_and_empty_ones_absent() -> None:
    route = gateway.HTTP_ROUTES[0]
    raw = bytes(range(256))
    binary = gateway.http_event(
        _request(body=raw, headers=[("content-type", "application/octet-stream")]), route, {}, {}
    )
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == raw
    bad_text = gateway.http_event(
        _request(body=b"\xff", headers=[("content-type", "text/plain")]), route, {}, {}
    )
    assert bad_text["isBase64Encoded"] is True
    empty = gateway.http_event(_request(body=b"", raw_query=""), route, {}, None)
    assert "body" not in empty
    assert "queryStringParameters" not in empty
    assert "authorizer" not in empty["requestContext"]


def test_the_functions_read_the_identity_the_real_authorizer_vouched_for(
    local_issuer: LocalIssuer, jwks_server: Any
) -> None:
    from tenantkit_runtime.auth import TokenVerifier

    url = jwks_server.serve("/jwks.json", local_issuer.jwks())
    verifier = TokenVerifier(local_issuer.auth_settings(url))
    token = local_issuer.issue(tenant="acme", user="alice", roles=["admin", "editor"])
    request = _request(headers=[("authorization", f"Bearer {token}")], body=b"")
    route, params = gateway.match_route(gateway.HTTP_ROUTES, "POST", request.path) or (None, {})
    assert route is not None
    auth_event = gateway.http_authorizer_event(request, route, params, f"Bearer {token}")
    assert event_kind(auth_event) == "http"
    assert auth_event["identitySource"] == [f"Bearer {token}"]
    context = gateway.simple_authorizer_answer(authorize(auth_event, verifier))
    assert context is not None
    incoming = parse_event(gateway.http_event(request, route, params, context))
    assert incoming.identity.tenant_id == "acme"
    assert incoming.identity.user_id == "alice"
    assert set(incoming.identity.roles) == {"admin", "editor"}
    assert incoming.path == "/files/a%20b/confirm"
    assert incoming.method == "POST"
    # A token naming another tenant on the route is refused by the same code path.
    other = _request(raw_query="tenant_id=globex", headers=[("authorization", token)])
    refused = authorize(gateway.http_authorizer_event(other, route, params, token), verifier)
    assert gateway.simple_authorizer_answer(refused) is None


def _connection(query: str = "token=T") -> Connection:
    return Connection(
        connection_id="L0SM9cOFvHcCIhw=",
        domain="127.0.0.1:8000",
        stage="ws",
        source_ip="127.0.0.1",
        user_agent="pytest",
        headers=[("host", "127.0.0.1:8000"), ("sec-websocket-version", "13")],
        raw_query=query,
        connected_at=1_700_000_000.0,
    )


def test_websocket_events_carry_the_connect_authorizers_answer(
    local_issuer: LocalIssuer, jwks_server: Any
) -> None:
    from tenantkit_runtime.auth import TokenVerifier

    verifier = TokenVerifier(
        local_issuer.auth_settings(jwks_server.serve("/jwks.json", local_issuer.jwks()))
    )
    token = local_issuer.issue(tenant="acme", user="alice", roles=["member"])
    connection = _connection(f"token={token}")
    auth_event = gateway.websocket_authorizer_event(connection, "r1")
    assert event_kind(auth_event) == "websocket"
    assert auth_event["queryStringParameters"] == {"token": token}
    assert auth_event["methodArn"].endswith("/ws/$connect")
    answer = authorize(auth_event, verifier)
    assert gateway.policy_allows(answer, gateway.method_arn(connection, "$connect"))
    connection.authorizer = gateway.websocket_authorizer_context(answer)
    for event_type, route_key in (
        ("CONNECT", "$connect"),
        ("MESSAGE", "chat"),
        ("DISCONNECT", "$disconnect"),
    ):
        event = gateway.websocket_event(connection, event_type, route_key, "r2", body=None)
        incoming = parse_event(event)
        assert incoming.kind == "websocket"
        assert incoming.route_key == route_key
        assert incoming.connection_id == "L0SM9cOFvHcCIhw="
        assert incoming.identity.tenant_id == "acme"
        assert incoming.identity.user_id == "alice"
        assert event["requestContext"]["authorizer"]["principalId"] == "alice"
        assert event["requestContext"]["connectedAt"] == 1_700_000_000_000
    closed = gateway.websocket_event(connection, "DISCONNECT", "$disconnect", "r3", close_code=1001)
    assert closed["requestContext"]["disconnectStatusCode"] == 1001
    binary = gateway.websocket_event(connection, "MESSAGE", "$default", "r4", body=b"\x00\x01")
    assert binary["isBase64Encoded"] is True
    assert parse_event(binary).body == b"\x00\x01"


def test_policies_are_evaluated_as_iam_does() -> None:
    arn = "arn:aws:execute-api:local:000000000000:websocket/ws/$connect"

    def answer(*statements: dict[str, Any]) -> dict[str, Any]:
        return {"principalId": "u", "policyDocument": {"Statement": list(statements)}}

    allow = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": arn}
    assert gateway.policy_allows(answer(allow), arn)
    assert gateway.policy_allows(answer({**allow, "Resource": ["arn:aws:execute-api:*"]}), arn)
    assert gateway.policy_allows(answer({**allow, "Action": "execute-api:*"}), arn)
    assert not gateway.policy_allows(answer({**allow, "Resource": arn + "x"}), arn)
    assert not gateway.policy_allows(answer({**allow, "Effect": "Deny"}), arn)
    assert not gateway.policy_allows(answer(allow, {**allow, "Effect": "Deny"}), arn)
    assert not gateway.policy_allows(answer(), arn)
    with pytest.raises(gateway.InvalidAnswer):
        gateway.policy_allows({"policyDocument": {"Statement": [allow]}}, arn)
    with pytest.raises(gateway.InvalidAnswer):
        gateway.policy_allows({"principalId": "u"}, arn)
    with pytest.raises(gateway.InvalidAnswer):
        gateway.websocket_authorizer_context({"principalId": "u", "context": {"a": {"b": 1}}})


def test_simple_responses_are_checked() -> None:
    assert gateway.simple_authorizer_answer({"isAuthorized": False}) is None
    assert gateway.simple_authorizer_answer({"isAuthorized": True}) == {}
    assert gateway.simple_authorizer_answer({"isAuthorized": True, "context": {"a": 1}}) == {"a": 1}
    for bad in ({"isAuthorized": "yes"}, {}, [], {"isAuthorized": True, "context": [1]}):
        with pytest.raises(gateway.InvalidAnswer):
            gateway.simple_authorizer_answer(bad)


def test_proxy_answers() -> None:
    answer = gateway.proxy_answer(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "Content-Length": "999"},
            "multiValueHeaders": {"x-many": ["1", "2"]},
            "cookies": ["a=1; Path=/", "b=2"],
            "body": '{"ok": true}',
        }
    )
    assert answer.status == 201
    assert answer.body == b'{"ok": true}'
    assert answer.headers == [
        ("content-type", "application/json"),
        ("x-many", "1"),
        ("x-many", "2"),
        ("set-cookie", "a=1; Path=/"),
        ("set-cookie", "b=2"),
    ]
    encoded = gateway.proxy_answer(
        {"statusCode": 200, "body": base64.b64encode(b"\x00\xff").decode(), "isBase64Encoded": True}
    )
    assert encoded.body == b"\x00\xff"
    assert gateway.proxy_answer({"statusCode": 204}).body == b""
    inferred = gateway.proxy_answer({"hello": "world"})
    assert (inferred.status, json.loads(inferred.body)) == (200, {"hello": "world"})
    assert inferred.headers == [("content-type", "application/json")]
    for bad in (
        {"statusCode": "200"},
        {"statusCode": True},
        {"statusCode": 99},
        {"statusCode": 200, "body": 5},
        {"statusCode": 200, "body": "%%", "isBase64Encoded": True},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "cookies": "a=1"},
    ):
        with pytest.raises(gateway.InvalidAnswer):
            gateway.proxy_answer(bad)


@pytest.mark.parametrize(
    ("body", "route"),
    [
        ('{"action": "chat", "content": "hi"}', "chat"),
        ('{"action": "broadcast"}', "broadcast"),
        ('{"action": "dance"}', "$default"),
        ('{"action": "$connect"}', "$default"),
        ('{"action": 5}', "$default"),
        ("[1, 2]", "$default"),
        ("not json", "$default"),
        (b'{"action": "chat"}', "$default"),
    ],
)
def test_route_selection_on_the_action(body: str | bytes, route: str) -> None:
    assert gateway.select_route(body) == route


def test_ids_look_like_api_gateways() -> None:
    ids = {gateway.new_connection_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 16 and i.endswith("=") for i in ids)
    described = _connection().description()
    assert described["connectedAt"] == "2023-11-14T22:13:20.000Z"
    assert described["identity"] == {"sourceIp": "127.0.0.1", "userAgent": "pytest"}
