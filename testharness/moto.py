"""A real moto server (HTTP, in a thread) standing in for AWS: DynamoDB, S3, STS,
Secrets Manager, Cognito, API Gateway Management.

Fixtures:
    moto_server: the running server (session scope); ``.endpoint_url``, ``.region``,
        ``.client(service)`` for a boto3 client pointed at it, ``.reset()``.

DynamoDB applies each request atomically; moto's stand-in does not when requests run
at once (two concurrent ``ADD`` updates of one item can lose one), so the server
answers DynamoDB requests one at a time. Other services are served concurrently.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from testharness._ports import free_port, wait_for_port

REGION = "us-east-1"


@dataclass
class MotoServer:
    endpoint_url: str
    region: str = REGION

    def client(self, service: str, **kwargs: Any) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=kwargs.pop("region_name", self.region),
            aws_access_key_id=kwargs.pop("aws_access_key_id", "testing"),
            aws_secret_access_key=kwargs.pop("aws_secret_access_key", "testing"),
            **kwargs,
        )

    def reset(self) -> None:
        """Forget every resource the server holds (POST /moto-api/reset)."""
        import httpx

        httpx.post(f"{self.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()


class _OneDynamoDBRequestAtATime:
    """WSGI middleware: DynamoDB requests (``X-Amz-Target: DynamoDB_...``) take turns."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    # boto3 clients built anywhere in the tests use fake credentials, never real ones.
    saved = {k: os.environ.get(k) for k in _FAKE_ENV}
    os.environ.update(_FAKE_ENV)
    port = free_port()
    app = _OneDynamoDBRequestAtATime(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    thread.start()
    wait_for_port(port)
    try:
        yield MotoServer(endpoint_url=f"http://127.0.0.1:{port}")
    finally:
        server.shutdown()
        thread.join()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}
