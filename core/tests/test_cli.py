"""The ``tenantkit`` command line: every command, its bad input and its exit codes.

Most tests call ``main([...])`` in process; the ones that need a fresh interpreter
(which plugin modules a check imports, tracebacks, the ``-m`` entry) run
``python -m tenantkit.cli`` in a subprocess.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import tenantkit
from tenantkit.cli import main
from testharness.moto import MotoServer

if TYPE_CHECKING:
    from .conftest import SiteDir

PLANTED = "sk-Planted_CLI_4b9d2e7f1a3c"
EMBEDDED_MODULES = [
    "tenantkit.providers.echo",
    "tenantkit.providers.local_storage",
    "tenantkit.providers.sqlite",
]

# An LLM plugin with a credential in its settings. Its chat quotes the key it was given
# in its error, as a careless provider might: the core must scrub it before any output.
_PLANTED_PLUGIN = """
import tenantkit
from tenantkit.errors import AuthenticationError
from tenantkit.llm import LLM


class Settings(tenantkit.ProviderSettings):
    api_key: tenantkit.Secret
    timeout: float = 30.0


class PlantedLLM(LLM):
    def __init__(self, settings, context):
        self._key = settings.api_key.get_secret_value()

    def chat(self, request):
        raise AuthenticationError(f"the key {self._key} was rejected")


@tenantkit.hookimpl
def register_llm_providers(register):
    register("planted", PlantedLLM, Settings, description="test plugin")
