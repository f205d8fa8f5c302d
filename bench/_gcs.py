"""fake-gcs-server (the test harness's) and a stand-in OAuth token endpoint, for the
Google Cloud Storage benchmarks.

fake-gcs-server runs in a process of its own. It checks no token, but the provider
still fetches one: the stand-in answers the JWT bearer grant the way Google's token
endpoint does (https://developers.google.com/identity/protocols/oauth2/service-account#httprest),
from a thread of the benchmark's parent process.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testharness.gcs import GCSServer

TOKEN = "ya29.bench-token"  # noqa: S105 - a stand-in token


class _TokenHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"access_token": TOKEN, "expires_in": 3599, "token_type": "Bearer"})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def gcs_and_token() -> Iterator[tuple[str, str]]:
    """Start fake-gcs-server and the token stand-in; yield their URLs."""
    server = GCSServer()
    server.start()
    tokens = ThreadingHTTPServer(("127.0.0.1", 0), _TokenHandler)
    thread = threading.Thread(target=tokens.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.endpoint, f"http://127.0.0.1:{tokens.server_address[1]}/token"
    finally:
        tokens.shutdown()
        server.stop()


def service_account_key() -> str:
    """A service account JSON key with a fresh RSA key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "bench",
            "private_key_id": "0" * 40,
            "private_key": pem,
            "client_email": "bench@bench.iam.gserviceaccount.com",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )
