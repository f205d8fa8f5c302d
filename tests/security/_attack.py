"""The attack suite's target and its checks (the fixtures are in ``conftest.py``).

The target is the real ``tenantkit serve --demo`` in its own process (tenants ``acme``,
user alice, and ``globex``, user bob, both admins), started with planted values: AWS
credentials only the deployment knows, and the state directory's own secrets (the
cursor signing key, the local storage signing key) and paths. Every refusal the suite
provokes is checked by :func:`refused`: a 4xx (never a 5xx), the body shape of whoever
answered, and none of the planted values in the body or the headers. After every test
the server's new log lines are checked too: no planted secret, no traceback, no
``ERROR`` line (hostile input is the caller's problem, not the server's).

Answer shapes (``runtime/README.md``): the functions answer ``{"error": {"code",
"message", "request_id"}}`` (the ``/v1/`` routes in OpenAI's shape, ``{"error": {"message",
"type", "param", "code"}}``); the gateway itself (no route, no token, a refused
token, sizes over API Gateway's quotas, the Management API) answers as API Gateway
does, ``{"message": "..."}``; the local storage's presigned URLs answer in plain text,
as a storage endpoint.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from testharness.tenantkit_serve import ServeProcess

Shape = Literal["api", "gateway", "storage", "any"]

#: The deployment's own AWS credentials (they sign Management API calls); planted.
ACCESS_KEY_ID = "AKIAPLANTEDDEPLOY0001"
SECRET_ACCESS_KEY = "planted-deployment-secret-" + secrets.token_hex(8)
REGION = "us-east-1"


@dataclass
class Target:
    """The running server, its planted values, and clients for it."""

    serve: ServeProcess
    planted: list[str] = field(default_factory=list)
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.serve.url, timeout=30, trust_env=False)

    @property
    def url(self) -> str:
        return self.serve.url

    @property
    def websocket_url(self) -> str:
        return self.serve.websocket_url

    def token(self, tenant: str = "acme", user: str = "alice", *, admin: bool = True) -> str:
        return self.serve.token(tenant, user, ["admin"] if admin else [])

    def auth(self, tenant: str = "acme", user: str = "alice") -> dict[str, str]:
        return {"authorization": f"Bearer {self.token(tenant, user)}"}

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        """``claims`` signed by the issuer the server trusts (as a trusted pool would)."""
        from tenantkit_runtime.local.issuer import LocalIssuer

        return LocalIssuer(self.serve.key_dir).sign(claims, headers=header or None)

    def sign_raw(self, payload: bytes, **header: Any) -> str:
        """A payload sent byte for byte (repeated keys, odd numbers), signed by the
        trusted issuer's key."""
        import jwt

        from tenantkit_runtime.local.issuer import LocalIssuer

        issuer = LocalIssuer(self.serve.key_dir)
        return jwt.PyJWS().encode(
            payload,
            issuer._private_key(),
            algorithm="RS256",
            headers={"kid": issuer.kid, "typ": "JWT", **header},
        )

    def claims(self, tenant: str = "acme", user: str = "alice", **changes: Any) -> dict[str, Any]:
        """The claims of a valid token, with ``changes``."""
        token = self.token(tenant, user)
        payload = token.split(".")[1]
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
        claims.update(changes)
        return claims

    def management_client(self, **credentials: str) -> Any:
        """A boto3 Management API client, signing with the deployment's credentials
        unless ``credentials`` say otherwise."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=self.url + "/ws",
            region_name=REGION,
            aws_access_key_id=credentials.get("key", ACCESS_KEY_ID),
            aws_secret_access_key=credentials.get("secret", SECRET_ACCESS_KEY),
            aws_session_token=credentials.get("token") or None,
            config=Config(retries={"max_attempts": 1}),
        )

    def log_offset(self) -> int:
        return len(self.serve.logs)


def b64url(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned(header: bytes | str, payload: bytes | str, signature: str = "c2ln") -> str:
    """A compact JWS of the given parts (nothing signs it)."""
    return f"{b64url(header)}.{b64url(payload)}.{signature}"


def assert_no_leak(target: Target, text: str) -> None:
    for value in target.planted:
        assert value not in text, "a planted secret or a server path reached a client"
    assert "Traceback" not in text


def refused(
    target: Target,
    response: httpx.Response,
    status: int | Sequence[int] | None = None,
    *,
    shape: Shape = "api",
) -> dict[str, Any]:
    """Check a refusal (see the module documentation); the error object (``{}`` for a
    plain-text answer)."""
    expected = (status,) if isinstance(status, int) else status
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    if expected is not None:
        assert response.status_code in expected, (response.status_code, response.text[:500])
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    assert_no_leak(target, response.text + "\n" + headers)
    if shape == "storage":
        assert response.headers["content-type"].startswith("text/plain")
        return {}
    body = response.json()
    assert isinstance(body, dict), body
    if shape in ("api", "any") and "error" in body:
        error = body["error"]
        if response.request.url.path.startswith("/v1/"):
            # The OpenAI-compatible routes answer in OpenAI's error shape.
            assert set(error) >= {"message", "type", "param", "code"}, error
        else:
            assert set(error) >= {"code", "message", "request_id"}, error
        assert isinstance(error["code"], str)
        assert isinstance(error["message"], str)
        assert error["code"] != "internal_error"
        return dict(error)
    assert shape in ("gateway", "any"), body
    assert isinstance(body.get("message"), str), body
    return dict(body)


def wait_for(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


__all__ = [
    "ACCESS_KEY_ID",
    "REGION",
    "SECRET_ACCESS_KEY",
    "Target",
    "assert_no_leak",
    "b64url",
    "refused",
    "unsigned",
    "wait_for",
]


class KeyServer:
    """A real HTTP server on 127.0.0.1 serving JSON documents by path (key sets), that
    counts its requests and can be taken down (503) and brought back."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.documents: dict[str, Any] = {}
        self.hits: dict[str, int] = {}
        self.down = False
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                owner.hits[path] = owner.hits.get(path, 0) + 1
                document = owner.documents.get(path)
                status = 503 if owner.down else 200 if document is not None else 404
                body = json.dumps(document if status == 200 else {"message": "no"}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def serve(self, path: str, document: Any) -> str:
        self.documents[path] = document
        return self.base_url + path

    def count(self, path: str) -> int:
        return self.hits.get(path, 0)

    def total(self) -> int:
        return sum(self.hits.values())

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