"""


@pytest.fixture(autouse=True)
def _index_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the on-disk entry-point index of every run inside the test's directory."""
    cache = tmp_path / "index-cache"
    monkeypatch.setenv("TENANTKIT_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(autouse=True)
def _logger_level() -> Iterator[None]:
    """``-v`` sets the level of the ``tenantkit`` logger; keep that inside the test."""
    logger = logging.getLogger("tenantkit")
    level = logger.level
    yield
    logger.setLevel(level)


def secret(tenant_id: str, data: Path, **sections: Any) -> dict[str, Any]:
    """A valid tenant secret on the embedded providers, with ``sections`` replaced."""
    doc: dict[str, Any] = {
        "schema_version": 1,
        "tenant_id": tenant_id,
        "db": {"provider": "sqlite", "path": str(data / "tenants.sqlite3")},
        "storage": {
            "provider": "local",
            "root": str(data / "objects"),
            "signing_key": "local-presign-key-0123456789",
        },
        "llm": {"provider": "echo"},
    }
    doc.update(sections)
    return doc


def write(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A configuration directory holding tenant ``acme`` on sqlite, local and echo."""
    directory = tmp_path / "config"
    (tmp_path / "data").mkdir()
    write(directory / "acme.json", secret("acme", tmp_path / "data"))
    return directory


@pytest.fixture
def planted(site_dir: SiteDir) -> str:
    """Install the ``planted`` LLM plugin; returns its module name."""
    module = site_dir.module_name("tk_planted")
    site_dir.install(
        "tenantkit-llm-planted",
        version="0.3",
        entry_points={"tenantkit.llm": {"planted": module}},
        modules={module: _PLANTED_PLUGIN},
    )
    return module


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``main(args)`` in process: (exit status, stdout, stderr)."""
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def run_process(
    *args: str, tmp_path: Path, pythonpath: Sequence[Path] = ()
) -> subprocess.CompletedProcess[str]:
    """``python -m tenantkit.cli args`` in a fresh interpreter."""
    env = {**os.environ, "TENANTKIT_CACHE_DIR": str(tmp_path / "index-cache")}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    return subprocess.run(
        [sys.executable, "-m", "tenantkit.cli", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )


# --- top level -----------------------------------------------------------------------


def test_version_help_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--version")
    assert (status, out.strip()) == (0, f"tenantkit {tenantkit.__version__}")
    status, out, _ = run(capsys, "--help")
    assert status == 0
    for command in ("providers", "secret", "check"):
        assert command in out
    status, _, err = run(capsys)
    assert status == 2
    assert "required" in err
    status, _, err = run(capsys, "frob")
    assert status == 2
    assert "invalid choice: 'frob'" in err
    status, _, err = run(capsys, "secret")
    assert status == 2
    status, _, err = run(capsys, "secret", "validate")
    assert status == 2
    assert "FILE" in err


# --- providers -----------------------------------------------------------------------


def test_providers_lists_the_embedded_providers(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "providers", "--json")
    assert status == 0
    listing = json.loads(out)
    assert listing["ok"] is True
    rows = {(row["kind"], row["name"]): row for row in listing["providers"]}
    version = metadata.version("tenantkit")
    assert version == tenantkit.__version__
    for kind, name, capability in [
        ("db", "sqlite", "transactions"),
        ("storage", "local", "presign"),
        ("llm", "echo", "streaming"),
    ]:
        row = rows[(kind, name)]
        assert row["distribution"] == "tenantkit"
        assert row["version"] == version
        assert row["loads"] is True
        assert row["error"] is None
        assert capability in row["capabilities"]
        assert row["module"].startswith("tenantkit.providers.")

    status, out, _ = run(capsys, "providers")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["KIND", "NAME", "DISTRIBUTION", "VERSION", "LOADS", "CAPABILITIES"]
    sqlite_row = next(line for line in lines if line.split()[:2] == ["db", "sqlite"])
    assert sqlite_row.split()[2:5] == ["tenantkit", version, "ok"]


def test_providers_lists_broken_plugins_with_their_error(
    capsys: pytest.CaptureFixture[str], site_dir: SiteDir, planted: str
) -> None:
    broken = site_dir.module_name("tk_broken")
    site_dir.install(
        "tenantkit-db-broken",
        version="2.1",
        entry_points={"tenantkit.db": {"broken": broken}},
        modules={broken: "import a_dependency_that_is_not_installed\n"},
    )
    status, out, _ = run(capsys, "providers", "--json")
    assert status == 0  # listed, not fatal
    listing = json.loads(out)
    assert listing["ok"] is False
    rows = {row["name"]: row for row in listing["providers"]}
    assert rows["broken"]["loads"] is False
    assert rows["broken"]["distribution"] == "tenantkit-db-broken"
    assert rows["broken"]["version"] == "2.1"
    assert rows["broken"]["error_kind"] == "plugin_import_error"
    assert "ModuleNotFoundError" in rows["broken"]["error"]
    assert rows["planted"] == {
        "kind": "llm",
        "name": "planted",
        "distribution": "tenantkit-llm-planted",
        "version": "0.3",
        "module": planted,
        "loads": True,
        "capabilities": [],
        "description": "test plugin",
        "error": None,
        "error_kind": None,
    }
    assert rows["sqlite"]["loads"] is True  # the others still load

    status, out, _ = run(capsys, "providers")
    assert status == 0
    broken_line = next(line for line in out.splitlines() if line.startswith("db       broken"))
    assert "FAILED" in broken_line
    assert "plugin_import_error: db provider 'broken'" in out

    status, _, _ = run(capsys, "providers", "--strict")
    assert status == 1


def test_providers_reports_two_distributions_claiming_one_name(
    capsys: pytest.CaptureFixture[str], site_dir: SiteDir, memory_plugin: Callable[[str], str]
) -> None:
    first, second = site_dir.module_name("tk_first"), site_dir.module_name("tk_second")
    site_dir.install(
        "tenantkit-db-twin",
        entry_points={"tenantkit.db": {"twin": first}},
        modules={first: memory_plugin("twin")},
    )
    site_dir.install(
        "other-db-twin",
        entry_points={"tenantkit.db": {"twin": second}},
        modules={second: memory_plugin("twin")},
    )
    status, out, _ = run(capsys, "providers", "--json", "--strict")
    assert status == 1
    twins = [row for row in json.loads(out)["providers"] if row["name"] == "twin"]
    assert {row["distribution"] for row in twins} == {"tenantkit-db-twin", "other-db-twin"}
    assert all(row["error_kind"] == "plugin_conflict" for row in twins)


# --- secret validate -----------------------------------------------------------------


def test_validate_accepts_valid_secrets(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    acme = write(tmp_path / "acme.json", secret("acme", tmp_path))
    globex = write(tmp_path / "globex.json", secret("globex", tmp_path, plan="pro"))
    status, out, err = run(capsys, "secret", "validate", str(acme), str(globex))
    assert status == 0
    assert out.splitlines() == [
        f"{acme}: ok (tenant acme: db=sqlite, llm=echo, storage=local)",
        f"{globex}: ok (tenant globex: db=sqlite, llm=echo, storage=local)",
    ]
    assert err == ""


def _without(doc: dict[str, Any], kind: str, field: str) -> dict[str, Any]:
    return {**doc, kind: {k: v for k, v in doc[kind].items() if k != field}}


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda d: '{"schema_version": 1, "tenant_id": "acme",',
            ["not valid JSON (line 1, column"],
        ),
        (lambda d: "[1, 2]", ["must be a JSON object, not list"]),
        (lambda d: _without(d, "llm", "provider"), ["llm.provider: field required"]),
        (
            lambda d: {**d, "db": {"provider": "mongodb"}},
            [
                "db.provider: no db provider named 'mongodb' is installed (installed: ",
                "no known tenantkit distribution provides it",
            ],
        ),
        (
            lambda d: {**d, "storage": {"provider": "minio"}},
            ["storage.provider: no storage provider named 'minio'", "no known tenantkit"],
        ),
        (
            lambda d: {**d, "db": {**d["db"], "colour": "blue"}},
            ["db.colour: unknown field"],
        ),
        (lambda d: {**d, "region": "eu-west-1"}, ["region: unknown field"]),
        (
            lambda d: {**d, "limits": {"requests_per_minute": "lots"}},
            ["limits.requests_per_minute: Input should be a valid integer"],
        ),
        (
            lambda d: {**d, "db": {**d["db"], "busy_timeout_ms": "soon"}},
            ["db.busy_timeout_ms: Input should be a valid integer"],
        ),
        (lambda d: {**d, "tenant_id": "Acme_Corp"}, ["tenant_id: String should match pattern"]),
        (lambda d: {**d, "tenant_id": "-acme"}, ["tenant_id: String should match pattern"]),
        (
            lambda d: {k: v for k, v in d.items() if k != "storage"},
            ["storage: field required"],
        ),
        (
            lambda d: _without(d, "storage", "signing_key"),
            ["storage.signing_key: field required"],
        ),
        (lambda d: {**d, "schema_version": 2}, ["schema_version: Input should be 1"]),
    ],
    ids=[
        "malformed-json",
        "not-an-object",
        "missing-provider",
        "unknown-provider",
        "unknown-storage-provider",
        "unknown-provider-field",
        "unknown-top-level-field",
        "wrong-type",
        "wrong-type-in-provider-settings",
        "tenant-id-format",
        "tenant-id-leading-hyphen",
        "missing-section",
        "missing-required-setting",
        "schema-version",
    ],
)
def test_validate_reports_each_problem_with_file_and_field_path(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    make: Callable[[dict[str, Any]], Any],
    expected: list[str],
) -> None:
    path = write(tmp_path / "acme.json", make(secret("acme", tmp_path)))
    status, out, _ = run(capsys, "secret", "validate", str(path))
    assert status == 1
    lines = out.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}: ")
    for fragment in expected:
        assert fragment in lines[0]


