"""The storage conformance suite on the embedded ``local`` provider.

Presigned URLs are served by ``PresignApp`` mounted at ``/_storage`` (the default
``base_url`` layout) on a wsgiref server on 127.0.0.1. A second run uses a variant of
the provider that does not offer presigned URLs, so the suite's "not declared, must
raise Unsupported" side is exercised too.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar
from wsgiref.types import StartResponse, WSGIEnvironment
from wsgiref.util import shift_path_info

import pytest

from tenantkit.providers.local_presign import PresignApp, serve
from tenantkit.providers.local_storage import LocalObjectStore, LocalStorageSettings
from tenantkit.storage import ObjectStore, StorageCapability
from tenantkit.testing import StorageConformance
from testharness._ports import free_port


def _mounted(app: PresignApp, mount: str) -> object:
    """``app`` under ``/{mount}``, with the prefix moved to SCRIPT_NAME as servers do."""

    def mounted(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if shift_path_info(environ) != mount:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not mounted here\n"]
        return app(environ, start_response)

    return mounted


@pytest.fixture(scope="module")
def served_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    """A storage directory, its presign server's base URL and its signing key."""
    root = tmp_path_factory.mktemp("local-storage")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/_storage"
    key = secrets.token_urlsafe(32)
    store = LocalObjectStore(LocalStorageSettings(root=root, base_url=base_url, signing_key=key))
    with serve(_mounted(PresignApp(store), "_storage"), port=port):  # type: ignore[arg-type]
        yield root, base_url, key


class TestLocalStorage(StorageConformance):
    @pytest.fixture
    def object_store(self, served_root: tuple[Path, str, str]) -> ObjectStore:
        root, base_url, key = served_root
        return LocalObjectStore(LocalStorageSettings(root=root, base_url=base_url, signing_key=key))


class _WithoutPresign(LocalObjectStore):
    """The local provider minus presigned URLs: what a provider without them looks like."""

    capabilities: ClassVar[frozenset[StorageCapability]] = frozenset()
    presign_get = ObjectStore.presign_get
    presign_put = ObjectStore.presign_put


class TestLocalStorageWithoutPresign(StorageConformance):
    @pytest.fixture
    def object_store(self, tmp_path: Path) -> ObjectStore:
        return _WithoutPresign(
            LocalStorageSettings(root=tmp_path / "objects", signing_key="unused-key-0123456789")
        )
