"""Warm request overhead of the runtime over the handler's own work, in one process.

Two things are timed side by side, interleaved in blocks, on a warm process (tenant
resolved, providers built, bytecode loaded):

* ``handler``: ``chat.handler(event)`` for ``GET /conversations/{id}`` (an HTTP API
  event): event parsing, authorizer context, routing, tenant resolution (cache hit),
  the auth-retry wrapper, the route's work, JSON encoding, the JSON log line.
* ``work``: the route's own work alone: the same ``Conversations.get`` on the
  tenant's resolved database, and the JSON encoding of its answer.

The overhead is the difference of the medians. Logs go to an in-memory stream, but
are formatted as in production.

Run::

    uv run python bench/runtime_warm.py [REQUESTS]
"""

from __future__ import annotations

import io
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


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
        os.environ.update(
            TENANTKIT_CONFIG_DIR=str(root / "tenants"),
            TENANTKIT_SIGNING_KEY="bench-cursor-signing-key-0123456789",
            TENANTKIT_CONTROL_PLANE=json.dumps({"provider": "sqlite", "path": ":memory:"}),
        )
        from tenantkit_runtime import deployment, logs
        from tenantkit_runtime.conversations import Conversations
        from tenantkit_runtime.functions import chat
        from tenantkit_runtime.responses import Response

        sink = logging.StreamHandler(io.StringIO())
        sink.setFormatter(logs.JsonFormatter())
        logging.getLogger().addHandler(sink)
        logging.getLogger().setLevel(logging.INFO)

        tenant = deployment.resolver().resolve("acme")
        conversation = Conversations(tenant.db, "alice").create("bench")
        path = f"/conversations/{conversation.id}"
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": "",
            "headers": {"accept": "application/json"},
            "requestContext": {
                "authorizer": {
                    "lambda": {"tenant_id": "acme", "user_id": "alice", "roles": "member"}
                },
                "http": {
                    "method": "GET",
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "192.0.2.1",
                    "userAgent": "bench",
                },
                "requestId": "bench",
                "routeKey": "$default",
                "stage": "$default",
            },
            "isBase64Encoded": False,
        }
        assert chat.handler(event, None)["statusCode"] == 200

        def handler() -> None:
            chat.handler(event, None)

        def work() -> None:
            found = Conversations(deployment.resolver().resolve("acme").db, "alice").get(
                conversation.id
            )
            Response(found).to_proxy_result()

        samples: dict[str, list[float]] = {"handler": [], "work": []}
        block = 100
        for _ in range(max(1, requests // block)):
            for name, fn in (("handler", handler), ("work", work)):
                for _ in range(block):
                    start = time.perf_counter_ns()
                    fn()
                    samples[name].append((time.perf_counter_ns() - start) / 1e6)
        deployment.reset()
    median = {name: statistics.median(values) for name, values in samples.items()}
    print(f"{len(samples['handler'])} warm requests each, medians (ms)")
    for name, value in median.items():
        print(f"{name:8} {value:.3f}")
    print(f"overhead {median['handler'] - median['work']:.3f} ms per request")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
