"""The README works as written after ``./run demo``.

``tenantkit serve --demo`` runs in a fresh directory, as a new user starts it; the
README's Python quick-start runs there as written, and so does every shell line of its
``sh`` blocks that comes after the opening one (``./run demo``, ``./run test``) and
before the development section. Shell lines run with the workspace's environment on
the path: ``uv run X`` runs ``X`` from it, and the demo's port replaces 8000.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testharness.tenantkit_serve import ServeProcess, start_serve

pytestmark = pytest.mark.timeout(180)

README = Path(__file__).parents[1] / "README.md"
_SEPARATOR = "=====8<====="


def code_blocks(language: str) -> list[str]:
    """The bodies of the README's fenced ``language`` blocks, in order."""
    text = README.read_text().split("\n## Development", 1)[0]
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    served = start_serve(tmp_path_factory.mktemp("new-user"), "--demo")
    yield served
    assert served.stop() == 0


def _environment(served: ServeProcess) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTKIT_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["TENANTKIT_LOCAL_KEY_DIR"] = str(served.key_dir)
    env["TENANTKIT_CACHE_DIR"] = str(served.state_dir.parent / "index-cache")
    return env


def test_the_quick_start_runs_as_written(demo: ServeProcess) -> None:
    (snippet,) = [b for b in code_blocks("python") if "DirectorySource" in b]
    checks = """
assert [item.sk for item in notes] == ["n1", "n2", "n3"], notes
assert note is not None and note.data["text"] == "hi"
assert reply.text == "Acme Corp assistant: hello", reply.text
assert data == b"..." and url.startswith("http://127.0.0.1:")
print("QUICK START OK")
"""
    run = subprocess.run(
        [sys.executable, "-c", snippet + checks],
        capture_output=True,
        text=True,
        cwd=demo.state_dir.parent,
        env=_environment(demo),
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "QUICK START OK"
    assert run.stderr == ""  # no warning, no traceback


def test_the_shell_examples_run_as_written(demo: ServeProcess) -> None:
    blocks = code_blocks("sh")
    assert blocks[0].startswith("./run demo")
    lines = [line for block in blocks[1:] for line in block.splitlines() if line.strip()]
    assert any("tenantkit check acme" in line for line in lines)
    script = 'uv() { if [ "$1" = run ]; then shift; fi; "$@"; }\n' + "".join(
        f"{line.replace('127.0.0.1:8000', f'127.0.0.1:{demo.port}')}\necho; echo '{_SEPARATOR}'\n"
        for line in lines
    )
    run = subprocess.run(
        ["bash", "-e", "-c", script],
        capture_output=True,
        text=True,
        cwd=demo.state_dir.parent,
        env=_environment(demo),
        timeout=150,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    outputs = dict(zip(lines, run.stdout.split(_SEPARATOR), strict=False))
    assert len(run.stdout.split(_SEPARATOR)) == len(lines) + 1

    def output(fragment: str) -> str:
        (line,) = [line for line in lines if fragment in line]
        return outputs[line]

    assert "sqlite" in output("tenantkit providers")
    assert ": ok (tenant acme" in output("validate .tenantkit/config/acme.json")
    assert "tenant acme: ok" in output("check acme --config-dir")
    assert "tenant globex: ok" in output("check globex")
    assert ": ok (tenant initech" in output("validate .tenantkit/config/initech.json")
    assert '"display_name": "Initech"' in output("/config/branding").replace('":"', '": "')
