"""The demo (``python -m tenantkit.demo``): two tenants on the embedded providers, kept apart.

The demo's own report is checked, and its claims are checked again from outside: the
data it leaves behind is read back through a fresh resolver, and a provider that
ignores the tenant makes the demo fail.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tenantkit import Resolver
from tenantkit.demo import TENANTS, main, run_demo
from tenantkit.errors import InvalidCursor
from tenantkit.providers.sqlite import SqliteDatabase
from tenantkit.sources import DirectorySource


def test_demo_runs_and_its_isolation_claims_hold(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tenantkit.demo", "--dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "TENANTKIT_CACHE_DIR": str(tmp_path / "index-cache")},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    claims = [line for line in lines if line.startswith(("  ok", "  FAIL"))]
    assert len(claims) >= 15
    assert all(line.startswith("  ok  ") for line in claims)
    summary = next(line for line in lines if line.startswith("isolation held"))
    assert summary == f"isolation held: all {len(claims)} checks passed"
    for claim in [
        "globex presenting acme's cursor is refused: cursor belongs to another tenant",
        "acme's presigned URL pointed at globex's object is refused: HTTP 403",
        "acme reads u1/n1 back as its own: 'Acme Corp note n1'",
        "globex reads reports/q3.txt back as its own: 'Globex Inc: reports/q3.txt'",
    ]:
        assert f"  ok    {claim}" in lines
    assert "Traceback" not in done.stderr

    # The claims again, from outside: one shared sqlite file and one storage directory
    # hold both tenants' data, and each tenant still sees only its own.
    data = tmp_path / "demo" / "data"
    assert [p.name for p in data.glob("*.sqlite3")] == ["tenants.sqlite3"]
    on_disk = " ".join(p.name for p in (data / "objects").iterdir())
    assert "acme" in on_disk
    assert "globex" in on_disk
    resolver = Resolver(DirectorySource(tmp_path / "demo" / "config"), signing_key=b"k" * 32)
    try:
        acme, globex = resolver.resolve("acme"), resolver.resolve("globex")
        for tenant in (acme, globex):
            name = TENANTS[tenant.id]
            item = tenant.db.get("notes", "u1", "n1")
            assert item is not None
            assert item.get("text") == f"{name} note n1"
            assert tenant.storage.get("reports/q3.txt") == f"{name}: reports/q3.txt".encode()
            assert [o.key for o in tenant.storage.list("").objects] == [
                "reports/q3.txt",
                "reports/q4.txt",
            ]
        # globex deleted its u1/n3; acme's is still there
        assert globex.db.get("notes", "u1", "n3") is None
        kept = acme.db.get("notes", "u1", "n3")
        assert kept is not None
        assert kept.get("text") == "Acme Corp note n3"
        page = acme.db.query("notes", "u1", limit=1)
        assert page.cursor is not None
        with pytest.raises(InvalidCursor):
            globex.db.query("notes", "u1", limit=1, cursor=page.cursor)
    finally:
        resolver.close()


def _shared_namespace(method: Callable[..., Any]) -> Callable[..., Any]:
    def ignoring_the_tenant(self: SqliteDatabase, ns: str, *args: Any, **kwargs: Any) -> Any:
        return method(self, "shared", *args, **kwargs)

    return ignoring_the_tenant


def test_demo_fails_when_a_provider_ignores_the_tenant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("get", "put", "delete", "query"):
        monkeypatch.setattr(SqliteDatabase, name, _shared_namespace(getattr(SqliteDatabase, name)))
    out = io.StringIO()
    result = run_demo(tmp_path / "leaky", out=out)
    assert not result.ok
    failed = {check.claim for check in result.failures}
    assert "acme reads u1/n1 back as its own" in failed
    assert "acme's query of partition u1 (2 pages) lists only its own notes" in failed
    assert all(check.section == "database" for check in result.failures)
    report = out.getvalue()
    assert "  FAIL  acme reads u1/n1 back as its own: 'Globex Inc note n1'" in report
    assert f"FAILED: {len(result.failures)} of {len(result.checks)} checks did not hold" in report
    # storage and the LLM were not affected
    assert any(c.section == "storage" and c.ok for c in result.checks)
    assert any(c.section == "llm" and c.ok for c in result.checks)

    assert main(["--dir", str(tmp_path / "leaky-again")]) == 1