def test_validate_reports_every_problem_of_every_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, planted: str
) -> None:
    good = write(tmp_path / "good.json", secret("good", tmp_path))
    bad = write(
        tmp_path / "acme.json",
        secret(
            "acme",
            tmp_path,
            llm={"provider": "planted"},
            db={"provider": "sqlite", "extra": 1},
            limits={"requests_per_minute": 0},
        ),
    )
    missing = tmp_path / "missing.json"
    status, out, err = run(capsys, "secret", "validate", str(good), str(bad), str(missing))
    assert status == 1
    lines = out.splitlines()
    assert lines[0] == f"{good}: ok (tenant good: db=sqlite, llm=echo, storage=local)"
    assert sorted(lines[1:4]) == sorted(
        [
            f"{bad}: llm.api_key: field required",
            f"{bad}: db.extra: unknown field",
            f"{bad}: limits.requests_per_minute: Input should be greater than 0",
        ]
    )
    assert lines[4] == f"{missing}: cannot read the file: No such file or directory"
    assert len(lines) == 5
    assert err.strip() == "2 of 3 files invalid"


def test_validate_merges_over_defaults_only_when_asked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    full = secret("acme", tmp_path)
    defaults = write(tmp_path / "defaults.json", {k: full[k] for k in ("db", "storage", "llm")})
    partial = write(
        tmp_path / "acme.json",
        {"schema_version": 1, "tenant_id": "acme", "llm": {"provider": "echo", "prefix": "A: "}},
    )
    status, out, _ = run(capsys, "secret", "validate", str(partial))
    assert status == 1
    assert f"{partial}: db: field required" in out.splitlines()
    status, out, _ = run(capsys, "secret", "validate", "--defaults", str(defaults), str(partial))
    assert status == 0
    assert out.startswith(f"{partial}: ok")

    broken_defaults = write(tmp_path / "broken-defaults.json", "{")
    status, out, _ = run(
        capsys, "secret", "validate", "--defaults", str(broken_defaults), str(partial)
    )
    assert status == 1
    assert out.splitlines() == [f"{broken_defaults}: not valid JSON (line 1, column 2)"]


