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

import base64
import contextlib
import datetime
import ipaddress
import json
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testharness._ports import free_port, stop_process, wait_for_port

ACCOUNT = "devstoreaccount1"
#: The emulator's published account key (https://learn.microsoft.com/azure/storage/common/storage-use-azurite#well-known-storage-account-and-key).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_HARNESS_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
_HARNESS_OID = "00000000-0000-0000-0000-0000000000aa"
_BIN = Path(__file__).parent / "node" / "node_modules" / ".bin" / "azurite-blob"


class AzuriteServer:
    """One throwaway azurite blob service: ``start()``, ``stop()``."""

    account_name = ACCOUNT
    account_key = KEY

    def __init__(self, *, oauth: bool = False) -> None:
        self.oauth = oauth
        self.port = 0
        self._location: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def account_url(self) -> str:
        scheme = "https" if self.oauth else "http"
        return f"{scheme}://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def certificate(self) -> Path:
        """The self-signed certificate of an OAuth (HTTPS) emulator, to trust in tests."""
        assert self._location is not None
        return self._location / "cert.pem"

    def ssl_context(self) -> ssl.SSLContext:
        """A TLS context trusting this emulator's certificate (verification stays on)."""
        return ssl.create_default_context(cafile=str(self.certificate))

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
        extra: list[str] = []
        if self.oauth:
            # azurite accepts bearer tokens only over HTTPS; "basic" checks a token's
            # issuer, audience and lifetime, not its signature.
            key = self._location / "key.pem"
            _self_signed(self.certificate, key)
            extra = ["--oauth", "basic", "--cert", str(self.certificate), "--key", str(key)]
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
                *extra,
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
            stop_process(self._process)
            self._process = None
        if self._location is not None:
            shutil.rmtree(self._location, ignore_errors=True)
            self._location = None

    def create_container(self, name: str) -> None:
        """Create a container: with the official SDK (a reference client), or on an
        OAuth emulator with a bearer token over HTTPS."""
        if self.oauth:
            import httpx

            token = bearer_token(tenant=_HARNESS_TENANT, oid=_HARNESS_OID)
            response = httpx.put(
                f"{self.account_url}/{name}?restype=container",
                headers={"Authorization": f"Bearer {token}", "x-ms-version": "2021-08-06"},
                verify=self.ssl_context(),
            )
            if response.status_code not in (201, 409):
                raise RuntimeError(f"azurite did not create container {name}: {response.text}")
            return
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


@pytest.fixture(scope="session")
def azurite_oauth() -> Iterator[AzuriteServer]:
    """An emulator over HTTPS that also accepts Entra ID bearer tokens (``--oauth basic``)."""
    server = AzuriteServer(oauth=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def bearer_token(*, tenant: str, oid: str, lifetime: int = 3600) -> str:
    """A token shaped as Entra ID issues for Azure Storage (issuer, audience, lifetime,
    object and tenant ids), for an emulator that checks those and not the signature."""
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {
        "aud": "https://storage.azure.com",
        "iss": f"https://sts.windows.net/{tenant}/",
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + lifetime,
        "oid": oid,
        "tid": tenant,
    }

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    signature = base64.urlsafe_b64encode(b"unsigned").rstrip(b"=").decode()
    return f"{part(header)}.{part(claims)}.{signature}"


def _self_signed(cert: Path, key: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
