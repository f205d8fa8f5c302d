"""Fixtures for the application tests: API Gateway events in their documented shapes,
tenants on the embedded providers in a temporary configuration directory, and a
fresh deployment (resolver, control plane) for every test.

Event shapes follow the AWS documentation:

* REST API, Lambda proxy integration (payload 1.0):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format
* HTTP API, payload format version 2.0:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
  (a Lambda authorizer's context arrives under ``requestContext.authorizer.lambda``:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html)
* WebSocket API ``$connect`` / ``$disconnect`` / message events:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-keys-connect-disconnect.html
  (a captured ``$connect`` event: https://gist.github.com/noid11/4aa8933d0b5cdbcc09d377c5d65d28c1)
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tenantkit.providers.local_presign import PresignApp, serve
from tenantkit.providers.local_storage import LocalObjectStore, LocalStorageSettings
from tenantkit_runtime import deployment, logs

_ids = itertools.count(1)
SIGNING_KEY = "cursor-signing-key-for-tests-0123456789"
PRESIGN_KEY = "local-presign-key-planted-7c1f9e"


@contextmanager
def presigned_storage(tenants: Any, limits: dict[str, Any] | None = None) -> Iterator[str]:
    """The PresignApp over the tenants' storage root on 127.0.0.1, with acme's and
    globex's ``base_url`` pointing at it (and their ``limits`` set, when given)."""
    settings = LocalStorageSettings(root=tenants.root / "files", signing_key=SecretStr(PRESIGN_KEY))
    with serve(PresignApp(LocalObjectStore(settings))) as url:
        for tenant_id in ("acme", "globex"):
            doc = tenants.tenant_document(tenant_id)
            doc["storage"]["base_url"] = url
            if limits is not None:
                doc["limits"] = limits
            tenants.write(tenant_id, doc)
        yield url


def _authorizer(tenant: str | None, user: str | None, roles: str | None) -> dict[str, Any]:
    context: dict[str, Any] = {}
    if tenant is not None:
        context["tenant_id"] = tenant
    if user is not None:
        context["user_id"] = user
    if roles is not None:
        context["roles"] = roles
    return context


def http_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    tenant: str | None = "acme",
    user: str | None = "alice",
    roles: str | None = "member",
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    stage: str = "$default",
    base64_body: bool = False,
) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event with a Lambda authorizer's context."""
    raw_body = body if isinstance(body, str | None) else json.dumps(body)
    request_id = f"http-{next(_ids)}"
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": {
            "accept": "application/json",
            "content-type": "application/json",
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "user-agent": "pytest",
            **(headers or {}),
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "authorizer": {"lambda": _authorizer(tenant, user, roles)},
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "pytest",
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": stage,
            "time": "12/Mar/2020:19:03:58 +0000",
            "timeEpoch": 1583348638390,
        },
        "isBase64Encoded": base64_body,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if raw_body is not None:
        event["body"] = base64.b64encode(raw_body.encode()).decode() if base64_body else raw_body
    if tenant is None and user is None and roles is None:
        del event["requestContext"]["authorizer"]
    return event


def rest_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    tenant: str | None = "acme",
    user: str | None = "alice",
    roles: str | None = "member",
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A REST API (payload 1.0) event with a Lambda authorizer's context."""
    raw_body = body if isinstance(body, str | None) else json.dumps(body)
    all_headers = {
        "Content-Type": "application/json",
        "Host": "abc123.execute-api",
        **(headers or {}),
    }
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "authorizer": {
                "principalId": user or "anonymous",
                "integrationLatency": 12,
                **_authorizer(tenant, user, roles),
            },
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "extendedRequestId": "request-id",
            "httpMethod": method,
            "identity": {"sourceIp": "192.0.2.1", "userAgent": "pytest"},
            "path": f"/prod{path}",
            "protocol": "HTTP/1.1",
            "requestId": f"rest-{next(_ids)}",
            "requestTime": "04/Mar/2020:19:15:17 +0000",
            "requestTimeEpoch": 1583349317135,
            "resourceId": "abcdef",
            "resourcePath": "/{proxy+}",
            "stage": "prod",
        },
        "body": raw_body,
        "isBase64Encoded": False,
    }


