"""Bytecode for the interpreters a benchmark spawns.

A deployed function imports compiled bytecode (a Lambda package ships ``.pyc`` files,
and ``/var/task`` is read-only, so nothing is compiled and cached there at run time).
A child started with ``PYTHONDONTWRITEBYTECODE`` set, on a machine whose site-packages
hold no bytecode, would compile every module from source on every run instead, and
time that. So the benchmarks that time fresh interpreters run them with
:func:`child_env` and call :func:`compile_environment` on each interpreter before
timing it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

# Compiles every directory on the interpreter's path (its standard library,
# site-packages and the sources of editable installs), not the current directory.
_COMPILE = """
import compileall, os, sys
for entry in sys.path[1:]:
    if os.path.isdir(entry):
        compileall.compile_dir(entry, quiet=1, workers=0)
"""


def child_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) without ``PYTHONDONTWRITEBYTECODE``."""
    source = os.environ if base is None else base
    return {k: v for k, v in source.items() if k != "PYTHONDONTWRITEBYTECODE"}


def compile_environment(python: Path | str = sys.executable) -> None:
    """Write the ``.pyc`` files of everything importable by ``python``."""
    subprocess.run(
        [str(python), "-c", _COMPILE],
        env=child_env(),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # warnings from test data files that do not compile
    )
