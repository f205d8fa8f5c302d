"""``pip install tenantkit-db-cosmos`` pulls tenantkit and httpx only, and the plugin
loads no cloud SDK (no azure-cosmos, no other cloud's client)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_depends_on_the_core_and_httpx_only() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    names = {
        dep.split(">")[0].split("=")[0].split("[")[0].strip() for dep in project["dependencies"]
    }
    assert names == {"tenantkit", "httpx"}
    assert project["entry-points"]["tenantkit.db"] == {"cosmos": "tenantkit_db_cosmos"}


def test_the_provider_imports_no_cloud_sdk() -> None:
    probe = (
        "import sys, tenantkit_db_cosmos.database\n"
        "roots = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(roots & {'azure', 'boto3', 'botocore', 'google', 'requests'}))\n"
        "others = {m for m in roots if m.startswith('tenantkit_')} - {'tenantkit_db_cosmos'}\n"
        "print(sorted(others))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.splitlines() == ["[]", "[]"]
