"""Fixtures for the OpenAI / Azure OpenAI tests: recorded wire formats and mocked APIs.

``fixtures/**/*.json`` hold one HTTP response each (``status``, ``headers``, ``body``)
with the documentation page it reproduces in ``source``. ``fixtures/**/*.sse`` hold a
complete event stream, chunk by chunk; their leading comment lines (``: source: URL``,
``: header NAME: VALUE``) describe it and are not served.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from tenantkit_llm_openai import (
    AzureOpenAILLM,
    AzureOpenAISettings,
    OpenAILLM,
    OpenAISettings,
)

FIXTURES = Path(__file__).parent / "fixtures"

OPENAI_KEY = "sk-plant-TOPSECRET-0123456789"
AZURE_KEY = "az-plant-TOPSECRET-9876543210"
OPENAI_URL = "https://api.openai.com/v1"
AZURE_ENDPOINT = "https://acme-res.openai.azure.com"


@dataclass
class Stream:
    """An event stream fixture: its headers and its events as served, one per chunk."""

    headers: dict[str, str]
    chunks: list[bytes]
    gate_index: int | None = None
    gate: threading.Event = field(default_factory=threading.Event)
    gate_timed_out: bool = False
    served: int = 0

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def hold_after(self, index: int) -> Stream:
        """Serve chunks up to ``index``, then wait for :attr:`gate` before the rest."""
        self.gate_index = index
        return self

    def _iterate(self) -> Iterator[bytes]:
        for i, chunk in enumerate(self.chunks):
            if self.gate_index is not None and i == self.gate_index + 1:
                self.gate_timed_out = not self.gate.wait(timeout=5)
            self.served = i + 1
            yield chunk

    def response(self, status: int = 200, *, fail_after: int | None = None) -> httpx.Response:
        """A streamed response; with ``fail_after`` the connection breaks after that many chunks."""

        def body() -> Iterator[bytes]:
            for i, chunk in enumerate(self._iterate()):
                if fail_after is not None and i == fail_after:
                    raise httpx.RemoteProtocolError("peer closed connection without response")
                yield chunk

        return httpx.Response(status, headers=self.headers, content=body())


class Wire:
    """Loads the recorded responses."""

    def json(self, name: str) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads((FIXTURES / name).read_text())
        assert doc["source"].startswith("https://"), f"{name} cites no documentation page"
        return doc

    def body(self, name: str) -> Any:
        return self.json(name)["body"]

    def response(self, name: str) -> httpx.Response:
        doc = self.json(name)
        return httpx.Response(doc["status"], headers=doc["headers"], json=doc["body"])

    def stream(self, name: str) -> Stream:
        text = (FIXTURES / name).read_text()
        headers: dict[str, str] = {}
        lines = text.split("\n")
        sources = 0
        while lines and lines[0].startswith(":"):
            meta = lines.pop(0)[1:].strip()
            if meta.startswith("header "):
                key, _, value = meta[len("header ") :].partition(": ")
                headers[key] = value
            elif meta.startswith("source: https://"):
                sources += 1
        assert sources == 1, f"{name} cites no documentation page"
        body = "\n".join(lines).lstrip("\n")
        chunks = [f"{event}\n\n".encode() for event in body.split("\n\n") if event.strip()]
        return Stream(headers=headers, chunks=chunks)


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """Every HTTP call of the test goes to respx; none reaches the network."""
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


@pytest.fixture
def openai_settings() -> OpenAISettings:
    return OpenAISettings.model_validate(
        {"api_key": OPENAI_KEY, "model": "gpt-4o-mini", "organization": "org-acme"}
    )


@pytest.fixture
def openai_llm(openai_settings: OpenAISettings) -> Iterator[OpenAILLM]:
    llm = OpenAILLM(openai_settings)
    yield llm
    llm.close()


@pytest.fixture
def azure_llm() -> Iterator[AzureOpenAILLM]:
    llm = AzureOpenAILLM(
        AzureOpenAISettings.model_validate(
            {
                "endpoint": AZURE_ENDPOINT,
                "api_key": AZURE_KEY,
                "deployment": "gpt-4o-prod",
                "image_deployment": "dalle3",
            }
        )
    )
    yield llm
    llm.close()


@pytest.fixture
def azure_v1_llm() -> Iterator[AzureOpenAILLM]:
    llm = AzureOpenAILLM(
        AzureOpenAISettings.model_validate(
            {
                "endpoint": AZURE_ENDPOINT,
                "api_key": AZURE_KEY,
                "deployment": "gpt-4o-prod",
                "api_version": "v1",
            }
        )
    )
    yield llm
    llm.close()


@pytest.fixture
def openai_key() -> str:
    """The key planted in the ``openai`` settings (and quoted by ``openai/error_401.json``)."""
    return OPENAI_KEY


@pytest.fixture
def azure_key() -> str:
    return AZURE_KEY
