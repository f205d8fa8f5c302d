"""The ``tenantkit`` command run in a fresh interpreter, for the end-to-end tests.

A fresh interpreter imports exactly what a cold Lambda container would, so a test can
see which plugins a command loaded. :func:`tenantkit` runs the installed command;
:func:`tenantkit_with_api` runs it with an HTTP API (an LLM's) answered by respx inside
that interpreter, while requests to the local test servers (127.0.0.1) go through.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testharness.cosmos import CosmosServer


@dataclass(frozen=True)
class Answer:
    """One mocked HTTP endpoint: what it answers to ``method url``."""

    method: str
    url: str
    status: int
    json: Any
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class Outcome:
    """What a command run by :func:`tenantkit_with_api` did."""

    status: int
    stdout: str
    stderr: str
    calls: list[int]  # requests each :class:`Answer` received, in order
    plugins: list[str]  # top-level ``tenantkit_*`` plugin packages imported


def tenantkit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the ``tenantkit`` command in a fresh interpreter."""
    script = Path(sys.executable).with_name("tenantkit")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "tenantkit"]
    return subprocess.run(
        [*command, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


_WITH_API = textwrap.dedent(
    """
    import json, sys
    import respx
    from tenantkit.cli import main

    answers, outcome_file, argv = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3:]
    with respx.mock(assert_all_called=False) as api:
        api.route(host="127.0.0.1").pass_through()
        routes = [
            api.request(a["method"], a["url"]).respond(
                a["status"], headers=a["headers"], json=a["json"]
            )
            for a in answers
        ]
        status = main(argv)
    plugins = sorted(
        m for m in sys.modules if m.startswith("tenantkit_") and "." not in m
    )
    with open(outcome_file, "w") as f:
        calls = [r.call_count for r in routes]
        json.dump({"status": status, "calls": calls, "plugins": plugins}, f)
    """
)


def tenantkit_with_api(
    tmp_path: Path, answers: list[Answer], *args: str, env: dict[str, str] | None = None
) -> Outcome:
    """Run ``tenantkit ARGS`` in a fresh interpreter with ``answers`` mocked by respx."""
    script = tmp_path / "tenantkit_with_api.py"
    script.write_text(_WITH_API)
    outcome_file = tmp_path / "outcome.json"
    outcome_file.unlink(missing_ok=True)
    mocked = [
        {"method": a.method, "url": a.url, "status": a.status, "json": a.json,
         "headers": a.headers or {}}
        for a in answers
    ]  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(script), json.dumps(mocked), str(outcome_file), *args],
        capture_output=True,
        text=True,
        env=env if env is not None else {**os.environ, "TENANTKIT_CACHE_DIR": str(tmp_path)},
        timeout=120,
        check=False,
    )
    assert outcome_file.exists(), done.stdout + done.stderr
    outcome = json.loads(outcome_file.read_text())
    return Outcome(
        outcome["status"], done.stdout, done.stderr, outcome["calls"], outcome["plugins"]
    )


def cosmos_section(server: CosmosServer, *, consistency: str = "Session") -> dict[str, Any]:
    """A tenant secret's ``db`` section on the Cosmos DB stand-in, in a fresh container."""
    return {
        "provider": "cosmos",
        "endpoint": server.endpoint,
        "database": "e2e",
        "container": f"acme-{secrets.token_hex(4)}",
        "key": server.key,
        "ca_file": str(server.ca_file),
        "consistency": consistency,
    }


def write_secret(config_dir: Path, secret: dict[str, Any]) -> None:
    """Store a tenant secret where ``--config-dir`` / ``DirectorySource`` reads it."""
    config_dir.mkdir(exist_ok=True)
    (config_dir / f"{secret['tenant_id']}.json").write_text(json.dumps(secret))