def test_validate_reports_a_plugin_that_fails_to_load(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, site_dir: SiteDir
) -> None:
    broken = site_dir.module_name("tk_broken_llm")
    site_dir.install(
        "tenantkit-llm-broken",
        entry_points={"tenantkit.llm": {"broken": broken}},
        modules={broken: "raise RuntimeError('cannot start')\n"},
    )
    path = write(tmp_path / "acme.json", secret("acme", tmp_path, llm={"provider": "broken"}))
    status, out, _ = run(capsys, "secret", "validate", str(path))
    assert status == 1
    assert out.startswith(f"{path}: PluginImportError: llm provider 'broken'")
    assert "RuntimeError: cannot start" in out


# --- secret schema -------------------------------------------------------------------


def test_schema_is_the_json_schema_of_a_tenant_secret(
    capsys: pytest.CaptureFixture[str], planted: str
) -> None:
    status, out, _ = run(capsys, "secret", "schema", "--json")
    assert status == 0
    schema = json.loads(out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"schema_version", "tenant_id", "db", "llm", "storage"} <= set(schema["required"])
    assert schema["properties"]["tenant_id"]["pattern"].startswith("^[a-z0-9]")
    llm = schema["properties"]["llm"]
    assert set(llm["discriminator"]["mapping"]) >= {"echo", "planted"}
    planted_section = schema["$defs"]["PlantedLlmSection"]
    assert planted_section["properties"]["api_key"]["writeOnly"] is True
    assert "api_key" in planted_section["required"]
    assert set(schema["properties"]["db"]["discriminator"]["mapping"]) >= {"sqlite"}
    # Every provider field names its owner; a plugin that declares nothing owns nothing.
    assert {p["x-tenantkit-owner"] for p in planted_section["properties"].values()} == {"operator"}
    echo = schema["$defs"]["EchoLlmSection"]["properties"]
    assert echo["prefix"]["x-tenantkit-owner"] == "tenant"
    assert echo["replies"]["x-tenantkit-owner"] == "operator"
    local = schema["$defs"]["LocalStorageSection"]["properties"]
    assert {name: p["x-tenantkit-owner"] for name, p in local.items()} == {
        "provider": "operator",
        "root": "operator",
        "base_url": "operator",
        "signing_key": "operator",
    }


def test_schema_shows_who_owns_each_setting(
    capsys: pytest.CaptureFixture[str], planted: str
) -> None:
    status, out, _ = run(capsys, "secret", "schema")
    assert status == 0
    sections = {block.split("\n", 1)[0]: block for block in out.split("\n\n")}
    planted_block = sections["llm provider 'planted' (tenantkit-llm-planted)"]
    rows = {line.split()[0]: line.split()[1:] for line in planted_block.splitlines()[1:]}
    assert rows["api_key"][:2] == ["operator", "SecretStr"]
    assert "secret" in rows["api_key"][-1]
    assert rows["timeout"][:2] == ["operator", "float"]
    echo = sections["llm provider 'echo' (tenantkit)"]
    owners = {line.split()[0]: line.split()[1] for line in echo.splitlines()[1:]}
    assert owners == {
        "field": "owner",
        "model": "tenant",
        "prefix": "tenant",
        "replies": "operator",
        "fail_with": "operator",
    }
    local = sections["storage provider 'local' (tenantkit)"]
    assert {line.split()[1] for line in local.splitlines()[2:]} == {"operator"}


# --- check ---------------------------------------------------------------------------


