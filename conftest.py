"""Root conftest: loads every test-service harness module in ``testharness/``.

Each module there provides session-scoped fixtures that start one real server on
127.0.0.1 (moto, PostgreSQL, ...) on first use and stop it at the end of the run.
"""

from pathlib import Path

pytest_plugins = [
    f"testharness.{path.stem}"
    for path in sorted((Path(__file__).parent / "testharness").glob("[!_]*.py"))
]
