"""The plugin guide (docs/writing-plugins.md) works as written.

Its example plugins, the LLM provider and the memory database provider, are installed
from the guide's own code blocks into a throwaway site directory, then listed,
validated, resolved and called by tenantkit (the LLM against a mocked API); the guide's
conformance test for each runs as written, in a fresh pytest: the whole database suite
for the database provider.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import respx

from tenantkit import DirectorySource, IfVersion, Resolver, errors
from tenantkit.cli import main
from tenantkit.db import DbCapability
from tenantkit.plugins import Plugins
from tenantkit.retry import NO_RETRY

if TYPE_CHECKING:
    from .conftest import SiteDir

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "writing-plugins.md"
MODULE = "tenantkit_llm_example"
DB_MODULE = "tenantkit_db_memory"
KEY = "ex-Planted_Guide_5c8e1d"


@pytest.fixture(autouse=True)
def _index_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANTKIT_CACHE_DIR", str(tmp_path / "index-cache"))


def code_blocks() -> list[tuple[str, str]]:
    """(language, body) of every fenced code block of the guide, in order."""
    return re.findall(r"^```(\w*)\n(.*?)^```", GUIDE.read_text(), flags=re.S | re.M)


def block(first_line: str) -> str:
    """The code block whose first line is ``first_line`` (a ``# path`` comment)."""
    found = [body for _, body in code_blocks() if body.splitlines()[0] == first_line]
    assert len(found) == 1, f"the guide should have one block starting {first_line!r}"
    return found[0]


@pytest.fixture
def example_plugin(site_dir: SiteDir) -> Iterator[dict[str, Any]]:
    """The guide's example distribution, installed; yields its [project] table."""
    project = tomllib.loads(block("# pyproject.toml"))["project"]
    site_dir.install(
        project["name"], version=project["version"], entry_points=project["entry-points"]
    )
    package = site_dir.path / MODULE
    package.mkdir()
    for name in ("__init__", "settings", "provider"):
        (package / f"{name}.py").write_text(block(f"# src/{MODULE}/{name}.py"))
    yield project
    for name in [m for m in sys.modules if m == MODULE or m.startswith(f"{MODULE}.")]:
        del sys.modules[name]


@pytest.fixture
def memory_plugin(site_dir: SiteDir) -> Iterator[dict[str, Any]]:
    """The guide's database example, installed; yields its [project] table."""
    project = tomllib.loads(block("# pyproject.toml of the memory database provider"))["project"]
    site_dir.install(
        project["name"], version=project["version"], entry_points=project["entry-points"]
    )
    package = site_dir.path / DB_MODULE
    package.mkdir()
    for name in ("__init__", "settings", "database"):
        (package / f"{name}.py").write_text(block(f"# src/{DB_MODULE}/{name}.py"))
    yield project
    for name in [m for m in sys.modules if m == DB_MODULE or m.startswith(f"{DB_MODULE}.")]:
        del sys.modules[name]


def run_guide_test(first_lines: list[str], site_dir: SiteDir, tmp_path: Path) -> str:
    """Run the guide's test blocks starting ``first_lines`` (``# tests/NAME.py ...``)
    together in a fresh pytest; its output."""
    tests = tmp_path / "guide_tests"
    tests.mkdir()
    for first_line in first_lines:
        name = Path(first_line.split()[1]).name
        (tests / name).write_text(block(first_line))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(tests)],
        capture_output=True,
        text=True,
        cwd=tests,
        env={**os.environ, "PYTHONPATH": str(site_dir.path)},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " failed" not in done.stdout
    assert " error" not in done.stdout
    return done.stdout


def passed(output: str) -> int:
    found = re.search(r"(\d+) passed", output)
    assert found is not None, output[-2000:]
    return int(found.group(1))


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """The guide's example tenant secret, its paths moved into the test's directory."""
    secret = json.loads(next(body for lang, body in code_blocks() if lang == "json"))
    secret["db"]["path"] = str(tmp_path / "acme.sqlite3")
    secret["storage"]["root"] = str(tmp_path / "objects")
    secret["llm"]["api_key"] = KEY
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "acme.json").write_text(json.dumps(secret))
    return directory


def test_the_example_plugin_is_listed_and_validates(
    example_plugin: dict[str, Any],
    config_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["providers", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)["providers"]}
    assert rows["example"] == {
        "kind": "llm",
        "name": "example",
        "distribution": "tenantkit-llm-example",
        "version": example_plugin["version"],
        "module": MODULE,
        "loads": True,
        "capabilities": ["streaming"],
        "description": "Example AI chat API",
        "error": None,
        "error_kind": None,
    }
    secret = config_dir / "acme.json"
    assert main(["secret", "validate", str(secret)]) == 0
    assert capsys.readouterr().out == (
        f"{secret}: ok (tenant acme: db=sqlite, llm=example, storage=local)\n"
    )