def test_check_on_the_embedded_providers_imports_exactly_their_modules(
    tmp_path: Path, config_dir: Path
) -> None:
    done = run_process(
        "check", "acme", "--config-dir", str(config_dir), "--json", tmp_path=tmp_path
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    assert report["error"] is None
    assert report["imported_plugins"] == EMBEDDED_MODULES
    checks = {p["kind"]: p for p in report["providers"]}
    assert {k: p["provider"] for k, p in checks.items()} == {
        "db": "sqlite",
        "llm": "echo",
        "storage": "local",
    }
    for probe in checks.values():
        assert probe["ok"] is True
        assert probe["error"] is None
        assert 0 < probe["seconds"] < 60
    assert "probe item" in checks["db"]["detail"]
    assert "probe object" in checks["storage"]["detail"]

    done = run_process("check", "acme", "--config-dir", str(config_dir), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"tenant acme: ok (directory {config_dir}, configuration version ")
    assert [line.split()[:3] for line in lines[1:4]] == [
        ["db", "sqlite", "ok"],
        ["llm", "echo", "ok"],
        ["storage", "local", "ok"],
    ]
    assert lines[4] == f"plugins imported: {', '.join(EMBEDDED_MODULES)}"


def test_check_loads_only_the_plugins_the_tenant_names(tmp_path: Path, config_dir: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    dist = site / "tenantkit_llm_decoy-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tenantkit-llm-decoy\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text("[tenantkit.llm]\ndecoy = tk_decoy_plugin\n")
    (site / "tk_decoy_plugin.py").write_text(
        "raise SystemExit('the decoy must never be imported')\n"
    )
    done = run_process(
        "check",
        "acme",
        "--config-dir",
        str(config_dir),
        "--json",
        tmp_path=tmp_path,
        pythonpath=[site],
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["imported_plugins"] == EMBEDDED_MODULES


def test_check_refuses_a_secret_stored_under_another_tenants_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, config_dir: Path
) -> None:
    write(config_dir / "bravo.json", secret("alpha", tmp_path / "data"))
    status, out, _ = run(capsys, "check", "bravo", "--config-dir", str(config_dir))
    assert status == 1
    lines = out.splitlines()
    assert lines[0].startswith("tenant bravo: FAILED")
    assert "TenantMismatch" in lines[1]
    assert "stored under tenant 'bravo' but declares tenant_id 'alpha'; refusing it" in lines[1]
    status, out, _ = run(capsys, "check", "bravo", "--config-dir", str(config_dir), "--json")
    assert status == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert report["providers"] == []
    assert report["error"].startswith("TenantMismatch: ")


@pytest.mark.parametrize(
    ("tenant", "expected"),
    [
        ("nobody", "TenantNotFound: no configuration for tenant 'nobody'"),
        ("Not_A_Tenant", "InvalidRequest: invalid tenant id 'Not_A_Tenant'"),
    ],
)
def test_check_reports_unknown_and_malformed_tenant_ids(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tenant: str, expected: str
) -> None:
    status, out, _ = run(capsys, "check", tenant, "--config-dir", str(config_dir))
    assert status == 1
    assert expected in out


def test_check_reports_an_invalid_secret_by_field_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, config_dir: Path
) -> None:
    doc = secret("acme", tmp_path / "data", llm={"provider": "echo", "temperature": "hot"})
    write(config_dir / "acme.json", doc)
    status, out, _ = run(capsys, "check", "acme", "--config-dir", str(config_dir))
    assert status == 1
    assert "SecretValidationError" in out
    assert "llm.temperature: unknown field" in out


def test_check_reports_a_failing_provider_and_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, config_dir: Path
) -> None:
    failing = {"provider": "echo", "fail_with": {"error": "authentication_error"}}
    write(config_dir / "acme.json", secret("acme", tmp_path / "data", llm=failing))
    status, out, _ = run(capsys, "check", "acme", "--config-dir", str(config_dir), "--json")
    assert status == 1
    report = json.loads(out)
    assert report["ok"] is False
    by_kind = {p["kind"]: p for p in report["providers"]}
    assert by_kind["db"]["ok"] is True
    assert by_kind["storage"]["ok"] is True
    assert by_kind["llm"]["ok"] is False
    assert by_kind["llm"]["error_kind"] == "authentication_error"
    status, out, _ = run(capsys, "check", "acme", "--config-dir", str(config_dir))
    assert status == 1
    llm_line = next(line for line in out.splitlines() if line.split()[:1] == ["llm"])
    assert llm_line.split()[:3] == ["llm", "echo", "FAILED"]
    assert "authentication_error: " in llm_line


def test_check_ensure_schema(capsys: pytest.CaptureFixture[str], config_dir: Path) -> None:
    status, out, _ = run(
        capsys, "check", "acme", "--config-dir", str(config_dir), "--ensure-schema", "--json"
    )
    assert status == 0, out
    assert json.loads(out)["ok"] is True


