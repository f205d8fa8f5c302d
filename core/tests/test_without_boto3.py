"""The core without the ``aws`` extra: importing tenantkit and resolving tenants from a
directory never needs boto3; a Secrets Manager source says which extra to install.

Each check runs in a fresh interpreter whose imports of boto3 and botocore fail, as
they do where the extra is not installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

BLOCK_BOTO3 = """
import importlib.abc, sys

class NoBoto3(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("boto3", "botocore", "s3transfer"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoBoto3())
"""


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = BLOCK_BOTO3 + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )


def test_a_directory_source_works_without_boto3(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "acme.json").write_text(
        json.dumps(
            {
                "schema_version": 1,
                "tenant_id": "acme",
                "db": {"provider": "sqlite", "path": str(tmp_path / "data.db")},
                "llm": {"provider": "echo"},
                "storage": {
                    "provider": "local",
                    "root": str(tmp_path / "files"),
                    "signing_key": "k" * 32,
                },
            }
        )
    )
    result = _run(
        f"""
        import sys
        import tenantkit
        from tenantkit import DirectorySource, Resolver

        resolver = Resolver(DirectorySource({str(config)!r}), signing_key=b"k" * 32)
        tenant = resolver.resolve("acme")
        tenant.db.put("notes", {{"pk": "a", "text": "hi"}})
        assert tenant.db.get("notes", "a")["text"] == "hi"
        tenant.storage.put("a.txt", b"hello")
        assert tenant.storage.get("a.txt") == b"hello"
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore"))
        print("loaded:", loaded)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "loaded: []" in result.stdout


def test_a_secrets_manager_source_without_boto3_names_the_extra(tmp_path: Path) -> None:
    result = _run(
        """
        from tenantkit import errors
        from tenantkit.sources import SecretsManagerSource

        source = SecretsManagerSource("tk", region="us-east-1")
        try:
            source.fetch("acme")
        except errors.ConfigurationError as exc:
            print("raised:", type(exc).__name__, exc.message)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "raised: ConfigurationError" in result.stdout
    assert "pip install 'tenantkit[aws]'" in result.stdout
