"""A real PostgreSQL server (the system's server binaries) on 127.0.0.1 on a free port.

Fixtures:
    postgres_server: the running server (session scope). ``.dsn`` (superuser ``postgres``,
        database ``postgres``), ``.host``, ``.port``, ``.dsn_for(dbname, user, password)``,
        ``.create_database(name)`` (returns its DSN), ``.execute(query, params)`` (as the
        superuser, autocommit), ``.restart()``, and a password-authenticated role
        ``.password_user`` / ``.password`` (scram-sha-256 over TCP; every other role is
        trusted) for authentication tests.

The server refuses to run as root, so when the tests run as root the data directory
belongs to the ``postgres`` system user and the server programs run as that user.
:class:`PostgresServer` is usable outside pytest too (the benchmarks start one).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from testharness._ports import free_port, wait_for_port

SYSTEM_USER = "postgres"
PASSWORD_USER = "tenantkit_password_user"  # noqa: S105 - a role name
PASSWORD = "harness-pw-7f3a91"  # noqa: S105 - a test role on a throwaway server


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl`` (newest Debian version first)."""
    configured = os.environ.get("TENANTKIT_PG_BINDIR")
    candidates = [configured] if configured else []
    candidates += sorted(
        (str(Path(p).parent) for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda d: int(Path(d).parent.name) if Path(d).parent.name.isdigit() else 0,
        reverse=True,
    )
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise RuntimeError(
        "PostgreSQL server programs (initdb, pg_ctl) not found: install the 'postgresql' "
        "package (./run test does) or set TENANTKIT_PG_BINDIR"
    )


class PostgresServer:
    """One throwaway PostgreSQL cluster: ``start()``, ``restart()``, ``stop()``."""

    host = "127.0.0.1"
    password_user = PASSWORD_USER
    password = PASSWORD

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.port = 0
        self._root: Path | None = None
        self._as_root = os.geteuid() == 0

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        self._root = Path(tempfile.mkdtemp(prefix="tenantkit-pg-"))
        self._root.chmod(0o755)
        data = self._root / "data"
        data.mkdir(mode=0o700)
        if self._as_root:
            shutil.chown(data, SYSTEM_USER, SYSTEM_USER)
            shutil.chown(self._root, SYSTEM_USER, SYSTEM_USER)
        self._run(
            "initdb",
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        hba = data / "pg_hba.conf"
        hba.write_text(
            "local all all trust\n"
            f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n"
            "host all all 127.0.0.1/32 trust\n"
        )
        for attempt in range(5):
            self.port = free_port()
            try:
                self._ctl("start")
                break
            except subprocess.CalledProcessError:
                if attempt == 4:
                    raise
        wait_for_port(self.port)
        from psycopg import sql

        self.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(PASSWORD_USER), sql.Literal(PASSWORD)
            )
        )

    def restart(self, mode: str = "fast") -> None:
        """Restart the server on the same port; every open connection is cut."""
        self._ctl("restart", "-m", mode)
        wait_for_port(self.port)

    def stop(self) -> None:
        if self._root is None:
            return
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ctl("stop", "-m", "immediate")
        shutil.rmtree(self._root, ignore_errors=True)
        self._root = None

    # --- use --------------------------------------------------------------------------

    @property
    def dsn(self) -> str:
        return self.dsn_for("postgres")

    def dsn_for(self, dbname: str, user: str = "postgres", password: str | None = None) -> str:
        from psycopg.conninfo import make_conninfo

        extra = {"password": password} if password is not None else {}
        return make_conninfo(
            host=self.host, port=self.port, dbname=dbname, user=user, connect_timeout=5, **extra
        )

    def execute(self, query: Any, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one statement as the superuser (autocommit) and return its rows."""
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    def create_database(self, name: str) -> str:
        """Create a database (dropping one of the same name first); return its DSN."""
        from psycopg import sql

        ident = sql.Identifier(name)
        self.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        self.execute(sql.SQL("CREATE DATABASE {}").format(ident))
        return self.dsn_for(name)

    # --- internals --------------------------------------------------------------------

    def _ctl(self, *args: str) -> None:
        assert self._root is not None
        data = self._root / "data"
        options = (
            f"-c listen_addresses={self.host} -p {self.port} -k {data} -c fsync=off "
            "-c max_connections=60"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(data),
            "-l",
            str(self._root / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            *args,
        )

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if self._as_root:
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        subprocess.run(
            command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/"
        )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
