"""The web console's own checks: TypeScript types, the Vitest suite, and the initial
bundle budget (the gzipped JavaScript ``index.html`` loads before any page's chunk)."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web"
#: Gzipped JavaScript that index.html loads (entry + module preloads), in bytes.
INITIAL_JS_BUDGET = 150 * 1024

NPM = shutil.which("npm")
pytestmark = pytest.mark.skipif(NPM is None, reason="npm is not installed (Node.js 20+ needed)")


def _npm(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    assert NPM is not None
    return subprocess.run(
        [NPM, "--prefix", str(WEB), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def node_modules() -> None:
    """The console's dependencies, installed from the lock file when missing."""
    if not (WEB / "node_modules" / ".package-lock.json").is_file():
        result = _npm("ci", "--no-audit", "--no-fund")
        assert result.returncode == 0, result.stdout + result.stderr


def test_typecheck(node_modules: None) -> None:
    result = _npm("run", "typecheck")
    assert result.returncode == 0, result.stdout + result.stderr


def test_vitest(node_modules: None) -> None:
    result = _npm("test", "--", "--run")
    output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    assert result.returncode == 0, output
    assert re.search(r"Tests\s+\d+ passed", output), output


def initial_js(dist: Path) -> dict[str, int]:
    """Gzipped size of each script ``index.html`` loads at once (entry and preloads)."""
    html = (dist / "index.html").read_text()
    sources = re.findall(r'<script[^>]*type="module"[^>]*src="([^"]+)"', html)
    sources += re.findall(r'<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"', html)
    assert sources, "index.html loads no module script"
    return {
        src: len(gzip.compress((dist / src.lstrip("/")).read_bytes(), compresslevel=9))
        for src in dict.fromkeys(sources)
    }


def test_initial_bundle_fits_the_budget(
    node_modules: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "dist"
    result = _npm("run", "build", "--", "--outDir", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    sizes = initial_js(out)
    total = sum(sizes.values())
    with capsys.disabled():
        print(f"\ninitial JS (gzip): {total / 1024:.1f} KB of {INITIAL_JS_BUDGET // 1024} KB")
    assert total <= INITIAL_JS_BUDGET, sizes
    # the pages are their own chunks: none of them is loaded by index.html
    chunks = [p.name for p in (out / "assets").glob("*.js")]
    for page in ("ChatPage", "FilesPage", "UsagePage", "SettingsPage", "UsersPage"):
        assert any(name.startswith(page) for name in chunks), (page, chunks)
        assert not any(page in src for src in sizes), (page, sizes)
    # markdown rendering (marked + DOMPurify) comes with the chat page, not before
    assert not any("markdown" in src for src in sizes), sizes
