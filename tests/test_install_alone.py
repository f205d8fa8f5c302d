"""Each database and storage plugin installs alone: its wheel and the core's, built from
this workspace, installed into a clean virtual environment with the rest taken from
PyPI, pull no other plugin and no other cloud's SDK, and the plugin imports there
(its registration module and its provider module) and is listed by ``tenantkit
providers``.

One venv per plugin (installs come from uv's cache after the first run: a few
seconds each). Skipped when the package index cannot be reached.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
INDEX = (
    os.environ.get("UV_DEFAULT_INDEX")
    or os.environ.get("UV_INDEX_URL")
    or "https://pypi.org/simple"
)

#: Distributions that belong to one cloud or one database client.
SDK_PREFIXES = ("boto3", "botocore", "s3transfer", "azure-", "google-", "psycopg")

#: plugin directory -> (distribution, provider module, provider group, name, SDKs it may pull)
PLUGINS: dict[str, tuple[str, str, str, str, tuple[str, ...]]] = {
    "db-cosmos": ("tenantkit-db-cosmos", "tenantkit_db_cosmos.database", "db", "cosmos", ()),
    "store-azure-blob": (
        "tenantkit-store-azure-blob",
        "tenantkit_store_azure_blob.store",
        "storage",
        "azure-blob",
        (),
    ),
    "store-gcs": (
        "tenantkit-store-gcs",
        "tenantkit_store_gcs.store",
        "storage",
        "gcs",
        ("google-auth",),
    ),
    "store-s3": (
        "tenantkit-store-s3",
        "tenantkit_store_s3.store",
        "storage",
        "s3",
        ("boto3", "botocore", "s3transfer"),
    ),
    "db-dynamodb": (
        "tenantkit-db-dynamodb",
        "tenantkit_db_dynamodb.database",
        "db",
        "dynamodb",
        ("boto3", "botocore", "s3transfer"),
    ),
    "db-postgres": (
        "tenantkit-db-postgres",
        "tenantkit_db_postgres.database",
        "db",
        "postgres",
        ("psycopg", "psycopg-binary", "psycopg-pool"),
    ),
}


def _uv() -> str:
    uv = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    if not Path(uv).exists():
        pytest.skip("uv is not installed (it builds the wheels and makes the venvs)")
    return uv


@pytest.fixture(scope="module")
def index() -> str:
    try:
        httpx.head(f"{INDEX.rstrip('/')}/pip/", timeout=5, follow_redirects=True)
    except httpx.HTTPError as exc:
        pytest.skip(f"the package index {INDEX} is unreachable ({type(exc).__name__})")
    return INDEX


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory, index: str) -> Path:
    out = tmp_path_factory.mktemp("wheels")
    packages = ["tenantkit", *(dist for dist, *_ in PLUGINS.values())]
    for package in packages:
        subprocess.run(
            [_uv(), "build", "--quiet", "--package", package, "--wheel", "--out-dir", str(out)],
            cwd=ROOT,
            check=True,
            timeout=120,
        )
    return out


def _wheel(wheels: Path, distribution: str) -> Path:
    (found,) = wheels.glob(f"{distribution.replace('-', '_')}-*.whl")
    return found


@pytest.mark.parametrize("plugin", list(PLUGINS))
def test_plugin_installs_alone(plugin: str, wheels: Path, index: str, tmp_path: Path) -> None:
    distribution, module, group, name, allowed = PLUGINS[plugin]
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    uv = _uv()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}

    def run(*command: str) -> str:
        done = subprocess.run(
            command, cwd=tmp_path, env=env, check=True, capture_output=True, text=True, timeout=120
        )
        return done.stdout

    run(uv, "venv", "--quiet", "--no-config", "--python", sys.executable, str(venv))
    run(
        *(uv, "pip", "install", "--quiet", "--no-config", "--python", str(python)),
        *("--index-url", index),
        *(str(_wheel(wheels, "tenantkit")), str(_wheel(wheels, distribution))),
    )
    listed = run(uv, "pip", "list", "--no-config", "--python", str(python), "--format", "freeze")
    installed = {line.split("==")[0].lower() for line in listed.split() if "==" in line}
    assert {"tenantkit", distribution} <= installed
    assert {d for d in installed if d.startswith("tenantkit")} == {"tenantkit", distribution}
    sdks = {d for d in installed if d.startswith(SDK_PREFIXES)}
    assert sdks <= set(allowed), f"{distribution} pulled {sorted(sdks - set(allowed))}"

    check = (
        "import importlib, importlib.metadata as md, sys\n"
        f"importlib.import_module({module!r})\n"
        f"eps = md.entry_points(group='tenantkit.{group}')\n"
        f"assert {name!r} in eps.names, sorted(eps.names)\n"
        "assert md.version('tenantkit') == '0.1.0'\n"
        "assert not any(p.startswith(%r) for p in sys.path)\n" % str(ROOT)
    )
    run(str(python), "-c", check)
    assert name in run(str(python), "-m", "tenantkit", "providers")
