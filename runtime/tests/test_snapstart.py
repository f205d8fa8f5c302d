"""SnapStart hooks, run around a simulated snapshot: a process initializes and runs the
before-snapshot hook, then forks (each child is a copy of the same memory, as every
environment restored from one snapshot is) and each child runs the after-restore hook
and serves a request. In a fresh interpreter, so that nothing built by other tests
hides what the hook builds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

from tenantkit_runtime import snapstart

_SIMULATION = textwrap.dedent(
    """
    import json, os, random, sys
    from pydantic import BaseModel
    from tenantkit_runtime import deployment, push, snapstart
    from tenantkit_runtime.functions import auth
    from tenantkit import aws

    def incomplete():
        return sorted(
            f"{m.__module__}.{m.__qualname__}" for m in snapstart._subclasses(BaseModel)
            if m.__module__.startswith("tenantkit") and not m.__pydantic_complete__
            and not m.__pydantic_generic_metadata__["parameters"]
        )

    before = len(incomplete())
    prepared = snapstart.before_snapshot()
    report = {
        "deferred_before": before,
        "incomplete_after": incomplete(),
        "providers": prepared.providers,
        "validators": prepared.validators,
        "failed": prepared.failed,
        "resolver_after_prepare": deployment._resolver is not None,
    }
    # Warm state that must not survive into the copies: a resolved tenant (its
    # configuration and providers), a Management API client, the AWS session.
    deployment.resolver().resolve("acme")
    push._client("http://127.0.0.1:9/stage")
    aws._default_session()
    random.seed(1234)  # as if initialization had seeded it
    snapshot = random.getstate()

    def child(restore, out):
        pid = os.fork()
        if pid:
            os.waitpid(pid, 0)
            return json.loads(open(out).read())
        try:
            # os.fork reseeds random in the child (an at-fork hook); a restored snapshot
            # runs no such hook and holds the snapshot's state: put it back.
            random.setstate(snapshot)
            if restore:
                snapstart.after_restore()
            state = {
                "resolver": deployment._resolver is not None,
                "clients": len(push._clients),
                "session": aws._default is not None,
                "verifier": auth._verifier is not None,
                "random": random.random(),
            }
            from tenantkit_runtime.functions.chat import handler
            answer = handler(json.loads(os.environ["EVENT"]), None)
            state["status"] = answer["statusCode"]
            with open(out, "w") as f:
                json.dump(state, f)
        finally:
            os._exit(0)

    out = sys.argv[1]
    report["restored"] = [child(True, f"{out}.{i}") for i in range(2)]
    report["not_restored"] = [child(False, f"{out}.n{i}") for i in range(2)]
    print(json.dumps(report))
    """
)


def _event() -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "ANY /conversations",
        "rawPath": "/conversations",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "requestId": "snap",
            "http": {"method": "POST", "path": "/conversations"},
            "authorizer": {"lambda": {"tenant_id": "acme", "user_id": "alice", "roles": ""}},
        },
        "body": "{}",
        "isBase64Encoded": False,
    }


@pytest.fixture
def simulation(tmp_path: Path) -> dict[str, Any]:
    config = tmp_path / "config"
    config.mkdir()
    (config / "acme.json").write_text(
        json.dumps(
            {
                "schema_version": 1,
                "tenant_id": "acme",
                "db": {"provider": "sqlite", "path": str(tmp_path / "acme.sqlite3")},
                "llm": {"provider": "echo"},
                "storage": {
                    "provider": "local",
                    "root": str(tmp_path / "objects"),
                    "signing_key": "acme-presign-key-0123456789",
                },
            }
        )
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TENANTKIT_")},
        "TENANTKIT_CONFIG_DIR": str(config),
        "TENANTKIT_CACHE_DIR": str(tmp_path / "cache"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "EVENT": json.dumps(_event()),
    }
    result = subprocess.run(
        [sys.executable, "-c", _SIMULATION, str(tmp_path / "child")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(result.stdout.splitlines()[-1]))


def test_before_snapshot_loads_the_plugins_and_builds_the_validators(
    simulation: dict[str, Any],
) -> None:
    assert {"db/sqlite", "llm/echo", "storage/local"} <= set(simulation["providers"])
    assert simulation["failed"] == []
    assert simulation["deferred_before"] > 20
    assert simulation["validators"] >= simulation["deferred_before"]
    assert simulation["incomplete_after"] == []
    # Nothing tenant-specific and no connection goes into the snapshot.
    assert simulation["resolver_after_prepare"] is False


def test_after_restore_each_copy_drops_shared_state_and_draws_its_own_numbers(
    simulation: dict[str, Any],
) -> None:
    first, second = simulation["restored"]
    for copy in (first, second):
        assert copy["status"] == 201
        assert copy["resolver"] is False
        assert copy["clients"] == 0
        assert copy["session"] is False
        assert copy["verifier"] is False
    assert first["random"] != second["random"]
    # Without the hook, both copies keep the snapshot's state and draw the same numbers.
    kept_first, kept_second = simulation["not_restored"]
    assert kept_first["random"] == kept_second["random"]
    assert kept_first["resolver"] is True
    assert kept_first["clients"] == 1


def test_hooks_are_registered_only_for_a_snapstart_initialization(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registered: list[tuple[str, Any]] = []
    stub = types.ModuleType("snapshot_restore_py")
    stub.register_before_snapshot = lambda f: registered.append(("before", f))  # type: ignore[attr-defined]
    stub.register_after_restore = lambda f: registered.append(("after", f))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", stub)
    assert snapstart.register({"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"}) is False
    assert registered == []
    assert snapstart.register({"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}) is True
    assert registered == [
        ("before", snapstart.before_snapshot),
        ("after", snapstart.after_restore),
    ]


def test_without_the_library_a_snapstart_initialization_registers_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails
    assert snapstart.register({"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}) is False
