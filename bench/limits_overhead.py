"""Per-request cost of the limiter + meter on a warm container, in one process.

``config.handler`` for ``GET /config/branding`` (a tenant with a requests-per-minute
limit) is timed side by side, interleaved in blocks, with the limiter and meter on and
off (off: the deployment's guard is ``None``, as without a control plane), on a
control plane in sqlite and in DynamoDB (moto server in its own process). The calls
the control-plane database receives per request are counted too: the target is one
round trip per plain 2xx request.

Run::

    uv run python bench/limits_overhead.py [REQUESTS]
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "runtime" / "tests" / "app"))

from _moto import moto_server

from conftest import http_event
from tenantkit_runtime import deployment
from tenantkit_runtime.functions import config


def _setup(root: Path, control_plane: dict[str, Any]) -> None:
    tenants = root / "tenants"
    tenants.mkdir()
    (tenants / "acme.json").write_text(
        json.dumps(
            {
                "schema_version": 1,
                "tenant_id": "acme",
                "db": {"provider": "sqlite", "path": str(root / "acme.db")},
                "llm": {"provider": "echo"},
                "storage": {
                    "provider": "local",
                    "root": str(root / "files"),
                    "base_url": "http://127.0.0.1:9/_storage",
                    "signing_key": "bench-presign-key-0123456789",
                },
                "limits": {"requests_per_minute": 10**9},
            }
        )
    )
    os.environ["TENANTKIT_CONFIG_DIR"] = str(tenants)
    os.environ["TENANTKIT_CONTROL_PLANE"] = json.dumps(control_plane)
    deployment.reset()
    deployment.control_plane().ensure_schema()


def _time(call: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


def run(name: str, requests: int) -> dict[str, Any]:
    event = http_event("GET", "/config/branding")
    real_guard = deployment.usage_guard

    def handler() -> None:
        result = config.handler(event, None)
        assert result["statusCode"] == 200, result

    plane = deployment.control_plane()
    database = plane._database  # count the calls the control-plane database receives
    calls: Counter[str] = Counter()
    for method in ("get", "put", "update", "delete", "query"):
        original = getattr(database, method)

        def counted(*a: Any, _m: str = method, _o: Any = original, **k: Any) -> Any:
            calls[_m] += 1
            return _o(*a, **k)

        setattr(database, method, counted)
    for _ in range(20):
        handler()  # warm
    calls.clear()
    on: list[float] = []
    off: list[float] = []
    block = 25
    for _ in range(max(1, requests // block)):
        on += _time(handler, block)
        deployment.usage_guard = lambda: None  # type: ignore[assignment]
        try:
            off += _time(handler, block)
        finally:
            deployment.usage_guard = real_guard  # type: ignore[assignment]
    median_on, median_off = statistics.median(on), statistics.median(off)
    return {
        "control plane": name,
        "requests": len(on),
        "without (ms)": round(median_off * 1000, 3),
        "with (ms)": round(median_on * 1000, 3),
        "added (ms)": round((median_on - median_off) * 1000, 3),
        "round trips / request": round(sum(calls.values()) / len(on), 2),
        "calls": dict(calls),
    }


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    logging.disable(logging.INFO)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "sqlite"
        root.mkdir()
        _setup(root, {"provider": "sqlite", "path": str(root / "cp.db")})
        results.append(run("sqlite", requests))
        with moto_server() as endpoint:
            root = Path(tmp) / "dynamodb"
            root.mkdir()
            _setup(
                root,
                {
                    "provider": "dynamodb",
                    "table": "control",
                    "region": "us-east-1",
                    "endpoint_url": endpoint,
                },
            )
            results.append(run("dynamodb (moto)", requests))
    deployment.reset()
    for result in results:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