def test_the_example_plugin_chats_and_maps_errors(
    example_plugin: dict[str, Any], config_dir: Path
) -> None:
    resolver = Resolver(
        DirectorySource(config_dir), plugins=Plugins(), retry=NO_RETRY, signing_key=b"g" * 32
    )
    answer = {
        "id": "r-1",
        "model": "example-small",
        "output": "Hello Ada.",
        "finish": "max_tokens",
        "usage": {"in": 7, "out": 3},
    }
    try:
        with respx.mock(base_url="https://api.example.com") as router:
            route = router.post("/v1/chat").mock(
                side_effect=[
                    httpx.Response(200, json=answer, headers={"x-request-id": "req-9"}),
                    httpx.Response(
                        401, json={"error": {"code": "bad_key", "message": f"bad key {KEY}"}}
                    ),
                    httpx.Response(
                        429,
                        json={"error": {"code": "rate_limit", "message": "slow down"}},
                        headers={"retry-after": "3"},
                    ),
                ]
            )
            llm = resolver.resolve("acme").llm
            reply = llm.chat(
                messages=[
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "My name is Ada."},
                ],
                max_tokens=16,
            )
            assert reply.text == "Hello Ada."
            assert reply.finish_reason == "length"
            assert reply.raw_finish_reason == "max_tokens"
            assert (reply.usage.input_tokens, reply.usage.output_tokens) == (7, 3)
            assert reply.request_id == "req-9"
            sent = route.calls.last.request
            assert sent.headers["authorization"] == f"Bearer {KEY}"
            assert json.loads(sent.content) == {
                "model": "example-small",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "My name is Ada."},
                ],
                "max_tokens": 16,
            }
            with pytest.raises(errors.AuthenticationError) as rejected:
                llm.chat(messages=[{"role": "user", "content": "hi"}])
            assert KEY not in str(rejected.value)
            assert rejected.value.status == 401
            with pytest.raises(errors.RateLimited) as limited:
                llm.chat(messages=[{"role": "user", "content": "hi"}])
            assert limited.value.retry_after == 3
    finally:
        resolver.close()


def test_the_guides_conformance_test_passes(
    example_plugin: dict[str, Any], site_dir: SiteDir, tmp_path: Path
) -> None:
    output = run_guide_test(
        [
            "# tests/test_conformance.py for the example LLM provider",
            "# tests/test_streams.py for the example LLM provider",
        ],
        site_dir,
        tmp_path,
    )
    assert passed(output) >= 35
    # The streaming section runs: the example declares streaming.
    assert "declares 'streaming'" in output
    assert "does not declare 'streaming'" not in output


def test_the_database_example_is_listed_and_serves_a_tenant(
    memory_plugin: dict[str, Any],
    config_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["providers", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)["providers"]}
    assert rows["memory"]["kind"] == "db"
    assert rows["memory"]["distribution"] == "tenantkit-db-memory"
    assert rows["memory"]["loads"] is True
    assert rows["memory"]["capabilities"] == ["batch", "indexes", "transactions", "ttl"]
    secret = json.loads((config_dir / "acme.json").read_text())
    secret["db"] = {"provider": "memory", "max_items": 3}
    secret["llm"] = {"provider": "echo"}
    (config_dir / "acme.json").write_text(json.dumps(secret))
    resolver = Resolver(
        DirectorySource(config_dir), plugins=Plugins(), retry=NO_RETRY, signing_key=b"g" * 32
    )
    try:
        db = resolver.resolve("acme").db
        first = db.put("notes", {"pk": "u1", "sk": "n1", "text": "hi"})
        db.update("notes", "u1", "n2", set={"text": "there"}, upsert=True, ttl=600)
        page = db.query("notes", "u1", limit=1)
        assert [item["text"] for item in page.items] == ["hi"]
        assert page.cursor is not None
        rest = db.query("notes", "u1", cursor=page.cursor)
        assert [(item.sk, item["text"]) for item in rest.items] == [("n2", "there")]
        assert rest.items[0].expires_at is not None
        with pytest.raises(errors.ConditionFailed):
            db.put("notes", {"pk": "u1", "sk": "n1"}, condition=IfVersion(version="stale"))
        assert db.get("notes", "u1", "n1") == first
        db.put("notes", {"pk": "u2"})
        with pytest.raises(errors.QuotaExceeded, match="3 items"):
            db.put("notes", {"pk": "u3"})
    finally:
        resolver.close()


def test_the_guides_database_conformance_test_runs_the_whole_suite(
    memory_plugin: dict[str, Any], site_dir: SiteDir, tmp_path: Path
) -> None:
    output = run_guide_test(
        ["# tests/test_conformance.py for the memory database provider"], site_dir, tmp_path
    )
    # Every test of the suite but the "undeclared capability" ones of the four it
    # declares, and the `export` section's (the one capability it leaves out).
    assert passed(output) >= 100
    declared = len(DbCapability) - 1
    assert output.count("is declared") == declared
    export_skips = sum(
        int(n) for n in re.findall(r"SKIPPED \[(\d+)\] .*does not declare 'export'", output)
    )
    undeclared_export = len(re.findall(r"'export' not declared", output))
    skipped = re.search(r"(\d+) skipped", output)
    assert skipped is not None
    assert export_skips >= 8
    assert int(skipped.group(1)) == declared + export_skips + undeclared_export
