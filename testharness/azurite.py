"""azurite (npm), the Azure Blob Storage emulator, on 127.0.0.1 on a free port.

Fixtures:
    azurite: the running emulator (session scope). ``.account_url``
        (``http://127.0.0.1:PORT/devstoreaccount1``), ``.account_name``, ``.account_key``
        (the emulator's well-known account), ``.connection_string``,
        ``.create_container(name)``.

azurite checks SharedKey and SAS signatures and SAS expiry, so tests against it check
the provider's authorization for real. It runs from ``testharness/node/node_modules``
(``./run test`` installs it with ``npm ci``). :class:`AzuriteServer` is usable outside
pytest too (the benchmarks start one).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from testharness._ports import free_port, wait_for_port

ACCOUNT = "devstoreaccount1"
#: The emulator's published account key (https://learn.microsoft.com/azure/storage/common/storage-use-azurite#well-known-storage-account-and-key).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_BIN = Path(__file__).parent / "node" / "node_modules" / ".bin" / "azurite-blob"


class AzuriteServer:
    """One throwaway azurite blob service: ``start()``, ``stop()``."""

    account_name = ACCOUNT
    account_key = KEY

    def __init__(self) -> None:
        self.port = 0
        self._location: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def account_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint={self.account_url};"
        )

    def start(self) -> None:
        if not _BIN.exists():
            raise RuntimeError(
                f"azurite is not installed ({_BIN}): run `npm ci` in testharness/node "
                "(./run test does)"
            )
        self.port = free_port()
        self._location = Path(tempfile.mkdtemp(prefix="tenantkit-azurite-"))
        self._process = subprocess.Popen(
            [
                str(_BIN),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(self.port),
                "--location",
                str(self._location),
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--silent",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(self.port, timeout=60)
        except TimeoutError:
            self.stop()
            raise

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._location is not None:
            shutil.rmtree(self._location, ignore_errors=True)
            self._location = None

    def create_container(self, name: str) -> None:
        """Create a container with the official SDK (a reference client, tests only)."""
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import BlobServiceClient

        with (
            BlobServiceClient(
                self.account_url, credential={"account_name": ACCOUNT, "account_key": KEY}
            ) as client,
            contextlib.suppress(ResourceExistsError),
        ):
            client.create_container(name)


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteServer]:
    server = AzuriteServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