def test_check_reads_secrets_manager(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, moto_server: MotoServer
) -> None:
    client = moto_server.client("secretsmanager")
    prefix = "cli-check"
    (tmp_path / "data").mkdir()
    full = secret("acme", tmp_path / "data")
    client.create_secret(
        Name=f"{prefix}/defaults",
        SecretString=json.dumps({k: full[k] for k in ("db", "storage")}),
    )
    client.create_secret(
        Name=f"{prefix}/tenants/acme",
        SecretString=json.dumps({k: full[k] for k in ("schema_version", "tenant_id", "llm")}),
    )
    client.create_secret(
        Name=f"{prefix}/tenants/bravo", SecretString=json.dumps(secret("alpha", tmp_path))
    )
    where = [
        "--secrets-prefix", prefix,
        "--endpoint-url", moto_server.endpoint_url,
        "--region", moto_server.region,
    ]  # fmt: skip
    status, out, _ = run(capsys, "check", "acme", *where)
    assert status == 0, out
    assert out.startswith(f"tenant acme: ok (Secrets Manager {prefix}/, configuration version")
    status, out, _ = run(capsys, "check", "bravo", *where, "--json")
    assert status == 1
    assert json.loads(out)["error"].startswith("TenantMismatch: ")
    status, out, _ = run(capsys, "check", "nobody", *where)
    assert status == 1
    assert f"TenantNotFound: no secret {prefix}/tenants/nobody" in out


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["check", "acme"], "pass --config-dir or --secrets-prefix, or set TENANTKIT_CONFIG_DIR"),
        (
            ["check", "acme", "--config-dir", "{dir}", "--secrets-prefix", "p"],
            "not allowed with argument",
        ),
        (
            ["check", "acme", "--config-dir", "{dir}", "--endpoint-url", "http://127.0.0.1:1"],
            "--endpoint-url and --region go with --secrets-prefix",
        ),
        (["check", "acme", "--config-dir", "{dir}/nowhere"], "nowhere: not a directory"),
        (["check", "--config-dir", "{dir}"], "required: TENANT"),
    ],
    ids=["no-source", "two-sources", "endpoint-without-prefix", "no-such-dir", "no-tenant"],
)
def test_check_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    config_dir: Path,
    arguments: list[str],
    expected: str,
) -> None:
    monkeypatch.delenv("TENANTKIT_CONFIG_DIR", raising=False)
    monkeypatch.delenv("TENANTKIT_SECRETS_PREFIX", raising=False)
    status, out, err = run(capsys, *[a.replace("{dir}", str(config_dir)) for a in arguments])
    assert status == 2
    assert out == ""
    assert expected in err
    assert "usage: tenantkit" in err


# --- credentials never printed -------------------------------------------------------


def _planted_cases(tmp_path: Path) -> dict[str, Any]:
    good_llm = {"provider": "planted", "api_key": PLANTED}
    doc = secret("acme", tmp_path / "data", llm=good_llm)
    return {
        "wrong-type": {**doc, "llm": {**good_llm, "timeout": PLANTED}},
        "unknown-field": {**doc, "llm": {"provider": "planted", "apikey": PLANTED}},
        "misplaced-in-limits": {**doc, "limits": {"requests_per_minute": PLANTED}},
        "as-tenant-id": {**doc, "tenant_id": PLANTED},
        "in-features": {**doc, "features": {"beta": PLANTED}},
        "in-branding": {**doc, "branding": {"primary_color": PLANTED}},
        "as-a-list": {**doc, "llm": {**good_llm, "api_key": [PLANTED]}},
        "malformed-json": json.dumps(doc)[:-2] + ', "x": ',
        "valid": doc,
    }