def ws_event(
    event_type: str,
    route_key: str,
    connection_id: str,
    *,
    body: Any = None,
    tenant: str | None = "acme",
    user: str | None = "alice",
    roles: str | None = "member",
    domain: str = "abc123.execute-api.us-east-1.amazonaws.com",
    stage: str = "dev",
) -> dict[str, Any]:
    """A WebSocket API event; the ``$connect`` authorizer's context on every event."""
    raw_body = body if isinstance(body, str | None) else json.dumps(body)
    event: dict[str, Any] = {
        "requestContext": {
            "routeKey": route_key,
            "eventType": event_type,
            "messageId": None if event_type != "MESSAGE" else f"msg-{next(_ids)}",
            "extendedRequestId": "XfGLwFTktjMFsLg=",
            "requestTime": "13/Dec/2020:10:17:47 +0000",
            "messageDirection": "IN",
            "disconnectStatusCode": 1000 if event_type == "DISCONNECT" else None,
            "disconnectReason": "" if event_type == "DISCONNECT" else None,
            "stage": stage,
            "connectedAt": 1607854667185,
            "requestTimeEpoch": 1607854667186,
            "identity": {"sourceIp": "192.0.2.1", "userAgent": "pytest"},
            "requestId": f"ws-{next(_ids)}",
            "domainName": domain,
            "connectionId": connection_id,
            "apiId": "abc123",
            "authorizer": {"principalId": user or "anonymous", **_authorizer(tenant, user, roles)},
        },
        "isBase64Encoded": False,
    }
    if event_type == "CONNECT":
        event["headers"] = {"Host": domain, "Sec-WebSocket-Version": "13"}
        event["multiValueHeaders"] = {"Host": [domain], "Sec-WebSocket-Version": ["13"]}
        event["queryStringParameters"] = {"token": "not-logged"}
    if raw_body is not None:
        event["body"] = raw_body
    return event


@dataclass
class Events:
    http = staticmethod(http_event)
    rest = staticmethod(rest_event)
    ws = staticmethod(ws_event)


@pytest.fixture
def events() -> Events:
    return Events()


def answer(result: dict[str, Any]) -> Any:
    """The JSON body of a proxy result."""
    body = result["body"]
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return json.loads(body) if body else None


@pytest.fixture
def body() -> Any:
    return answer


@dataclass
class Deployment:
    """A temporary deployment: tenant secrets in a directory, a control plane in sqlite."""

    root: Path

    @property
    def config_dir(self) -> Path:
        return self.root / "tenants"

    def tenant_document(self, tenant_id: str, **overrides: Any) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schema_version": 1,
            "tenant_id": tenant_id,
            "db": {"provider": "sqlite", "path": str(self.root / f"{tenant_id}.db")},
            "llm": {"provider": "echo"},
            "storage": {
                "provider": "local",
                "root": str(self.root / "files"),
                "base_url": "http://127.0.0.1:9/_storage",
                "signing_key": PRESIGN_KEY,
            },
            "limits": {"max_upload_bytes": 1024},
            "features": {"beta": False},
            "branding": {"display_name": tenant_id.title()},
        }
        for key, value in overrides.items():
            doc[key] = value
        return doc

    def write(self, tenant_id: str, document: dict[str, Any] | str) -> None:
        text = document if isinstance(document, str) else json.dumps(document)
        (self.config_dir / f"{tenant_id}.json").write_text(text)

    def add(self, tenant_id: str, **overrides: Any) -> dict[str, Any]:
        doc = self.tenant_document(tenant_id, **overrides)
        self.write(tenant_id, doc)
        return doc

    def read(self, tenant_id: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.config_dir / f"{tenant_id}.json").read_text())
        return data


@pytest.fixture
def tenants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    """Tenants ``acme`` and ``globex`` on sqlite + echo + local, and the env to serve them."""
    setup = Deployment(tmp_path)
    setup.config_dir.mkdir()
    setup.add("acme")
    setup.add("globex")
    monkeypatch.setenv("TENANTKIT_CONFIG_DIR", str(setup.config_dir))
    monkeypatch.setenv("TENANTKIT_SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setenv(
        "TENANTKIT_CONTROL_PLANE",
        json.dumps({"provider": "sqlite", "path": str(tmp_path / "control-plane.db")}),
    )
    monkeypatch.delenv("TENANTKIT_CORS_ORIGINS", raising=False)
    monkeypatch.delenv("TENANTKIT_WEBSOCKET_ENDPOINT", raising=False)
    deployment.reset()
    yield setup
    deployment.reset()


class LogCapture:
    """The JSON lines every logger writes while a test runs, through JsonFormatter."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(logs.JsonFormatter())
        self.handler.setLevel(logging.DEBUG)

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def json_logs() -> Iterator[LogCapture]:
    capture = LogCapture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture.handler)
    root.setLevel(logging.DEBUG)
    yield capture
    root.removeHandler(capture.handler)
    root.setLevel(old_level)
