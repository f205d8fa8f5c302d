"""Fixtures for the gemini provider's tests: the provider on a respx-mocked API, and
the recorded wire formats in ``fixtures/`` (each file names the page it reproduces)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from tenantkit_llm_gemini import GeminiLLM, GeminiSettings

FIXTURES = Path(__file__).parent / "fixtures"
BASE_URL = "https://generativelanguage.googleapis.test"
API_KEY = "AIzaSy-PLANTED-gemini-key-0123456789abcdef"
MODEL = "gemini-2.5-flash"
GENERATE = f"/v1beta/models/{MODEL}:generateContent"
STREAM = f"/v1beta/models/{MODEL}:streamGenerateContent"


class Wire:
    """The recorded answers of the Gemini API."""

    generate = GENERATE
    stream_path = STREAM

    def body(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
        return data

    def response(self, name: str, **body_updates: Any) -> httpx.Response:
        """A recorded JSON answer (status, headers and body), optionally altered."""
        recorded = self.body(name)
        body = {**recorded["body"], **body_updates}
        return httpx.Response(recorded["status"], headers=recorded["headers"], json=body)

    def sse(self, name: str) -> bytes:
        return (FIXTURES / name).read_bytes()

    def stream(self, name: str) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=self.sse(name)
        )

    @staticmethod
    def sent(route: respx.Route, call: int = -1) -> dict[str, Any]:
        """The JSON body of a request the mocked API received."""
        body: dict[str, Any] = json.loads(route.calls[call].request.content)
        return body


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture
def api_key() -> str:
    return API_KEY


@pytest.fixture
def settings() -> GeminiSettings:
    return GeminiSettings(api_key=API_KEY, model=MODEL, base_url=BASE_URL)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
def gemini(settings: GeminiSettings, api: respx.MockRouter) -> Iterator[GeminiLLM]:
    llm = GeminiLLM(settings)
    yield llm
    llm.close()