def test_validate_never_prints_a_planted_credential(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    planted: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    paths = [
        # The valid one is named after its tenant, as a secret must be.
        write(tmp_path / (f"{name}.json" if name != "valid" else "valid/acme.json"), doc)
        for name, doc in _planted_cases(tmp_path).items()
    ]
    status, out, err = run(capsys, "secret", "validate", *map(str, paths))
    assert status == 1
    # every invalid case was reported, the valid one accepted
    assert len(out.splitlines()) >= len(paths)
    assert f"{tmp_path / 'valid' / 'acme.json'}: ok" in out
    for path in paths[:-1]:
        assert f"{path}: " in out
    for text in (out, err, caplog.text):
        assert PLANTED not in text


def test_check_never_prints_a_planted_credential(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    config_dir: Path,
    planted: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    llm = {"provider": "planted", "api_key": PLANTED}
    write(config_dir / "acme.json", secret("acme", tmp_path / "data", llm=llm))
    status, json_out, json_err = run(
        capsys, "-vv", "check", "acme", "--config-dir", str(config_dir), "--json"
    )
    assert status == 1
    report = json.loads(json_out)
    assert planted in report["imported_plugins"]
    status, out, err = run(capsys, "check", "acme", "--config-dir", str(config_dir))
    assert status == 1
    llm_line = next(line for line in out.splitlines() if line.split()[:1] == ["llm"])
    assert "authentication_error: the key ********** was rejected" in llm_line
    for text in (out, err, json_out, json_err, caplog.text):
        assert PLANTED not in text

    done = run_process(
        "-vv", "check", "acme", "--config-dir", str(config_dir),
        tmp_path=tmp_path, pythonpath=[tmp_path / "site-packages"],
    )  # fmt: skip
    assert done.returncode == 1
    assert "authentication_error" in done.stdout
    assert PLANTED not in done.stdout + done.stderr


# --- commands from other distributions -----------------------------------------------

_HELLO_COMMAND = """
from tenantkit.errors import TenantNotFound


def register(subparsers):
    parser = subparsers.add_parser("hello", help="say hello")
    parser.add_argument("--name", default="world")
    parser.add_argument("--status", type=int, default=0)
    parser.set_defaults(func=run)


def run(args):
    if args.name == "nobody":
        raise TenantNotFound("no tenant called nobody")
    print(f"hello {args.name}")
    return args.status
"""


@pytest.fixture
def hello_command(site_dir: SiteDir) -> str:
    module = site_dir.module_name("tk_hello_command")
    site_dir.install(
        "tenantkit-hello",
        entry_points={"tenantkit.commands": {"hello": f"{module}:register"}},
        modules={module: _HELLO_COMMAND},
    )
    return module


def test_other_distributions_add_commands(
    capsys: pytest.CaptureFixture[str], hello_command: str
) -> None:
    status, out, err = run(capsys, "hello", "--name", "acme")
    assert (status, out, err) == (0, "hello acme\n", "")
    status, out, _ = run(capsys, "hello", "--status", "3")
    assert (status, out) == (3, "hello world\n")
    status, out, _ = run(capsys, "--help")
    assert status == 0
    assert "hello" in out
    assert "say hello" in out
    status, out, err = run(capsys, "hello", "--name", "nobody")
    assert status == 1
    assert out == ""
    assert err == "tenantkit: error: TenantNotFound: no tenant called nobody\n"


def test_broken_or_clashing_commands_are_reported_and_left_out(
    capsys: pytest.CaptureFixture[str], site_dir: SiteDir, hello_command: str
) -> None:
    broken = site_dir.module_name("tk_broken_command")
    clash = site_dir.module_name("tk_clash_command")
    site_dir.install(
        "tenantkit-broken-command",
        version="0.9",
        entry_points={"tenantkit.commands": {"frob": f"{broken}:register"}},
        modules={broken: "import a_module_that_is_not_installed\n"},
    )
    site_dir.install(
        "tenantkit-clash",
        entry_points={"tenantkit.commands": {"check": f"{clash}:register"}},
        modules={clash: "raise RuntimeError('a clashing command must not be imported')\n"},
    )
    status, out, err = run(capsys, "hello")
    assert (status, out) == (0, "hello world\n")
    assert (
        "tenantkit: warning: command 'frob' from tenantkit-broken-command 0.9 failed to load: "
        "ModuleNotFoundError: No module named 'a_module_that_is_not_installed'"
    ) in err
    assert "command 'check' from tenantkit-clash 1.0 left out: the name is taken" in err
    assert clash not in sys.modules

    status, _, err = run(capsys, "frob")
    assert status == 2
    assert "invalid choice: 'frob'" in err


def test_builtin_commands_do_not_load_other_distributions_commands(
    capsys: pytest.CaptureFixture[str], site_dir: SiteDir, hello_command: str
) -> None:
    broken = site_dir.module_name("tk_never_loaded")
    site_dir.install(
        "tenantkit-never",
        entry_points={"tenantkit.commands": {"never": f"{broken}:register"}},
        modules={broken: "raise RuntimeError('must not be imported')\n"},
    )
    status, _, err = run(capsys, "providers", "--json")
    assert status == 0
    assert err == ""
    assert hello_command not in sys.modules
    assert broken not in sys.modules


# --- the module entry points, in a fresh interpreter ---------------------------------


def test_python_dash_m_runs_without_tracebacks(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.json", '{"tenant_id": ')
    done = run_process("secret", "validate", str(bad), tmp_path=tmp_path)
    assert done.returncode == 1
    assert done.stdout == f"{bad}: not valid JSON (line 1, column 15)\n"
    assert "Traceback" not in done.stderr

    done = run_process("check", "acme", "--config-dir", str(tmp_path), tmp_path=tmp_path)
    assert done.returncode == 1
    assert "TenantNotFound" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr

    package = subprocess.run(
        [sys.executable, "-m", "tenantkit", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (package.returncode, package.stdout.strip()) == (0, f"tenantkit {tenantkit.__version__}")


@pytest.mark.parametrize(
    "command", [["providers", "--json"], ["secret", "schema"], ["--help"]], ids=" ".join
)
def test_a_reader_that_goes_away_ends_the_command_quietly(command: list[str]) -> None:
    """``tenantkit providers --json | head``: no BrokenPipeError traceback."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tenantkit.cli", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    process.stdout.close()  # the reader is gone before the command writes a byte
    stderr = process.stderr.read().decode()
    status = process.wait(timeout=60)
    assert stderr == ""
    # argparse itself drops what --help cannot write; a command's output is cut short.
    assert status == (0 if command == ["--help"] else 141)


def test_check_reads_where_the_deployment_does(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    config_dir: Path,
) -> None:
    """Without --config-dir, ``check`` honours TENANTKIT_CONFIG_DIR as ``Resolver.from_env``."""
    monkeypatch.setenv("TENANTKIT_CONFIG_DIR", str(config_dir))
    status, out, _ = run(capsys, "check", "acme")
    assert status == 0, out
    assert out.startswith(f"tenant acme: ok (directory {config_dir}, configuration version")
    # The command line wins over the environment.
    monkeypatch.setenv("TENANTKIT_CONFIG_DIR", str(tmp_path / "nowhere"))
    status, out, _ = run(capsys, "check", "acme", "--config-dir", str(config_dir))
    assert status == 0, out
    status, out, err = run(capsys, "check", "acme")
    assert status == 2
    assert f"TENANTKIT_CONFIG_DIR={tmp_path / 'nowhere'}: not a directory" in err


def test_check_on_secrets_manager_without_a_region_says_how_to_give_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "TENANTKIT_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    for arguments in (["--secrets-prefix", "p"], []):
        monkeypatch.setenv("TENANTKIT_SECRETS_PREFIX", "p")
        status, out, err = run(capsys, "check", "acme", *arguments)
        assert status == 2
        assert out == ""
        assert "no AWS region: pass --region or set AWS_REGION" in err
        assert "NoRegionError" not in err


def test_aws_region_is_the_region_of_every_aws_client(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """botocore reads only AWS_DEFAULT_REGION; Lambda sets AWS_REGION: both count."""
    from tenantkit.aws import make_client
    from tenantkit.errors import ConfigurationError

    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    assert make_client("sqs", region=None, read_timeout=1).meta.region_name == "eu-west-3"
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(ConfigurationError, match="sqs: no AWS region: set AWS_REGION"):
        make_client("sqs", region=None, read_timeout=1)


def test_validate_helps_with_common_mistakes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    doc = secret("acme", tmp_path)
    doc["storage"] = {
        "provider": "local",
        "root": str(tmp_path / "objects"),
        "signing_key": "short-" + PLANTED[:4],
        "base_url": "http://127.0.0.1:1/s",
    }
    doc["llm"] = {**doc["llm"], "modle": "x"}
    doc["limits"] = {"requests_per_minut": 10}
    path = write(tmp_path / "acme.json", doc)
    status, out, _ = run(capsys, "secret", "validate", str(path))
    assert status == 1
    assert out.splitlines() == [
        f"{path}: limits.requests_per_minut: unknown field (did you mean 'requests_per_minute'?)",
        f"{path}: llm.modle: unknown field (did you mean 'model'?)",
        f"{path}: storage.signing_key: should have at least 16 characters",
    ]
    # A tenant_id that is not the file's name is refused, as the sources refuse it.
    other = write(tmp_path / "globex.json", secret("acme", tmp_path))
    status, out, _ = run(capsys, "secret", "validate", str(other))
    assert status == 1
    assert out == (
        f"{other}: tenant_id: 'acme' differs from the file's name 'globex': "
        "a secret is stored under its tenant's id (acme.json)\n"
    )
