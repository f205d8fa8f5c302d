"""Warm request overhead of the runtime on the chat request, in one process.

Timed side by side, interleaved in blocks, on a warm process (tenant resolved,
providers built, bytecode loaded), tenant on sqlite + echo + local:

* ``handler``: ``chat.handler(event)`` for ``POST /conversations/{id}/messages`` (an
  HTTP API payload 2.0 event, as ``tenantkit serve`` builds it): event parsing, the
  authorizer's context, routing, body validation, tenant resolution (cache hit), the
  auth-retry wrappers, the route's work, JSON encoding, the JSON log line;
* ``work``: the route's own work alone on the same resolved tenant: read the
  conversation and its history, call the LLM, store both messages, update the
  conversation, encode the answer as JSON.

The overhead is the difference of the medians. Also timed: the authorizer's answer
to one HTTP API request with a valid token (``auth.handler``, keys cached), which
API Gateway runs before each request when authorizer caching is off, as the
template has it.

Run::

    uv run python bench/warm_overhead.py [REQUESTS]
"""

from __future__ import annotations

import io
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BLOCK = 50


def _jwks_server(document: dict[str, Any]) -> ThreadingHTTPServer:
    body = json.dumps(document).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main(requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "tenants").mkdir()
        (root / "tenants" / "acme.json").write_text(
            json.dumps(
                {
                    "schema_version": 1,
                    "tenant_id": "acme",
                    "db": {"provider": "sqlite", "path": str(root / "acme.db")},
                    "llm": {"provider": "echo"},
                    "storage": {
                        "provider": "local",
                        "root": str(root / "files"),
                        "signing_key": "bench-presign-key-0123456789",
                    },
                }
            )
        )
        from tenantkit_runtime.local.issuer import LocalIssuer

        issuer = LocalIssuer(root / "issuer")
        jwks = _jwks_server(issuer.jwks())
        os.environ.update(
            TENANTKIT_CONFIG_DIR=str(root / "tenants"),
            TENANTKIT_SIGNING_KEY="bench-cursor-signing-key-0123456789",
            **issuer.auth_environment(f"http://127.0.0.1:{jwks.server_port}/jwks.json"),
        )
        from tenantkit import Message
        from tenantkit_runtime import deployment, logs
        from tenantkit_runtime.conversations import Conversations
        from tenantkit_runtime.functions import auth, chat
        from tenantkit_runtime.local import gateway
        from tenantkit_runtime.responses import Response

        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logs.JsonFormatter())
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)

        token = issuer.issue(tenant="acme", user="alice", roles=["member"])
        tenant = deployment.resolver().resolve("acme")
        conversations = Conversations(tenant.db, "alice")
        conversation = conversations.create("bench")
        path = f"/conversations/{conversation.id}/messages"
        route, params = gateway.match_route(gateway.HTTP_ROUTES, "POST", path) or (None, {})
        assert route is not None
        request = gateway.HttpRequest(
            method="POST",
            raw_path=path,
            path=path,
            raw_query="",
            headers=[
                ("authorization", f"Bearer {token}"),
                ("content-type", "application/json"),
                ("host", "127.0.0.1:8000"),
            ],
            body=b'{"content": "hello there"}',
            source_ip="127.0.0.1",
            request_id="bench",
        )
        context = {"tenant_id": "acme", "user_id": "alice", "roles": "member"}
        event = gateway.http_event(request, route, params, context)
        auth_event = gateway.http_authorizer_event(request, route, params, f"Bearer {token}")

        def through_handler() -> None:
            answer = chat.handler(event, None)
            assert answer["statusCode"] == 201, answer

        def work_alone() -> None:
            found = conversations.get(conversation.id)
            history = conversations.history(found.id)
            reply = tenant.llm.chat(
                messages=[*history, Message(role="user", content="hello there")]
            )
            asked, answered = conversations.record(found, "hello there", reply)
            Response({"message": asked, "reply": answered}, status=201).to_proxy_result()

        def authorizer() -> None:
            assert auth.handler(auth_event, None)["isAuthorized"] is True

        for fn in (through_handler, work_alone, authorizer):  # warm every path
            for _ in range(20):
                fn()
        samples: dict[str, list[float]] = {"handler": [], "work": [], "authorizer": []}
        for _ in range(max(1, requests // BLOCK)):
            samples["handler"].extend(_timed(through_handler) for _ in range(BLOCK))
            samples["work"].extend(_timed(work_alone) for _ in range(BLOCK))
            samples["authorizer"].extend(_timed(authorizer) for _ in range(BLOCK))
            stream.seek(0)
            stream.truncate()
        medians = {name: statistics.median(values) for name, values in samples.items()}
        print(f"requests per variant: {len(samples['handler'])}")
        for name, value in medians.items():
            print(f"  {name:10} median {value:7.3f} ms")
        print(f"  overhead   median {medians['handler'] - medians['work']:7.3f} ms")
        deployment.reset()
        jwks.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
