"""``tenantkit serve --demo`` as a test service: the real command, in its own process,
listening on 127.0.0.1 on a free port, with its state and the local issuer's key in
temporary directories. Started on first use, stopped (Ctrl-C, as a person would) at
the end of the session."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from testharness._ports import free_port

_READY = "Stop the server with Ctrl-C"


@dataclass
class ServeProcess:
    """A running ``tenantkit serve``: where it listens, what it printed, where it keeps
    its state."""

    process: subprocess.Popen[bytes]
    port: int
    state_dir: Path
    key_dir: Path
    stdout_path: Path
    stderr_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def websocket_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def config_dir(self) -> Path:
        return self.state_dir / "config"

    @property
    def printed(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8")

    @property
    def logs(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def commands(self) -> list[str]:
        """The shell lines the server printed (indented by four spaces)."""
        return [line[4:] for line in self.printed.splitlines() if line.startswith("    ")]

    def token(self, tenant: str, user: str, roles: Sequence[str] = ()) -> str:
        """A token from the issuer the server trusts."""
        from tenantkit_runtime.local.issuer import LocalIssuer

        return LocalIssuer(self.key_dir).issue(tenant=tenant, user=user, roles=roles)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.process.returncode


def start_serve(
    directory: Path,
    *args: str,
    env: dict[str, str] | None = None,
    port: int | None = None,
    command: Sequence[str] = (sys.executable, "-m", "tenantkit", "serve"),
    timeout: float = 60.0,
) -> ServeProcess:
    """Start ``tenantkit serve --port PORT ARGS`` (``command`` instead of ``tenantkit
    serve``) on ``port`` or a free one; return once it has printed its instructions (it
    listens before it prints)."""
    directory.mkdir(parents=True, exist_ok=True)
    key_dir = directory / "issuer"
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TENANTKIT_") and k not in ("AWS_PROFILE",)
    }
    environ.update({"TENANTKIT_LOCAL_KEY_DIR": str(key_dir), **(env or {})})
    port = port or free_port()
    stdout_path, stderr_path = directory / "stdout.txt", directory / "stderr.txt"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            [*command, "--port", str(port), *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=environ,
            cwd=directory,
        )
    state_dir = directory / ".tenantkit"
    if "--state-dir" in args:
        state_dir = directory / args[args.index("--state-dir") + 1]  # absolute stays absolute
    served = ServeProcess(process, port, state_dir, key_dir, stdout_path, stderr_path)
    deadline = time.monotonic() + timeout
    while _READY not in served.printed:
        if process.poll() is not None or time.monotonic() > deadline:
            served.stop()
            raise RuntimeError(
                f"tenantkit serve did not start (exit {process.returncode}):\n{served.logs[-4000:]}"
            )
        time.sleep(0.05)
    return served


@pytest.fixture(scope="session")
def tenantkit_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """``tenantkit serve --demo``: tenants ``acme`` (user alice) and ``globex`` (user bob)
    on the embedded providers, both admins."""
    served = start_serve(tmp_path_factory.mktemp("tenantkit-serve"), "--demo")
    try:
        yield served
    finally:
        served.stop()
