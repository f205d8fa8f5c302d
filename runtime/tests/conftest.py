"""Fixtures for the runtime's tests: a local issuer, a real JWKS server, Cognito on
moto, and API Gateway authorizer events in their documented shapes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tenantkit_runtime.local.issuer import LocalIssuer
from testharness.moto import MotoServer


class JwksServer:
    """A real HTTP server on 127.0.0.1 serving JWKS documents and counting requests."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.hits[self.path] = server.hits.get(self.path, 0) + 1
                    document = server.documents.get(self.path)
                if document is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def serve(self, path: str, document: Any) -> str:
        """Serve ``document`` at ``path``; return its URL."""
        with self._lock:
            self.documents[path] = document
        return self.base_url + path

    def count(self, path: str) -> int:
        with self._lock:
            return self.hits.get(path, 0)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def issuer_key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("issuer") / "keys"


@pytest.fixture
def local_issuer(issuer_key_dir: Path) -> LocalIssuer:
    """The local issuer, with one key for the whole session (RSA generation is slow)."""
    return LocalIssuer(issuer_key_dir)


# --- Cognito on moto -------------------------------------------------------------------


@dataclass
class CognitoPool:
    """A user pool on the moto server with an app client and users in tenants."""

    pool_id: str
    client_id: str
    issuer: str
    jwks_url: str
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    """username → {"id": IdToken, "access": AccessToken}"""


def _make_pool(moto: MotoServer, name: str, users: dict[str, tuple[str, list[str]]]) -> CognitoPool:
    idp = moto.client("cognito-idp")
    pool_id = idp.create_user_pool(
        PoolName=name,
        Schema=[{"Name": "tenant_id", "AttributeDataType": "String", "Mutable": True}],
    )["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=f"{name}-web",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    pool = CognitoPool(
        pool_id=pool_id,
        client_id=client_id,
        issuer=f"https://cognito-idp.{moto.region}.amazonaws.com/{pool_id}",
        # moto serves every pool's keys at /{pool_id}/.well-known/jwks.json
        jwks_url=f"{moto.endpoint_url}/{pool_id}/.well-known/jwks.json",
    )
    groups = {g for _, gs in users.values() for g in gs}
    for group in sorted(groups):
        idp.create_group(GroupName=group, UserPoolId=pool_id)
    for username, (tenant, user_groups) in users.items():
        attributes = [{"Name": "custom:tenant_id", "Value": tenant}] if tenant else []
        idp.admin_create_user(
            UserPoolId=pool_id,
            Username=username,
            TemporaryPassword="Temporary-pass-1",
            UserAttributes=attributes,
            MessageAction="SUPPRESS",
        )
        idp.admin_set_user_password(
            UserPoolId=pool_id, Username=username, Password="Permanent-pass-1", Permanent=True
        )
        for group in user_groups:
            idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
        result = idp.admin_initiate_auth(
            UserPoolId=pool_id,
            ClientId=client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": "Permanent-pass-1"},
        )["AuthenticationResult"]
        pool.tokens[username] = {"id": result["IdToken"], "access": result["AccessToken"]}
    return pool


@pytest.fixture(scope="module")
def cognito(moto_server: MotoServer) -> CognitoPool:
    """One pool, tenant in ``custom:tenant_id``: alice (acme, admin+member), bob (globex)."""
    return _make_pool(
        moto_server,
        "tenants",
        {"alice": ("acme", ["admin", "member"]), "bob": ("globex", ["member"])},
    )


@pytest.fixture(scope="module")
def cognito_other(moto_server: MotoServer) -> CognitoPool:
    """A second pool (another tenant's pool, or a pool nobody trusts): carol, no claim."""
    return _make_pool(moto_server, "other", {"carol": ("", ["member"])})


# --- API Gateway authorizer events -----------------------------------------------------


