"""The project's standing checks, run with the tests: ruff (lint and format) on the
whole tree, and ``mypy --strict`` (configured in pyproject.toml) on every
distribution's sources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [
    str(path.relative_to(ROOT))
    for path in [
        ROOT / "core" / "src",
        ROOT / "runtime" / "src",
        *sorted(ROOT.glob("plugins/*/src")),
    ]
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


@pytest.mark.parametrize("command", [["ruff", "check", "."], ["ruff", "format", "--check", "."]])
def test_ruff(command: list[str]) -> None:
    result = _run(*command)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    assert len(SOURCES) >= 3
    # One run per distribution: each is its own package root, as it is installed.
    failures = []
    for source in SOURCES:
        result = _run("mypy", source)
        if result.returncode != 0:
            failures.append(f"{source}:\n{result.stdout}{result.stderr}")
    assert not failures, "\n".join(failures)
