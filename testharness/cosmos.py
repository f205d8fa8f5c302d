"""The Cosmos DB stand-in, ``@vercel/cosmosdb-server`` (npm), on HTTPS at 127.0.0.1.

Fixtures:
    cosmos_server: the running server (session scope): ``.endpoint``, ``.ssl_context``
        (trusts the server's certificate, and only it), ``.key`` (a master key: the
        stand-in accepts any signature, the tests sign with it anyway).

The stand-in speaks HTTPS only. The harness makes a fresh self-signed certificate for
127.0.0.1 each session (``openssl``), starts the server with it through
``testharness/node/cosmosdb-server.js`` and trusts exactly that certificate: nothing
turns certificate checks off. The script also corrects the stand-in's answer to a
point read of a missing item (500 there, 404 in Cosmos DB). The stand-in does not
check signatures, has no atomic transactional batch and no TTL expiry: the plugin's
tests cover those against the documented wire format with respx.
"""

from __future__ import annotations

import base64
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from testharness._ports import free_port, stop_process, wait_for_port

NODE_DIR = Path(__file__).parent / "node"
SCRIPT = NODE_DIR / "cosmosdb-server.js"
#: A master key in the form Cosmos DB issues them (64 random bytes, base64).
MASTER_KEY = base64.b64encode(bytes(range(64))).decode()


@dataclass
class CosmosServer:
    endpoint: str
    ssl_context: ssl.SSLContext
    ca_file: Path
    key: str = MASTER_KEY


def _make_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@contextmanager
def running_server(directory: Path) -> Iterator[CosmosServer]:
    """Start the stand-in with a fresh certificate in ``directory``; stop it after."""
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "@vercel" / "cosmosdb-server").is_dir():
        raise RuntimeError(
            "the Cosmos DB stand-in is not installed: run `npm ci` in testharness/node "
            "(./run test does)"
        )
    cert, key = _make_certificate(directory)
    port = free_port()
    log = (directory / "server.log").open("wb")
    process = subprocess.Popen(
        [node, str(SCRIPT), str(port), str(cert), str(key)],
        cwd=NODE_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port)
        context = ssl.create_default_context(cafile=str(cert))
        yield CosmosServer(f"https://127.0.0.1:{port}", context, cert)
    finally:
        stop_process(process)
        log.close()


@pytest.fixture(scope="session")
def cosmos_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CosmosServer]:
    with running_server(tmp_path_factory.mktemp("cosmos")) as server:
        yield server
