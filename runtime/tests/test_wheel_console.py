"""The runtime's wheel ships the built web console (``console/dist``, git-ignored,
so listed as a hatch artifact): ``pip install 'tenantkit-runtime[serve]'`` serves it
without Node.js. Built from a copy of the project with a stand-in build."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

RUNTIME = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_the_built_console(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv builds the wheel: it is missing (./run test installs it)")
    project = tmp_path / "runtime"
    project.mkdir()
    shutil.copy(RUNTIME / "pyproject.toml", project)
    shutil.copy(RUNTIME / "README.md", project)
    shutil.copytree(
        RUNTIME / "src",
        project / "src",
        ignore=shutil.ignore_patterns("__pycache__", "dist"),
    )
    (project / ".gitignore").write_text("dist/\n", encoding="utf-8")  # as the repository's
    dist = project / "src" / "tenantkit_runtime" / "console" / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>console</title>", encoding="utf-8")
    (dist / "assets" / "index-0a1b2c3d.js").write_text("export {};\n", encoding="utf-8")
    out = tmp_path / "wheels"
    subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(out), "--python", sys.executable, str(project)],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (wheel,) = out.glob("tenantkit_runtime-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "tenantkit_runtime/console/dist/index.html" in names
    assert "tenantkit_runtime/console/dist/assets/index-0a1b2c3d.js" in names
    assert "tenantkit_runtime/local/console.py" in names