class Events:
    """Authorizer events in the shapes API Gateway sends.

    HTTP API, payload format 2.0:
    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
    REST API TOKEN and REQUEST:
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html
    WebSocket API $connect (REQUEST):
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html
    """

    def http_v2(
        self,
        token: str | None,
        *,
        path: str = "/conversations",
        path_parameters: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        all_headers = {
            "accept": "application/json",
            "host": "api-id.execute-api.us-east-1.amazonaws.com",
        }
        if token is not None:
            all_headers["authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        return {
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": f"arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET{path}",
            "identitySource": [all_headers["authorization"]] if token is not None else [],
            "routeKey": f"GET {path}",
            "rawPath": path,
            "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
            "cookies": ["cookie1", "cookie2"],
            "headers": all_headers,
            "queryStringParameters": query or {},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abcdef123",
                "domainName": "abcdef123.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abcdef123",
                "http": {
                    "method": "GET",
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "203.0.113.7",
                    "userAgent": "curl/8.5.0",
                },
                "requestId": "id",
                "routeKey": f"GET {path}",
                "stage": "test",
                "time": "12/Mar/2020:19:03:58 +0000",
                "timeEpoch": 1583348638390,
            },
            "pathParameters": path_parameters or {},
            "stageVariables": {"stageVariable1": "value1"},
        }

    def rest_token(self, authorization: str | None) -> dict[str, Any]:
        return {
            "type": "TOKEN",
            "authorizationToken": authorization or "",
            "methodArn": "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/GET/",
        }

    def rest_request(
        self,
        token: str | None,
        *,
        path_parameters: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        all_headers = {
            "X-AMZ-Date": "20170718T062915Z",
            "Accept": "*/*",
            "Host": "abcdef123.execute-api.us-east-1.amazonaws.com",
        }
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        return {
            "type": "REQUEST",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request",
            "resource": "/request",
            "path": "/request",
            "httpMethod": "GET",
            "headers": all_headers,
            "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
            "queryStringParameters": {"QueryString1": "queryValue1"},
            "multiValueQueryStringParameters": {"QueryString1": ["queryValue1"]},
            "pathParameters": path_parameters or {},
            "stageVariables": {"StageVar1": "stageValue1"},
            "requestContext": {
                "path": "/request",
                "accountId": "123456789012",
                "resourceId": "05c7jb",
                "stage": "test",
                "requestId": "...",
                "identity": {"apiKey": "...", "sourceIp": "...", "clientCert": None},
                "resourcePath": "/request",
                "httpMethod": "GET",
                "apiId": "abcdef123",
            },
        }

    def websocket_connect(
        self, token: str | None, *, query: dict[str, str] | None = None
    ) -> dict[str, Any]:
        params = dict(query or {})
        if token is not None:
            params["token"] = token
        headers = {
            "Connection": "upgrade",
            "content-length": "0",
            "Host": "abcdef123.execute-api.us-east-1.amazonaws.com",
            "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
            "Sec-WebSocket-Key": "...",
            "Sec-WebSocket-Version": "13",
            "Upgrade": "websocket",
            "X-Forwarded-Port": "443",
            "X-Forwarded-Proto": "https",
        }
        return {
            "type": "REQUEST",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/$connect",
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": params,
            "multiValueQueryStringParameters": {k: [v] for k, v in params.items()},
            "stageVariables": {},
            "requestContext": {
                "routeKey": "$connect",
                "eventType": "CONNECT",
                "extendedRequestId": "...",
                "requestTime": "19/Jan/2023:21:13:26 +0000",
                "messageDirection": "IN",
                "stage": "default",
                "connectedAt": 1674162806344,
                "requestTimeEpoch": 1674162806345,
                "identity": {"sourceIp": "..."},
                "requestId": "...",
                "domainName": "abcdef123.execute-api.us-east-1.amazonaws.com",
                "connectionId": "...",
                "apiId": "abcdef123",
            },
        }


@pytest.fixture
def events() -> Events:
    return Events()
